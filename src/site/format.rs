//! Human formatting of numbers, sizes and shares for pages and `AGENTS.md`.
//!
//! Every function is total: undefined values (`None`, NaN, infinity) give "n/a", never a panic.
//! The `push_*` forms append to a page being written, without an allocation of their own.

use std::fmt::Write as _;

/// Text shown for an undefined value.
pub const NA: &str = "n/a";

/// An integer with thousands separators: `1234567` → `1,234,567`.
pub fn int(n: u64) -> String {
    let mut out = String::new();
    push_int(&mut out, n);
    out
}

/// A signed integer with thousands separators.
pub fn int_signed(n: i64) -> String {
    let mut out = String::new();
    push_int_signed(&mut out, n);
    out
}

/// Append [`int`]`(n)` to `out`, without an allocation.
pub fn push_int(out: &mut String, n: u64) {
    push_grouped(out, itoa::Buffer::new().format(n));
}

/// Append [`int_signed`]`(n)` to `out`, without an allocation.
pub fn push_int_signed(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_int(out, n.unsigned_abs());
}

/// Append `digits` (ASCII digits only) with a comma before each group of three from the right.
fn push_grouped(out: &mut String, digits: &str) {
    let len = digits.len();
    if len <= 3 {
        out.push_str(digits);
        return;
    }
    let head = len % 3;
    if head > 0 {
        out.push_str(&digits[..head]);
    }
    for (i, group) in digits.as_bytes()[head..].chunks(3).enumerate() {
        if i > 0 || head > 0 {
            out.push(',');
        }
        // Chunks of an ASCII string's bytes are ASCII: valid UTF-8.
        out.push_str(std::str::from_utf8(group).unwrap_or_default());
    }
}

/// A byte count in decimal units: `512 B`, `1.2 kB`, `3.4 MB`, `5.6 GB`, `7.8 TB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    if value < 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// A share 0–100 with one decimal: `12.3%`; tiny non-zero shares show `<0.1%`, nearly full
/// ones `>99.9%`, so "some" never reads as "none" or "all".
pub fn pct(p: Option<f64>) -> String {
    let mut out = String::new();
    push_pct(&mut out, p);
    out
}

/// Append [`pct`]`(p)` to `out`.
pub fn push_pct(out: &mut String, p: Option<f64>) {
    match p {
        Some(p) if p.is_finite() => {
            if p > 0.0 && p < 0.05 {
                out.push_str("<0.1%");
            } else if p > 99.95 && p < 100.0 {
                out.push_str(">99.9%");
            } else {
                push_fixed(out, p, 1, false);
                out.push('%');
            }
        }
        _ => out.push_str(NA),
    }
}

/// A statistic: integral values with separators, others with up to 2 decimals at or above 1
/// and 4 significant digits below.
pub fn float(x: Option<f64>) -> String {
    let mut out = String::new();
    push_float(&mut out, x);
    out
}

/// Append [`float`]`(x)` to `out`.
pub fn push_float(out: &mut String, x: Option<f64>) {
    let Some(x) = x.filter(|x| x.is_finite()) else {
        out.push_str(NA);
        return;
    };
    if x == 0.0 {
        out.push('0');
        return;
    }
    let abs = x.abs();
    if x.fract() == 0.0 && abs < 1e15 {
        push_int_signed(out, x as i64);
        return;
    }
    if !(1e-6..1e15).contains(&abs) {
        let _ = write!(out, "{x:e}");
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    if abs >= 1.0 {
        push_fixed(out, abs, 2, true);
    } else {
        let decimals = (3 - abs.log10().floor() as i32).clamp(1, 10) as u32;
        push_fixed(out, abs, decimals, false);
    }
}

/// Append `x` (finite) as `format!("{x:.decimals$}")` writes it, the zeros that end its
/// decimals cut (and the point when none are left), the whole part with thousands separators
/// when `grouped`.
///
/// Most values take an integer path: `t = x · 10^decimals` is exact to within 2⁻⁵³·t, so for
/// `t` below 10⁹ and its fraction not within 10⁻⁶ of ½, rounding `t` gives the digits that
/// formatting the exact binary value gives. Ties, negative and large values take `format!`.
fn push_fixed(out: &mut String, x: f64, decimals: u32, grouped: bool) {
    let scale = 10u64.pow(decimals.min(10));
    let t = x * scale as f64;
    if (0.0..1e9).contains(&t) && ((t - t.floor()) - 0.5).abs() > 1e-6 {
        let r = t.round() as u64;
        let (whole, frac) = (r / scale, r % scale);
        let mut buf = itoa::Buffer::new();
        let whole = buf.format(whole);
        match grouped {
            true => push_grouped(out, whole),
            false => out.push_str(whole),
        }
        if frac > 0 {
            let mut buf = itoa::Buffer::new();
            let digits = buf.format(frac);
            out.push('.');
            for _ in digits.len()..decimals as usize {
                out.push('0');
            }
            out.push_str(digits.trim_end_matches('0'));
        }
        return;
    }
    let s = trim_zeros(format!("{x:.prec$}", prec = decimals as usize));
    match (grouped, s.split_once('.')) {
        (false, _) => out.push_str(&s),
        (true, Some((whole, frac))) => {
            push_grouped(out, whole.trim_start_matches('-'));
            out.push('.');
            out.push_str(frac);
        }
        (true, None) => push_grouped(out, s.trim_start_matches('-')),
    }
}

/// A JSON statistic (`min`/`max`): numbers as [`float`], text as is, null as "n/a".
pub fn json_stat(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => NA.to_string(),
        Some(serde_json::Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => int_signed(i),
            (None, Some(u)) => int(u),
            _ => float(n.as_f64()),
        },
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A result cell of a metric query: text as is, numbers and booleans as JSON writes them,
/// NULL as `NULL`.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "NULL".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `s` without the zeros that end its decimals (and without the point when none are left),
/// cut in place.
fn trim_zeros(mut s: String) -> String {
    if s.contains('.') {
        let keep = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(keep);
    }
    s
}

pub use crate::content::metrics::title_case;

/// The first line of a message, trimmed.
pub fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1_234_567), "1,234,567");
        assert_eq!(int_signed(-1234), "-1,234");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1234), "1.2 kB");
        assert_eq!(bytes(12_345_678), "12 MB");
        assert_eq!(pct(Some(12.34)), "12.3%");
        assert_eq!(pct(Some(100.0)), "100%");
        assert_eq!(pct(Some(0.01)), "<0.1%");
        assert_eq!(pct(None), "n/a");
        assert_eq!(pct(Some(f64::NAN)), "n/a");
        assert_eq!(float(Some(1234.5678)), "1,234.57");
        assert_eq!(float(Some(999.999)), "1,000");
        assert_eq!(float(Some(12.5)), "12.5");
        assert_eq!(float(Some(-12.5)), "-12.5");
        assert_eq!(float(Some(100.10)), "100.1");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int_signed(-999), "-999");
        assert_eq!(float(Some(-3.0)), "-3");
        assert_eq!(float(Some(0.012345)), "0.01235");
        assert_eq!(float(None), "n/a");
        assert_eq!(float(Some(f64::INFINITY)), "n/a");
        assert_eq!(json_stat(Some(&serde_json::json!(12))), "12");
        assert_eq!(
            json_stat(Some(&serde_json::json!("2024-01-01"))),
            "2024-01-01"
        );
        assert_eq!(title_case("sales_revenue"), "Sales Revenue");
    }

    /// The integer path of `push_fixed` writes what `format!` writes, ties included.
    #[test]
    fn fixed_decimals_as_format_writes_them() {
        use rand::{Rng as _, SeedableRng as _};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut values = vec![
            0.0, 0.25, 0.35, 0.05, 0.15, 2.675, 1.005, 99.95, 12.345, 0.125, 1e-6, 999.995, 1234.5,
            4.35, 8.345, 0.45, 1.45, 100.0, 99.99999,
        ];
        for _ in 0..20_000 {
            let magnitude = 10f64.powi(rng.random_range(-7..9));
            values.push(rng.random::<f64>() * magnitude);
            // Values on a decimal grid: the near-ties of real data (shares of counts).
            let k: u32 = rng.random_range(0..100_000);
            values.push(k as f64 / 1000.0);
            values.push(k as f64 / 200.0);
        }
        for &x in &values {
            for decimals in 1..=10u32 {
                let mut got = String::new();
                push_fixed(&mut got, x, decimals, false);
                let want = trim_zeros(format!("{x:.prec$}", prec = decimals as usize));
                assert_eq!(got, want, "{x} to {decimals} decimals");
            }
            assert_eq!(pct(Some(x)), {
                let s = trim_zeros(format!("{x:.1}")) + "%";
                if x > 0.0 && x < 0.05 {
                    "<0.1%".to_string()
                } else if x > 99.95 && x < 100.0 {
                    ">99.9%".to_string()
                } else {
                    s
                }
            });
        }
        assert_eq!(float(Some(-1234.5678)), "-1,234.57");
        assert_eq!(float(Some(-0.012345)), "-0.01235");
        assert_eq!(float(Some(1234567.126)), "1,234,567.13");
        assert_eq!(int(12_345_678_901), "12,345,678,901");
        assert_eq!(int(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(int_signed(i64::MIN), "-9,223,372,036,854,775,808");
        assert_eq!(int_signed(-100_000), "-100,000");
    }
}

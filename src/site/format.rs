//! Human formatting of numbers, sizes and shares for pages and `AGENTS.md`.
//!
//! Every function is total: undefined values (`None`, NaN, infinity) give "n/a", never a panic.

/// Text shown for an undefined value.
pub const NA: &str = "n/a";

/// An integer with thousands separators: `1234567` → `1,234,567`.
pub fn int(n: u64) -> String {
    grouped(n.to_string())
}

/// A signed integer with thousands separators.
pub fn int_signed(n: i64) -> String {
    if n < 0 {
        format!("-{}", group_digits(&n.unsigned_abs().to_string()))
    } else {
        grouped(n.to_string())
    }
}

/// `digits` with thousands separators, reusing the string when it needs none (most numbers on
/// a page are below 1,000).
fn grouped(digits: String) -> String {
    if digits.len() <= 3 {
        digits
    } else {
        group_digits(&digits)
    }
}

fn group_digits(digits: &str) -> String {
    let len = digits.len();
    let mut out = String::with_capacity(len + len / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    match p {
        Some(p) if p.is_finite() => {
            if p > 0.0 && p < 0.05 {
                "<0.1%".to_string()
            } else if p > 99.95 && p < 100.0 {
                ">99.9%".to_string()
            } else {
                trim_zeros(format!("{p:.1}")) + "%"
            }
        }
        _ => NA.to_string(),
    }
}

/// A statistic: integral values with separators, others with up to 2 decimals at or above 1
/// and 4 significant digits below.
pub fn float(x: Option<f64>) -> String {
    let Some(x) = x.filter(|x| x.is_finite()) else {
        return NA.to_string();
    };
    if x == 0.0 {
        return "0".to_string();
    }
    let abs = x.abs();
    if x.fract() == 0.0 && abs < 1e15 {
        return int_signed(x as i64);
    }
    if !(1e-6..1e15).contains(&abs) {
        return format!("{x:e}");
    }
    if abs >= 1.0 {
        let s = trim_zeros(format!("{abs:.2}"));
        if x > 0.0 && s.find('.').unwrap_or(s.len()) <= 3 {
            return s;
        }
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        let mut out = String::new();
        if x < 0.0 {
            out.push('-');
        }
        out.push_str(&group_digits(whole));
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        return out;
    }
    let decimals = (3 - abs.log10().floor() as i32).clamp(1, 10) as usize;
    trim_zeros(format!("{x:.decimals$}"))
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
}

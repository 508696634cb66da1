//! Inline SVG charts of a column profile, as display models for the templates.
//!
//! Only the geometry is computed here. The SVG elements are written by the theme
//! (`column_chart` and `bar_chart` in `macros.html`), so every text that comes from the data
//! (values, periods, column names) passes through minijinja's HTML autoescape like any other
//! text of the page: nothing here is marked safe.
//!
//! A chart has no `viewBox`: x positions and widths are percentages of the chart's width,
//! heights and y positions are pixels. The SVG fills the width of its box at any screen size
//! while its text keeps its size. Colours come from CSS classes (`bar`, `track`, `axis`), which
//! use the theme's variables, so the charts follow the light and dark schemes.

use serde_json::{json, Value};

use crate::profile::{Histogram, PeriodHistogram};
use crate::site::format;

/// Pixel height of the bars' area of a column chart: the bar of the largest count is this
/// tall, the others proportionally shorter (a non-zero count at least 1 px, so it shows).
pub const PLOT_HEIGHT: f64 = 100.0;
/// Pixel height of a column chart: the plot and one line of axis labels.
pub const COLUMN_CHART_HEIGHT: f64 = 120.0;
/// Share of its slot a column's bar fills (the rest is the gap between bars).
const BAR_FILL: f64 = 0.84;
/// Each bar gets an axis label when a chart has at most this many bars; otherwise only the
/// first and last are labelled.
const LABEL_EVERY_BAR_UP_TO: usize = 6;
/// Pixel height of one row of a bar chart: a line of text, then the bar.
pub const ROW_HEIGHT: f64 = 30.0;
/// Characters of a value shown in a bar chart's row; the whole value is in the row's title.
pub const LABEL_CHARS: usize = 24;

/// A coordinate with at most 3 decimals (`12.5`, `0.333`).
fn num(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn pct_pos(x: f64) -> String {
    format!("{}%", num(x))
}

/// "1 value", "1,234 values".
fn values_text(n: u64) -> String {
    if n == 1 {
        "1 value".to_string()
    } else {
        format!("{} values", format::int(n))
    }
}

/// The first `LABEL_CHARS` characters of a value, with `…` when cut.
pub fn shorten(s: &str) -> String {
    if s.chars().count() <= LABEL_CHARS {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(LABEL_CHARS - 1).collect();
        out.push('…');
        out
    }
}

/// One bar of a column chart: the text of its tooltip, its count and its axis label.
struct Bin {
    title: String,
    count: u64,
    label: String,
}

fn axis_label(text: &str, x: f64, anchor: &str) -> Value {
    json!({"text": text, "x": pct_pos(x), "anchor": anchor})
}

/// Axis labels: under every bar when there are at most `every_up_to` bars (one bar: in the
/// middle), else the first bar's at the left end and the last one's at the right end.
fn axis_labels(bins: &[Bin], every_up_to: usize) -> Vec<Value> {
    let n = bins.len();
    if n == 1 {
        return vec![axis_label(&bins[0].label, 50.0, "middle")];
    }
    if n <= every_up_to {
        let slot = 100.0 / n as f64;
        return bins
            .iter()
            .enumerate()
            .map(|(i, b)| axis_label(&b.label, slot * (i as f64 + 0.5), "middle"))
            .collect();
    }
    match (bins.first(), bins.last()) {
        (Some(a), Some(b)) => vec![
            axis_label(&a.label, 0.0, "start"),
            axis_label(&b.label, 100.0, "end"),
        ],
        _ => Vec::new(),
    }
}

/// A vertical bar chart: one bar per bin in a slot of equal width, heights proportional to
/// the counts; each slot also gets a transparent full-height rectangle (`hit`) so that its
/// title shows on hover even over a short or empty bar.
fn column_chart(bins: &[Bin], labels: Vec<Value>, aria: String, caption: String) -> Value {
    let n = bins.len().max(1);
    let max = bins.iter().map(|b| b.count).max().unwrap_or(0);
    let slot = 100.0 / n as f64;
    let bars: Vec<Value> = bins
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut h = if max > 0 {
                b.count as f64 / max as f64 * PLOT_HEIGHT
            } else {
                0.0
            };
            if b.count > 0 {
                h = h.max(1.0);
            }
            json!({
                "slot_x": pct_pos(slot * i as f64),
                "slot_w": pct_pos(slot),
                "x": pct_pos(slot * i as f64 + slot * (1.0 - BAR_FILL) / 2.0),
                "w": pct_pos(slot * BAR_FILL),
                "y": num(PLOT_HEIGHT - h),
                "h": num(h),
                "title": b.title,
            })
        })
        .collect();
    json!({
        "height": num(COLUMN_CHART_HEIGHT),
        "plot_height": num(PLOT_HEIGHT),
        "label_y": num(COLUMN_CHART_HEIGHT - 4.0),
        "bars": bars,
        "labels": labels,
        "aria": aria,
        "caption": caption,
    })
}

/// The distinct values of a `distinct`-rule histogram, one per count (`None` when they do not
/// match the counts; the bins are then labelled by their ranges).
fn distinct_values(h: &Histogram) -> Option<Vec<f64>> {
    (h.values.len() == h.counts.len()).then(|| h.values.clone())
}

/// How a histogram's bins were chosen, for its caption.
fn rule_text(rule: &str) -> String {
    match rule {
        "distinct" => "one bar per value".to_string(),
        "freedman_diaconis" => "Freedman–Diaconis widths".to_string(),
        "equal_width" | "" => "equal widths".to_string(),
        "single" => "one value".to_string(),
        other => other.replace('_', " "),
    }
}

fn bins_text(n: usize) -> String {
    if n == 1 {
        "1 bin".to_string()
    } else {
        format!("{} bins", format::int(n as u64))
    }
}

/// The chart of a numeric column's histogram; `None` when it has no bins or its edges do not
/// fit its counts.
///
/// Bins of the `distinct` and `single` rules are labelled by their value (every bar when there
/// are a few, else the first and last); other bins by their range `[from, to)` (the last one
/// closed) in their titles, and the axis by the first and last edge.
pub fn numeric_histogram(column: &str, h: &Histogram) -> Option<Value> {
    if h.counts.is_empty() {
        return None;
    }
    let max = h.counts.iter().copied().max().unwrap_or(0);
    let by_value = match h.rule.as_str() {
        "distinct" => distinct_values(h),
        "single" if h.counts.len() == 1 => h.edges.first().map(|&v| vec![v]),
        _ => None,
    };
    if let Some(values) = by_value {
        let bins: Vec<Bin> = values
            .iter()
            .zip(&h.counts)
            .map(|(&v, &count)| Bin {
                title: format!("{}: {}", format::float(Some(v)), values_text(count)),
                count,
                label: format::float(Some(v)),
            })
            .collect();
        let n = bins.len();
        let aria = format!(
            "Histogram of {column}: {} distinct {} from {} to {}; the most frequent occurs {} times",
            format::int(n as u64),
            if n == 1 { "value" } else { "values" },
            format::float(values.first().copied()),
            format::float(values.last().copied()),
            format::int(max)
        );
        let caption = format!(
            "{} distinct ({}) · the most frequent occurs {} {}",
            format::int(n as u64),
            rule_text(&h.rule),
            format::int(max),
            if max == 1 { "time" } else { "times" }
        );
        let labels = axis_labels(&bins, LABEL_EVERY_BAR_UP_TO);
        return Some(column_chart(&bins, labels, aria, caption));
    }
    if h.edges.len() != h.counts.len() + 1 {
        return None;
    }
    let n = h.counts.len();
    let bins: Vec<Bin> = h
        .counts
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            let close = if i + 1 == n { "]" } else { ")" };
            Bin {
                title: format!(
                    "[{}, {}{close}: {}",
                    format::float(Some(h.edges[i])),
                    format::float(Some(h.edges[i + 1])),
                    values_text(count)
                ),
                count,
                label: String::new(),
            }
        })
        .collect();
    let first = format::float(h.edges.first().copied());
    let last = format::float(h.edges.last().copied());
    let aria = format!(
        "Histogram of {column}: {} from {first} to {last}; the largest holds {}",
        bins_text(n),
        values_text(max)
    );
    let caption = format!(
        "{} ({}) · largest: {}",
        bins_text(n),
        rule_text(&h.rule),
        values_text(max)
    );
    // The axis spans the edges: the first at the left end, the last at the right end.
    let labels = vec![
        axis_label(&first, 0.0, "start"),
        axis_label(&last, 100.0, "end"),
    ];
    Some(column_chart(&bins, labels, aria, caption))
}

fn plural(granularity: &str) -> String {
    match granularity {
        "day" | "month" | "quarter" | "year" => format!("{granularity}s"),
        _ => "periods".to_string(),
    }
}

/// The chart of a date or timestamp column's values per period; `None` without periods.
/// Bars are the periods in order; the axis is labelled by the first and last period (every
/// period when there are at most 4).
pub fn period_histogram(column: &str, p: &PeriodHistogram) -> Option<Value> {
    let first = p.bins.first()?;
    let last = p.bins.last()?;
    let bins: Vec<Bin> = p
        .bins
        .iter()
        .map(|b| Bin {
            title: format!("{}: {}", b.period, values_text(b.count)),
            count: b.count,
            label: b.period.clone(),
        })
        .collect();
    // The busiest period: the first of those with the largest count.
    let busiest = p
        .bins
        .iter()
        .fold(first, |best, b| if b.count > best.count { b } else { best });
    let unit = match p.granularity.as_str() {
        "" => "period",
        g => g,
    };
    let aria = format!(
        "Values of {column} per {unit}: {} {} from {} to {}; the busiest, {}, holds {}",
        format::int(bins.len() as u64),
        plural(&p.granularity),
        first.period,
        last.period,
        busiest.period,
        values_text(busiest.count)
    );
    let caption = format!(
        "{} {} · busiest: {} ({})",
        format::int(bins.len() as u64),
        if bins.len() == 1 {
            unit.to_string()
        } else {
            plural(&p.granularity)
        },
        busiest.period,
        values_text(busiest.count)
    );
    let labels = axis_labels(&bins, 4);
    Some(column_chart(&bins, labels, aria, caption))
}

/// One row of a bar chart.
pub struct BarRow {
    /// The value, as text.
    pub value: String,
    /// Rows holding it.
    pub count: u64,
    /// Its share, 0–100.
    pub pct: Option<f64>,
}

/// A horizontal bar chart: per row the value (cut to [`LABEL_CHARS`] characters) and its
/// count and share on one line, and under them a bar whose length is the share relative to
/// the largest share. `None` without rows.
pub fn bar_chart(what: &str, rows: &[BarRow]) -> Option<Value> {
    if rows.is_empty() {
        return None;
    }
    let max = rows
        .iter()
        .filter_map(|r| r.pct.filter(|p| p.is_finite()))
        .fold(0.0_f64, f64::max);
    let items: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let top = i as f64 * ROW_HEIGHT;
            let width = match r.pct.filter(|p| p.is_finite()) {
                Some(p) if max > 0.0 => (p / max * 100.0).clamp(0.0, 100.0),
                _ => 0.0,
            };
            json!({
                "label": shorten(&r.value),
                "empty": r.value.is_empty(),
                "numbers": format!("{} · {}", format::int(r.count), format::pct(r.pct)),
                "text_y": num(top + 13.0),
                "bar_y": num(top + 18.0),
                "w": pct_pos(width),
                "title": format!(
                    "{}: {} ({})",
                    if r.value.is_empty() { "(empty)" } else { r.value.as_str() },
                    values_text(r.count),
                    format::pct(r.pct)
                ),
            })
        })
        .collect();
    let listed: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} ({})",
                if r.value.is_empty() {
                    "(empty)".to_string()
                } else {
                    shorten(&r.value)
                },
                format::int(r.count),
                format::pct(r.pct)
            )
        })
        .collect();
    Some(json!({
        "height": num(rows.len() as f64 * ROW_HEIGHT),
        "bar_h": 8,
        "rows": items,
        "aria": format!("{what}: {}", listed.join(", ")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_and_labels() {
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(100.0), "100");
        assert_eq!(num(1.0 / 3.0), "0.333");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(shorten("short"), "short");
        let long = "x".repeat(40);
        assert_eq!(shorten(&long).chars().count(), LABEL_CHARS);
        assert!(shorten(&long).ends_with('…'));
        assert_eq!(values_text(1), "1 value");
        assert_eq!(values_text(1234), "1,234 values");
    }
}

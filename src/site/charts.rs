//! Inline SVG charts: a column profile's histograms and value bars, and a metric's lines.
//!
//! A column profile's charts ([`numeric_histogram`], [`period_histogram`], [`bar_chart`]) are
//! written here as SVG markup, at most a few hundred elements per column and tens of thousands
//! per table page: writing them straight into one string costs a fraction of building a
//! template value per bar and rendering it with a macro. Every text that comes from the data
//! (values, periods, column names) is HTML-escaped by [`push_escaped`], the escaper of the theme's
//! autoescape, so the markup is what a template would have produced. Themes style the charts with CSS classes (`bar`, `hit`,
//! `track`, `axis`, `label`, `num`, `baseline`), which use the theme's variables, so the charts
//! follow the light and dark schemes. A metric's line chart ([`metric_charts`]) is a display
//! model drawn by the theme's `line_chart` macro.
//!
//! A column chart has no `viewBox`: x positions and widths are percentages of the chart's
//! width, heights and y positions are pixels. The SVG fills the width of its box at any screen
//! size while its text keeps its size.

use serde_json::{json, Value};

use crate::profile::{Histogram, PeriodHistogram};
use crate::site::format;
use crate::site::theme::push_escaped;

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

/// Append [`num`]`(x)` to `out` without an allocation: `x` rounded to 3 decimals (half away
/// from zero), trailing zeros cut. Coordinates are far below 2^53 / 1000, where the rounding
/// is exact; anything else takes [`num`]'s path.
fn push_num(out: &mut String, x: f64) {
    let scaled = (x * 1000.0).round();
    if !scaled.is_finite() || scaled.abs() >= 1e15 {
        out.push_str(&num(x));
        return;
    }
    let m = scaled as i64;
    if m < 0 {
        out.push('-');
    }
    let m = m.unsigned_abs();
    out.push_str(itoa::Buffer::new().format(m / 1000));
    let frac = m % 1000;
    if frac != 0 {
        let digits = [
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ];
        let len = if digits[2] != b'0' {
            3
        } else if digits[1] != b'0' {
            2
        } else {
            1
        };
        out.push('.');
        for &d in &digits[..len] {
            out.push(d as char);
        }
    }
}

/// Append `x%` ([`pct_pos`]) to `out`.
fn push_pct(out: &mut String, x: f64) {
    push_num(out, x);
    out.push('%');
}

/// A column profile's chart: its caption and its SVG markup (HTML-safe: every text in it is
/// escaped).
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// One line under the chart's title (`4 bins (equal widths) · largest: 9 values`); empty
    /// for a bar chart.
    pub caption: String,
    /// The `<svg>` element.
    pub svg: String,
}

/// "1 value", "1,234 values".
fn values_text(n: u64) -> String {
    let mut out = String::new();
    push_values_text(&mut out, n);
    out
}

/// Append [`values_text`]`(n)` to `out`.
fn push_values_text(out: &mut String, n: u64) {
    if n == 1 {
        out.push_str("1 value");
    } else {
        format::push_int(out, n);
        out.push_str(" values");
    }
}

/// The first `LABEL_CHARS` characters of a value, with `…` when cut (borrowed when whole).
pub fn shorten(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(LABEL_CHARS) {
        None => s.into(),
        Some(_) => {
            let mut out: String = s.chars().take(LABEL_CHARS - 1).collect();
            out.push('…');
            out.into()
        }
    }
}

/// What a bar of a column chart holds, as its tooltip names it before its count.
enum BinName<'a> {
    /// One value or period.
    Value(&'a str),
    /// The values in `[from, to)`, or `[from, to]` when `closed` (the last bin).
    Range {
        from: &'a str,
        to: &'a str,
        closed: bool,
    },
}

/// One bar of a column chart: what it holds, its count and its axis label.
struct Bin<'a> {
    name: BinName<'a>,
    count: u64,
    label: &'a str,
}

impl Bin<'_> {
    /// Append its tooltip, escaped: `2025-03: 12 values`, `[0, 10): 1 value`.
    fn push_title(&self, out: &mut String) {
        match self.name {
            BinName::Value(v) => push_escaped(out, v),
            BinName::Range { from, to, closed } => {
                out.push('[');
                push_escaped(out, from);
                out.push_str(", ");
                push_escaped(out, to);
                out.push(if closed { ']' } else { ')' });
            }
        }
        out.push_str(": ");
        push_values_text(out, self.count);
    }
}

/// One axis label of a column chart: its text, x in percent and `text-anchor`.
struct AxisLabel<'a> {
    text: &'a str,
    x: f64,
    anchor: &'static str,
}

fn axis_label<'a>(text: &'a str, x: f64, anchor: &'static str) -> AxisLabel<'a> {
    AxisLabel { text, x, anchor }
}

/// Axis labels: under every bar when there are at most `every_up_to` bars (one bar: in the
/// middle), else the first bar's at the left end and the last one's at the right end.
fn axis_labels<'a>(bins: &[Bin<'a>], every_up_to: usize) -> Vec<AxisLabel<'a>> {
    let n = bins.len();
    if n == 1 {
        return vec![axis_label(bins[0].label, 50.0, "middle")];
    }
    if n <= every_up_to {
        let slot = 100.0 / n as f64;
        return bins
            .iter()
            .enumerate()
            .map(|(i, b)| axis_label(b.label, slot * (i as f64 + 0.5), "middle"))
            .collect();
    }
    match (bins.first(), bins.last()) {
        (Some(a), Some(b)) => vec![
            axis_label(a.label, 0.0, "start"),
            axis_label(b.label, 100.0, "end"),
        ],
        _ => Vec::new(),
    }
}

/// A vertical bar chart: one bar per bin in a slot of equal width, heights proportional to
/// the counts; each slot also gets a transparent full-height rectangle (`hit`) so that its
/// title shows on hover even over a short or empty bar.
fn column_chart(bins: &[Bin], labels: &[AxisLabel], aria: &str, caption: String) -> Chart {
    let n = bins.len().max(1);
    let max = bins.iter().map(|b| b.count).max().unwrap_or(0);
    let slot = 100.0 / n as f64;
    let mut svg = String::with_capacity(300 + bins.len() * 200);
    svg.push_str("<svg class=\"chart chart-columns\" width=\"100%\" height=\"");
    push_num(&mut svg, COLUMN_CHART_HEIGHT);
    svg.push_str("\" role=\"img\" aria-label=\"");
    push_escaped(&mut svg, aria);
    svg.push_str("\">");
    svg.push_str("<line class=\"baseline\" x1=\"0\" x2=\"100%\" y1=\"");
    push_num(&mut svg, PLOT_HEIGHT);
    svg.push_str("\" y2=\"");
    push_num(&mut svg, PLOT_HEIGHT);
    svg.push_str("\"/>");
    for (i, b) in bins.iter().enumerate() {
        let mut h = if max > 0 {
            b.count as f64 / max as f64 * PLOT_HEIGHT
        } else {
            0.0
        };
        if b.count > 0 {
            h = h.max(1.0);
        }
        svg.push_str("<g class=\"bin\"><title>");
        b.push_title(&mut svg);
        svg.push_str("</title><rect class=\"hit\" x=\"");
        push_pct(&mut svg, slot * i as f64);
        svg.push_str("\" width=\"");
        push_pct(&mut svg, slot);
        svg.push_str("\" height=\"");
        push_num(&mut svg, PLOT_HEIGHT);
        svg.push_str("\"/><rect class=\"bar\" x=\"");
        push_pct(&mut svg, slot * i as f64 + slot * (1.0 - BAR_FILL) / 2.0);
        svg.push_str("\" y=\"");
        push_num(&mut svg, PLOT_HEIGHT - h);
        svg.push_str("\" width=\"");
        push_pct(&mut svg, slot * BAR_FILL);
        svg.push_str("\" height=\"");
        push_num(&mut svg, h);
        svg.push_str("\"/></g>");
    }
    for l in labels {
        svg.push_str("<text class=\"axis\" x=\"");
        push_pct(&mut svg, l.x);
        svg.push_str("\" y=\"");
        push_num(&mut svg, COLUMN_CHART_HEIGHT - 4.0);
        svg.push_str("\" text-anchor=\"");
        svg.push_str(l.anchor);
        svg.push_str("\">");
        push_escaped(&mut svg, l.text);
        svg.push_str("</text>");
    }
    svg.push_str("</svg>");
    Chart { caption, svg }
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
pub fn numeric_histogram(column: &str, h: &Histogram) -> Option<Chart> {
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
        let labels: Vec<String> = values.iter().map(|&v| format::float(Some(v))).collect();
        let bins: Vec<Bin> = labels
            .iter()
            .zip(&h.counts)
            .map(|(label, &count)| Bin {
                name: BinName::Value(label),
                count,
                label,
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
        return Some(column_chart(&bins, &labels, &aria, caption));
    }
    if h.edges.len() != h.counts.len() + 1 {
        return None;
    }
    let n = h.counts.len();
    // Each inner edge ends one bin and starts the next: formatted once.
    let edges: Vec<String> = h.edges.iter().map(|&e| format::float(Some(e))).collect();
    let bins: Vec<Bin> = h
        .counts
        .iter()
        .enumerate()
        .map(|(i, &count)| Bin {
            name: BinName::Range {
                from: &edges[i],
                to: &edges[i + 1],
                closed: i + 1 == n,
            },
            count,
            label: "",
        })
        .collect();
    let (first, last) = (&edges[0], &edges[n]);
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
        axis_label(first, 0.0, "start"),
        axis_label(last, 100.0, "end"),
    ];
    Some(column_chart(&bins, &labels, &aria, caption))
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
pub fn period_histogram(column: &str, p: &PeriodHistogram) -> Option<Chart> {
    let first = p.bins.first()?;
    let last = p.bins.last()?;
    let bins: Vec<Bin> = p
        .bins
        .iter()
        .map(|b| Bin {
            name: BinName::Value(&b.period),
            count: b.count,
            label: &b.period,
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
    Some(column_chart(&bins, &labels, &aria, caption))
}

/// One row of a bar chart.
pub struct BarRow<'a> {
    /// The value, as text.
    pub value: &'a str,
    /// Rows holding it.
    pub count: u64,
    /// Its share, 0–100.
    pub pct: Option<f64>,
}

/// A horizontal bar chart: per row the value (cut to [`LABEL_CHARS`] characters) and its
/// count and share on one line, and under them a bar whose length is the share relative to
/// the largest share. `None` without rows.
pub fn bar_chart(what: &str, rows: &[BarRow]) -> Option<Chart> {
    if rows.is_empty() {
        return None;
    }
    let max = rows
        .iter()
        .filter_map(|r| r.pct.filter(|p| p.is_finite()))
        .fold(0.0_f64, f64::max);
    let mut svg = String::with_capacity(200 + rows.len() * 450);
    svg.push_str("<svg class=\"chart chart-bars\" width=\"100%\" height=\"");
    push_num(&mut svg, rows.len() as f64 * ROW_HEIGHT);
    // The label lists every row: `value count (share)`, the values cut as on the bars.
    svg.push_str("\" role=\"img\" aria-label=\"");
    push_escaped(&mut svg, what);
    svg.push_str(": ");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            svg.push_str(", ");
        }
        match r.value.is_empty() {
            true => svg.push_str("(empty)"),
            false => push_escaped(&mut svg, &shorten(r.value)),
        }
        svg.push(' ');
        format::push_int(&mut svg, r.count);
        svg.push_str(" (");
        format::push_pct(&mut svg, r.pct);
        svg.push(')');
    }
    svg.push_str("\">");
    for (i, r) in rows.iter().enumerate() {
        let top = i as f64 * ROW_HEIGHT;
        let width = match r.pct.filter(|p| p.is_finite()) {
            Some(p) if max > 0.0 => (p / max * 100.0).clamp(0.0, 100.0),
            _ => 0.0,
        };
        let empty = r.value.is_empty();
        svg.push_str("<g class=\"row\"><title>");
        match empty {
            true => svg.push_str("(empty)"),
            false => push_escaped(&mut svg, r.value),
        }
        svg.push_str(": ");
        push_values_text(&mut svg, r.count);
        svg.push_str(" (");
        format::push_pct(&mut svg, r.pct);
        svg.push_str(")</title><text class=\"label");
        if empty {
            svg.push_str(" empty");
        }
        svg.push_str("\" y=\"");
        push_num(&mut svg, top + 13.0);
        svg.push_str("\">");
        match empty {
            true => svg.push_str("(empty)"),
            false => push_escaped(&mut svg, &shorten(r.value)),
        }
        svg.push_str("</text><text class=\"num\" x=\"100%\" y=\"");
        push_num(&mut svg, top + 13.0);
        svg.push_str("\" text-anchor=\"end\">");
        format::push_int(&mut svg, r.count);
        svg.push_str(" · ");
        format::push_pct(&mut svg, r.pct);
        svg.push_str("</text><rect class=\"track\" y=\"");
        push_num(&mut svg, top + 18.0);
        svg.push_str("\" width=\"100%\" height=\"8\" rx=\"2\"/><rect class=\"bar\" y=\"");
        push_num(&mut svg, top + 18.0);
        svg.push_str("\" width=\"");
        push_pct(&mut svg, width);
        svg.push_str("\" height=\"8\" rx=\"2\"/></g>");
    }
    svg.push_str("</svg>");
    Some(Chart {
        caption: String::new(),
        svg,
    })
}

/// Pixel height of a metric chart's plot (the lines' area).
pub const LINE_PLOT_HEIGHT: f64 = 180.0;
/// Pixel height of a metric chart: a top margin for the highest tick's label, the plot and a
/// line of axis labels.
pub const LINE_CHART_HEIGHT: f64 = LINE_PLOT_HEIGHT + 34.0;
/// Pixels above the plot, so the label of the top tick fits.
const LINE_TOP: f64 = 14.0;
/// Width of the inner coordinate system the lines are drawn in (`viewBox` units); stretched to
/// the chart's width with `preserveAspectRatio="none"`, strokes keep their width.
const LINE_VIEW_WIDTH: f64 = 1000.0;
/// Share of the width left empty at the right end, so the last dot shows whole.
const LINE_INSET: f64 = 0.015;
/// Share of the width left empty at the left end, for the y axis labels (drawn at x = 0 above
/// their grid line): 60 px of a 860 px desktop chart, so "200,000" clears the first dot; on a
/// phone-wide chart a long label may still touch a dot that sits just above a grid line.
const LINE_LEFT: f64 = 0.07;
/// Series drawn in one chart at most (the ones with the largest sums of absolute values).
pub const MAX_SERIES: usize = 8;
/// Measures (numeric columns) charted per result at most, in column order.
pub const MAX_MEASURES: usize = 4;
/// Dots with a tooltip are drawn up to this many points per chart; above it, only the lines.
pub const MAX_DOTS: usize = 600;

/// Whether an Arrow type name (as in [`QueryResult::column_types`]) is a number.
fn is_number_type(t: &str) -> bool {
    ["Int", "UInt", "Float", "Decimal"]
        .iter()
        .any(|k| t.starts_with(k))
}

/// Whether an Arrow type name is a date or a timestamp.
fn is_time_type(t: &str) -> bool {
    t.starts_with("Date") || t.starts_with("Timestamp")
}

/// Seconds since 1970-01-01 of a date or timestamp as a metric result holds it
/// (`2025-03-01`, `2025-03-01T10:00:00`, `2025-03-01 10:00:00+00:00`, …; a zone suffix is
/// ignored: the x axis only orders and spaces the points).
fn time_value(v: &Value) -> Option<f64> {
    let s = v.as_str()?;
    let date = chrono::NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    let time = s
        .get(11..19)
        .and_then(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S").ok())
        .unwrap_or_default();
    Some(date.and_time(time).and_utc().timestamp() as f64)
}

/// Tick values for an axis over `[lo, hi]`: about five, at steps of 1, 2 or 5 × 10^k, from a
/// multiple of the step at or below `lo` to one at or above `hi` ("nice numbers", Heckbert,
/// Graphics Gems, 1990).
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor() * step;
    let mut ticks = Vec::new();
    let mut t = first;
    while ticks.len() < 12 {
        ticks.push(t);
        if t >= hi - step * 1e-9 {
            break;
        }
        t = first + step * ticks.len() as f64;
    }
    if ticks.len() < 2 {
        ticks.push(first + step);
    }
    ticks
}

/// A tick's label, with as many decimals as the step between ticks has (`0`, `2.5`,
/// `20,000`, `0.25`).
fn tick_text(v: f64, step: f64) -> String {
    let step_text = format!("{step:.6}");
    let decimals = step_text
        .trim_end_matches('0')
        .split('.')
        .nth(1)
        .map_or(0, str::len);
    if decimals == 0 {
        format::int_signed(v.round() as i64)
    } else {
        format!("{v:.decimals$}")
    }
}

/// The line charts of one metric query's result: one chart per numeric column (at most
/// [`MAX_MEASURES`]), x the result's first date or timestamp column, one line per series when
/// the result has text columns (a series is one combination of their values; at most
/// [`MAX_SERIES`], those with the largest sums of absolute values, the caption says so).
///
/// Empty when the result has no date/timestamp column, no numeric column, or is not a time
/// series: fewer than 2 points in every series, or one series holding two rows of the same
/// time. NULL numbers leave a gap in their line (the line is split there).
///
/// Each chart's model: `height`, `plot_top`, `plot_bottom` (px), `view_width` (units of the
/// lines' viewBox), `y_min`/`y_max` (the axis range: a value v is drawn at
/// `plot_bottom - (v - y_min) / (y_max - y_min) * (plot_bottom - plot_top)` px), `ticks` (y and
/// label), `x_labels` (x in % and text), `series` (name, class index, `segments` as polyline
/// point lists, `dots`: `cx` %, `cy` px, the row's `x` text and `value` as in the result,
/// `title`), `legend`, `caption` and `aria`.
pub fn metric_charts(r: &crate::metrics::QueryResult) -> Vec<Value> {
    if r.error.is_some() || r.rows.len() < 2 {
        return Vec::new();
    }
    let Some(x_col) = r.column_types.iter().position(|t| is_time_type(t)) else {
        return Vec::new();
    };
    let measures: Vec<usize> = (0..r.columns.len())
        .filter(|&i| i != x_col && r.column_types.get(i).is_some_and(|t| is_number_type(t)))
        .take(MAX_MEASURES)
        .collect();
    let series_cols: Vec<usize> = (0..r.columns.len())
        .filter(|&i| {
            i != x_col
                && r.column_types
                    .get(i)
                    .is_some_and(|t| !is_number_type(t) && !is_time_type(t))
        })
        .collect();
    // Rows by series, in row order; x as seconds.
    let mut names: Vec<String> = Vec::new();
    let mut rows_of: Vec<Vec<(f64, usize)>> = Vec::new();
    for (ri, row) in r.rows.iter().enumerate() {
        let Some(x) = row.get(x_col).and_then(time_value) else {
            continue;
        };
        let name = series_cols
            .iter()
            .map(|&c| row.get(c).map(format::cell).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" · ");
        let k = match names.iter().position(|n| *n == name) {
            Some(k) => k,
            None => {
                names.push(name);
                rows_of.push(Vec::new());
                names.len() - 1
            }
        };
        rows_of[k].push((x, ri));
    }
    let is_series = rows_of.iter().any(|v| v.len() >= 2)
        && rows_of.iter().all(|v| {
            let mut xs: Vec<f64> = v.iter().map(|p| p.0).collect();
            xs.sort_by(f64::total_cmp);
            xs.windows(2).all(|w| w[0] != w[1])
        });
    if !is_series {
        return Vec::new();
    }
    let all_x: Vec<f64> = rows_of.iter().flatten().map(|p| p.0).collect();
    let x_lo = all_x.iter().copied().fold(f64::INFINITY, f64::min);
    let x_hi = all_x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let x_frac = |x: f64| {
        let f = if x_hi > x_lo {
            (x - x_lo) / (x_hi - x_lo)
        } else {
            0.5
        };
        LINE_LEFT + f * (1.0 - LINE_LEFT - LINE_INSET)
    };
    let x_name = &r.columns[x_col];
    measures
        .iter()
        .filter_map(|&m| {
            let value = |ri: usize| r.rows[ri].get(m).and_then(Value::as_f64).filter(|v| v.is_finite());
            // The series to draw: the largest by sum of |value|, in first-seen order.
            let mut order: Vec<(usize, f64)> = rows_of
                .iter()
                .enumerate()
                .map(|(k, v)| (k, v.iter().filter_map(|p| value(p.1)).map(f64::abs).sum()))
                .collect();
            order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut shown: Vec<usize> = order.iter().take(MAX_SERIES).map(|o| o.0).collect();
            shown.sort_unstable();
            let values: Vec<f64> = shown
                .iter()
                .flat_map(|&k| rows_of[k].iter().filter_map(|p| value(p.1)))
                .collect();
            if values.is_empty() {
                return None;
            }
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
            let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max).max(0.0);
            let ticks = nice_ticks(lo, hi);
            let (y_min, y_max) = (ticks[0], ticks[ticks.len() - 1]);
            let step = ticks[1] - ticks[0];
            let y_px = |v: f64| {
                LINE_CHART_HEIGHT - 20.0 - (v - y_min) / (y_max - y_min) * LINE_PLOT_HEIGHT
            };
            let plot_bottom = LINE_CHART_HEIGHT - 20.0;
            let points: usize = shown.iter().map(|&k| rows_of[k].len()).sum();
            let series: Vec<Value> = shown
                .iter()
                .enumerate()
                .map(|(class, &k)| {
                    let mut pts = rows_of[k].clone();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let mut segments: Vec<String> = Vec::new();
                    let mut current: Vec<String> = Vec::new();
                    let mut dots = Vec::new();
                    for &(x, ri) in &pts {
                        match value(ri) {
                            Some(v) => {
                                current.push(format!(
                                    "{},{}",
                                    num(x_frac(x) * LINE_VIEW_WIDTH),
                                    num(y_px(v))
                                ));
                                if points <= MAX_DOTS {
                                    let x_text = format::cell(&r.rows[ri][x_col]);
                                    let v_text = format::cell(&r.rows[ri][m]);
                                    let who = if names[k].is_empty() {
                                        String::new()
                                    } else {
                                        format!(" · {}", names[k])
                                    };
                                    dots.push(json!({
                                        "cx": pct_pos(x_frac(x) * 100.0),
                                        "cy": num(y_px(v)),
                                        "x": x_text,
                                        "value": r.rows[ri][m].to_string(),
                                        "title": format!("{x_text}{who}: {v_text}"),
                                    }));
                                }
                            }
                            None => {
                                if !current.is_empty() {
                                    segments.push(current.join(" "));
                                    current.clear();
                                }
                            }
                        }
                    }
                    if !current.is_empty() {
                        segments.push(current.join(" "));
                    }
                    json!({
                        "name": names[k],
                        "class": format!("s{class}"),
                        "segments": segments,
                        "dots": dots,
                    })
                })
                .collect();
            let tick_views: Vec<Value> = ticks
                .iter()
                .map(|&t| json!({"y": num(y_px(t)), "label_y": num(y_px(t) - 4.0), "text": tick_text(t, step)}))
                .collect();
            // x labels: the first and last time, and up to four between at equal steps of the
            // sorted distinct times.
            let mut xs: Vec<(f64, usize)> = shown.iter().flat_map(|&k| rows_of[k].iter().copied()).collect();
            xs.sort_by(|a, b| a.0.total_cmp(&b.0));
            xs.dedup_by(|a, b| a.0 == b.0);
            let n = xs.len();
            let picks: Vec<usize> = if n <= 6 {
                (0..n).collect()
            } else {
                let mut p: Vec<usize> = (0..6).map(|i| i * (n - 1) / 5).collect();
                p.dedup();
                p
            };
            let x_labels: Vec<Value> = picks
                .iter()
                .map(|&i| {
                    let (x, ri) = xs[i];
                    let anchor = if i == 0 && n > 1 {
                        "start"
                    } else if i == n - 1 && n > 1 {
                        "end"
                    } else {
                        "middle"
                    };
                    json!({"x": pct_pos(x_frac(x) * 100.0), "anchor": anchor, "text": format::cell(&r.rows[ri][x_col])})
                })
                .collect();
            let measure = &r.columns[m];
            let by = if series_cols.is_empty() {
                String::new()
            } else {
                let cols: Vec<&str> = series_cols.iter().map(|&c| r.columns[c].as_str()).collect();
                format!(", one line per {}", cols.join(" · "))
            };
            let mut caption = format!("{measure} by {x_name}{by}");
            if shown.len() < names.len() {
                caption.push_str(&format!(
                    " ({} of {} series: the largest)",
                    shown.len(),
                    names.len()
                ));
            }
            if (r.rows.len() as u64) < r.row_count {
                caption.push_str(&format!(
                    " (first {} of {} rows)",
                    format::int(r.rows.len() as u64),
                    format::int(r.row_count)
                ));
            }
            Some(json!({
                "height": num(LINE_CHART_HEIGHT),
                "plot_top": num(LINE_TOP),
                "plot_bottom": num(plot_bottom),
                "view_width": num(LINE_VIEW_WIDTH),
                "y_min": y_min,
                "y_max": y_max,
                "ticks": tick_views,
                "x_labels": x_labels,
                "x_label_y": num(LINE_CHART_HEIGHT - 4.0),
                "series": series,
                "legend": !series_cols.is_empty(),
                "measure": measure,
                "caption": caption,
                "aria": format!("Line chart: {caption}; the values are in the table below"),
            }))
        })
        .collect()
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

    #[test]
    fn push_num_writes_what_num_formats() {
        for x in [
            0.0,
            -0.0,
            1.0,
            100.0,
            2.0,
            27.0,
            21.0,
            33.333_333,
            66.666_667,
            0.5,
            -0.5,
            0.000_4,
            -0.000_4,
            12.345_6,
            99.999_9,
            1e9 + 0.25,
            -17.125,
            0.1,
            0.2,
            0.3,
        ] {
            let mut s = String::from("x=");
            push_num(&mut s, x);
            assert_eq!(&s[2..], num(x), "{x}");
        }
        let mut s = String::new();
        push_pct(&mut s, 100.0 / 3.0);
        assert_eq!(s, "33.333%");
    }
}

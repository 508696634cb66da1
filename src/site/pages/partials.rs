//! The repeated parts of a table page written in Rust: the schema section, the sample rows and
//! the column cards, each with the markup its partial template of the default theme
//! (`table_schema.html`, `table_sample.html`, `table_column.html`) renders from the same view,
//! byte for byte (`src/site/tests.rs` renders both ways and compares). A table page holds
//! thousands of these elements; writing them straight into one string costs a fraction of
//! turning the views into template values and interpreting the loops. Every text is escaped by
//! [`crate::site::theme::push_escaped`], the escaper of the theme's autoescape.

use std::fmt::Write as _;

use super::{ColumnView, SampleView, SchemaColumn};
// `text(out, s)`: append `s`, escaped.
use crate::site::theme::push_escaped as text;

/// `s` when the template would find it true: present and not empty.
fn truthy(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Each of `items`, escaped, between `open` and `close`.
fn each<'a>(out: &mut String, items: impl IntoIterator<Item = &'a str>, open: &str, close: &str) {
    for item in items {
        out.push_str(open);
        text(out, item);
        out.push_str(close);
    }
}

/// `table_schema.html`: the schema section (without the file's last newline).
pub(super) fn schema_section(out: &mut String, schema: &[SchemaColumn]) {
    let _ = write!(
        out,
        "<section id=\"schema\">\n  <h2>Schema <span class=\"count\">{}</span></h2>\n",
        schema.len()
    );
    if schema.is_empty() {
        out.push_str("  <p class=\"muted\">No columns are known for this table.</p>\n</section>");
        return;
    }
    out.push_str(concat!(
        "  <div class=\"scroll\">\n  <table class=\"data schema\">\n",
        "    <thead><tr><th>Column</th><th>Type</th><th>Description</th><th class=\"num\">Nulls</th><th class=\"num\">Distinct</th></tr></thead>\n",
        "    <tbody>\n"
    ));
    for c in schema {
        out.push_str("      <tr");
        if !c.profiled {
            out.push_str(" id=\"");
            text(out, &c.anchor);
            out.push('"');
        }
        out.push_str(">\n        <td class=\"name\"><a href=\"");
        text(out, &c.href);
        out.push_str("\"><code>");
        text(out, c.name);
        out.push_str("</code></a>");
        if c.primary_key {
            out.push_str(" <span class=\"badge\" title=\"primary key\">PK</span>");
        }
        if let Some(s) = c.source_name {
            out.push_str("<div class=\"muted small\">header: <code>");
            text(out, s);
            out.push_str("</code></div>");
        }
        out.push_str("</td>\n        <td class=\"type\"><code>");
        text(out, c.r#type);
        out.push_str("</code> <span class=\"muted small\">");
        text(out, c.type_source);
        out.push_str("</span>\n");
        if let Some(m) = truthy(c.meaning) {
            out.push_str("<div class=\"small\">");
            text(out, m);
            out.push_str("</div>");
        }
        if let Some(n) = truthy(c.note) {
            out.push_str("<div class=\"muted small\">");
            text(out, n);
            out.push_str("</div>");
        }
        out.push_str("</td>\n        <td>");
        match truthy(c.description) {
            Some(d) => text(out, d),
            None => out.push_str("<span class=\"muted\">—</span>"),
        }
        out.push_str("</td>\n        <td class=\"num\">");
        text(out, &c.nulls);
        out.push_str("</td>\n        <td class=\"num\">");
        text(out, &c.distinct);
        out.push_str("</td>\n      </tr>\n");
    }
    out.push_str("    </tbody>\n  </table>\n  </div>\n</section>");
}

/// `table_sample.html`: the sample rows' section, nothing when there are no rows.
pub(super) fn sample_section(out: &mut String, sample: Option<&SampleView>) {
    let Some(sample) = sample.filter(|s| !s.rows.is_empty()) else {
        return;
    };
    out.push_str(concat!(
        "<section id=\"sample\">\n  <h2>Sample rows</h2>\n  <div class=\"scroll\">\n",
        "  <table class=\"data sample\">\n    <thead><tr>"
    ));
    each(
        out,
        sample.headers.iter().copied(),
        "<th><code>",
        "</code></th>",
    );
    out.push_str("</tr></thead>\n    <tbody>\n");
    for row in &sample.rows {
        out.push_str("      <tr>");
        for v in row {
            out.push_str("<td>");
            if v.null {
                out.push_str("<span class=\"null\">NULL</span>");
            } else {
                text(out, v.text);
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("    </tbody>\n  </table>\n  </div>\n</section>\n");
}

/// `table_column.html`: one column card, then the newline that `table.html` puts after each.
pub(super) fn column_card(out: &mut String, c: &ColumnView) {
    out.push_str("  <article class=\"column\" id=\"");
    text(out, &c.anchor);
    out.push_str("\">\n    <header class=\"column-head\">\n      <h3><code>");
    text(out, c.name);
    out.push_str("</code></h3>\n      <span class=\"badge\">");
    text(out, c.r#type);
    out.push_str("</span>");
    if c.primary_key {
        out.push_str(" <span class=\"badge\">primary key</span>");
    }
    for a in &c.alerts {
        out.push_str(" <span class=\"badge badge-warn\" title=\"");
        text(out, a.message);
        out.push_str("\">");
        text(out, a.kind);
        out.push_str("</span>");
    }
    out.push_str("    </header>\n");
    if let Some(d) = truthy(c.description) {
        out.push_str("<p>");
        text(out, d);
        out.push_str("</p>");
    }
    each(
        out,
        c.alerts.iter().map(|a| a.message),
        "<p class=\"alert-line\">",
        "</p>",
    );
    out.push_str("    <div class=\"column-body\">\n      <div>\n        <dl class=\"stats\">\n");
    for s in &c.stats {
        out.push_str(if s.wide {
            "<div class=\"wide\"><dt>"
        } else {
            "<div><dt>"
        });
        text(out, s.label);
        out.push_str("</dt><dd>");
        text(out, &s.value);
        out.push_str("</dd></div>");
    }
    out.push_str("        </dl>\n");
    each(
        out,
        c.notes.iter().map(String::as_str),
        "<p class=\"estimate-note\">",
        "</p>",
    );
    out.push_str("      </div>\n      <div class=\"column-viz\">\n");
    for ch in &c.charts {
        out.push_str("        <figure class=\"chart-box\">\n          <figcaption><h4>");
        text(out, ch.title);
        out.push_str("</h4>");
        if !ch.caption.is_empty() {
            out.push_str("<span class=\"chart-caption\">");
            text(out, &ch.caption);
            out.push_str("</span>");
        }
        out.push_str("</figcaption>\n          ");
        out.push_str(&ch.svg);
        out.push_str("\n        </figure>\n");
    }
    if !c.samples.is_empty() {
        out.push_str("        <h4>Sample values</h4>\n        <ul class=\"samples\">");
        each(
            out,
            c.samples.iter().map(String::as_str),
            "<li><code>",
            "</code></li>",
        );
        out.push_str("</ul>\n");
    }
    out.push_str("      </div>\n    </div>\n  </article>\n");
}

//! Markdown → HTML for docs pages (pulldown-cmark with tables, strikethrough and footnotes).
//!
//! The output is safe to embed: raw HTML in the source is shown as text (escaped), never passed
//! through; links and images with a scheme other than http, https, mailto or tel are replaced
//! by `#`. Headings get ids (a slug of their text, unique within the page) for the table of
//! contents. Relative links to `*.md` files are rewritten to `*.html`, and every relative link
//! is returned with its source line so the caller can check it (with links to an anchor of the
//! page itself that no heading has).
//!
//! Catalog references link by name instead of by path: `[orders](table:orders)`,
//! `[the customer](table:orders.customer_id)` (a column's anchor on its table page),
//! `[revenue](metric:total_revenue)` and `[start here](doc:getting-started)`. The caller's
//! resolver turns each into a relative URL; one it cannot resolve becomes `#` and is returned in
//! [`Rendered::broken`] with its line.

use std::collections::BTreeSet;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};
use serde::Serialize;

/// A heading of a rendered page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heading {
    /// 1 for `#`, 2 for `##`, ...
    pub level: u8,
    /// The `id` attribute written on the heading.
    pub id: String,
    /// The heading's text.
    pub text: String,
}

/// A relative link found in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// 1-based line of the source where the link starts.
    pub line: usize,
    /// The link target as written in the page (after `.md` → `.html`).
    pub target: String,
}

/// The result of [`render`].
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// HTML fragment, safe to embed without escaping.
    pub html: String,
    /// Every heading, in order.
    pub headings: Vec<Heading>,
    /// Relative links (no scheme, not starting with `/` or `#`) and links to an anchor of this
    /// page that no heading has (`#nowhere`), in order.
    pub links: Vec<Link>,
    /// Catalog references (`table:`, `metric:`, `doc:`) the resolver did not know, in order.
    pub broken: Vec<Link>,
    /// Every image, its URL as written (an unsafe one is `#` in the HTML), in order.
    pub images: Vec<Link>,
}

/// Schemes of catalog references (see the module documentation).
pub const REFERENCE_SCHEMES: [&str; 3] = ["table", "metric", "doc"];

/// `(scheme, name)` of a catalog reference such as `table:orders`; `None` for any other URL.
pub fn reference(url: &str) -> Option<(&str, &str)> {
    let (scheme, name) = url.split_once(':')?;
    (REFERENCE_SCHEMES.contains(&scheme) && !name.is_empty()).then_some((scheme, name))
}

/// Render `markdown` to safe HTML; see the module documentation. `resolve` maps a catalog
/// reference (`table:orders`, `table:orders.customer_id`, `metric:x`, `doc:y`) to the URL to
/// write, relative to the page; `None` when nothing in the catalog has that name.
pub fn render(markdown: &str, resolve: &dyn Fn(&str) -> Option<String>) -> Rendered {
    let mut events = events_of(markdown);

    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(markdown.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset).max(1);

    let headings = assign_heading_ids(&mut events);
    let ids: BTreeSet<&str> = headings.iter().map(|h| h.id.as_str()).collect();

    // Pass 2: neutralise raw HTML and unsafe URLs, resolve references, collect links.
    let mut links = Vec::new();
    let mut broken = Vec::new();
    let mut images = Vec::new();
    let events = events.into_iter().map(|(event, range)| match event {
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        Event::Start(Tag::HtmlBlock) => Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)),
        Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::CodeBlock),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest = if reference(&dest_url).is_some() {
                resolve(&dest_url).unwrap_or_else(|| {
                    broken.push(Link {
                        line: line_of(range.start),
                        target: dest_url.to_string(),
                    });
                    "#".to_string()
                })
            } else {
                rewrite_link(&dest_url)
            };
            if reference(&dest_url).is_none() {
                if is_relative(&dest) {
                    links.push(Link {
                        line: line_of(range.start),
                        target: dest.clone(),
                    });
                } else if let Some(fragment) = dest.strip_prefix('#').filter(|f| !f.is_empty()) {
                    // A heading of this page.
                    if !ids.contains(decode(fragment).as_str()) {
                        links.push(Link {
                            line: line_of(range.start),
                            target: dest.clone(),
                        });
                    }
                }
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url: CowStr::from(dest),
                title,
                id,
            })
        }
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest = safe_url(&dest_url);
            images.push(Link {
                line: line_of(range.start),
                target: dest_url.to_string(),
            });
            Event::Start(Tag::Image {
                link_type,
                dest_url: CowStr::from(dest),
                title,
                id,
            })
        }
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    Rendered {
        html,
        headings,
        links,
        broken,
        images,
    }
}

/// The parser's events of `markdown` (tables, strikethrough, footnotes) with their byte ranges.
fn events_of(markdown: &str) -> Vec<(Event<'_>, std::ops::Range<usize>)> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    Parser::new_ext(markdown, options)
        .into_offset_iter()
        .collect()
}

/// The headings of `markdown` with the ids [`render`] gives them, without rendering it.
pub fn headings(markdown: &str) -> Vec<Heading> {
    let mut events = events_of(markdown);
    assign_heading_ids(&mut events)
}

/// A URL path or fragment percent-decoded (as a browser matches a fragment against ids); as
/// written when it does not decode to UTF-8.
pub fn decode(fragment: &str) -> String {
    crate::site::pages::percent_decode(fragment)
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| fragment.to_string())
}

/// Give every heading an id (a slug of its text, unique within the page); returns them in order.
fn assign_heading_ids(events: &mut [(Event<'_>, std::ops::Range<usize>)]) -> Vec<Heading> {
    let mut headings = Vec::new();
    let mut used = BTreeSet::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, .. }) = &events[i].0 {
            let level = *level as u8;
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j].0, Event::End(TagEnd::Heading(_))) {
                match &events[j].0 {
                    Event::Text(t) | Event::Code(t) | Event::InlineHtml(t) | Event::Html(t) => {
                        text.push_str(t)
                    }
                    Event::SoftBreak | Event::HardBreak => text.push(' '),
                    _ => {}
                }
                j += 1;
            }
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let id = unique_slug(&text, &mut used);
            if let Event::Start(Tag::Heading { id: slot, .. }) = &mut events[i].0 {
                *slot = Some(CowStr::from(id.clone()));
            }
            headings.push(Heading { level, id, text });
            i = j;
        }
        i += 1;
    }

    headings
}

/// A slug of heading text: lower-case letters and digits, other runs replaced by `-`; `section`
/// when nothing is left; `-2`, `-3`, ... appended to repeats.
fn unique_slug(text: &str, used: &mut BTreeSet<String>) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    let base = if slug.is_empty() {
        "section".to_string()
    } else {
        slug
    };
    let mut candidate = base.clone();
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

/// The scheme of a URL (lower-case), ignoring the whitespace and control characters browsers
/// ignore; `None` for a relative URL.
/// The lower-case scheme of `url` (`https`, `data`), `None` for a path.
pub fn scheme(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    let end = cleaned.find([':', '/', '?', '#'])?;
    if cleaned[end..].starts_with(':') && end > 0 {
        Some(cleaned[..end].to_ascii_lowercase())
    } else {
        None
    }
}

/// `url` when its scheme is allowed (or it has none), else `#`.
fn safe_url(url: &str) -> String {
    match scheme(url) {
        None => url.to_string(),
        Some(s) if matches!(s.as_str(), "http" | "https" | "mailto" | "tel") => url.to_string(),
        Some(_) => "#".to_string(),
    }
}

/// True for a link resolved against the page's folder.
fn is_relative(url: &str) -> bool {
    !url.is_empty() && scheme(url).is_none() && !url.starts_with(['/', '#', '?'])
}

/// Safe URL, with a relative `x.md` (optionally `#fragment`) of the docs folder rewritten to
/// `x.html`, the doc's page. A `.md` outside the docs folder (`../analyst/AGENTS.md`, published
/// as it is) is left alone.
fn rewrite_link(url: &str) -> String {
    let url = safe_url(url);
    if !is_relative(&url) {
        return url;
    }
    let (path, rest) = match url.find(['#', '?']) {
        Some(i) => url.split_at(i),
        None => (url.as_str(), ""),
    };
    let in_docs = resolve("docs", path).is_some_and(|p| p.starts_with("docs/"));
    match path.strip_suffix(".md").filter(|_| in_docs) {
        Some(stem) => format!("{stem}.html{rest}"),
        None => url,
    }
}

/// Resolve relative link `target` (fragment and query dropped, `%XX` decoded) against the folder
/// `base` (`docs`, no trailing slash) into a path from the output root; `None` when it climbs
/// above the root.
pub fn resolve(base: &str, target: &str) -> Option<String> {
    let path = decode(target.split(['#', '?']).next().unwrap_or(""));
    let mut parts: Vec<String> = base
        .split('/')
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s.to_string()),
        }
    }
    if path.ends_with('/') || path.is_empty() {
        parts.push("index.html".to_string());
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Render with a catalog that knows no names.
    fn render(markdown: &str) -> Rendered {
        super::render(markdown, &|_| None)
    }

    #[test]
    fn catalog_references_resolve_or_are_reported_with_their_line() {
        let resolve = |r: &str| match r {
            "table:orders" => Some("../tables/orders.html".to_string()),
            "table:orders.customer_id" => {
                Some("../tables/orders.html#column-customer_id".to_string())
            }
            "metric:total_revenue" => Some("../metrics/revenue/total_revenue.html".to_string()),
            _ => None,
        };
        let r = super::render(
            "See [orders](table:orders), [its customer](table:orders.customer_id).\n\n\
             [Revenue](metric:total_revenue) and [gone](table:nope) and [x](doc:missing).\n",
            &resolve,
        );
        assert!(
            r.html
                .contains(r#"<a href="../tables/orders.html">orders</a>"#),
            "{}",
            r.html
        );
        assert!(r
            .html
            .contains(r#"<a href="../tables/orders.html#column-customer_id">its customer</a>"#));
        assert!(r
            .html
            .contains(r#"<a href="../metrics/revenue/total_revenue.html">Revenue</a>"#));
        assert!(r.html.contains(r##"<a href="#">gone</a>"##));
        assert_eq!(
            r.broken,
            vec![
                Link {
                    line: 3,
                    target: "table:nope".into()
                },
                Link {
                    line: 3,
                    target: "doc:missing".into()
                }
            ]
        );
        // Resolved references are not relative links to check again.
        assert!(r.links.is_empty(), "{:?}", r.links);
        assert_eq!(reference("table:orders"), Some(("table", "orders")));
        assert_eq!(reference("javascript:x"), None);
        assert_eq!(reference("table:"), None);
    }

    #[test]
    fn headings_get_unique_ids() {
        let r = render(
            "# Title\n\n## Orders & items\n\ntext\n\n## Orders & items\n\n### `code` here\n",
        );
        let ids: Vec<&str> = r.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(
            ids,
            ["title", "orders-items", "orders-items-2", "code-here"]
        );
        assert!(r.html.contains("<h2 id=\"orders-items\">"), "{}", r.html);
    }

    #[test]
    fn raw_html_is_escaped() {
        let r = render("Hello <script>alert(1)</script> there\n\n<div onclick=\"x()\">\n<script>alert(2)</script>\n</div>\n");
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(!r.html.contains("<div"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;alert(1)"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;alert(2)"), "{}", r.html);
    }

    #[test]
    fn unsafe_urls_are_dropped() {
        let r = render("[x](javascript:alert(1)) [y](< JaVa\tScRiPt:alert(2)>) <javascript:alert(3)> ![i](data:text/html,hi) [ok](https://example.com)");
        let lower = r.html.to_lowercase();
        assert!(
            !lower.contains("href=\"javascript") && !lower.contains("href=\" java"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("src=\"data:"), "{}", r.html);
        assert_eq!(r.html.matches("href=\"#\"").count(), 3, "{}", r.html);
        assert!(
            r.html.contains("href=\"https://example.com\""),
            "{}",
            r.html
        );
    }

    #[test]
    fn links_are_collected_with_lines() {
        // `#t` is the heading's own anchor; `#top` is no heading's.
        let r = render("# T\n\nsee [a](other.md#x)\nand [b](../tables/orders.html)\n[c](https://x.y/z.html) [d](#top) [e](#t)\n");
        assert_eq!(
            r.links,
            vec![
                Link {
                    line: 3,
                    target: "other.html#x".into()
                },
                Link {
                    line: 4,
                    target: "../tables/orders.html".into()
                },
                Link {
                    line: 5,
                    target: "#top".into()
                },
            ]
        );
        assert!(r.html.contains("href=\"other.html#x\""));
    }

    #[test]
    fn resolves_paths() {
        assert_eq!(resolve("docs", "a.html#x").as_deref(), Some("docs/a.html"));
        assert_eq!(
            resolve("docs", "../tables/orders.html").as_deref(),
            Some("tables/orders.html")
        );
        assert_eq!(resolve("docs", "../../x.html"), None);
        assert_eq!(
            resolve("docs", "my%20doc.html").as_deref(),
            Some("docs/my doc.html")
        );
    }

    #[test]
    fn tables_strikethrough_footnotes() {
        let r = render("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ new[^1]\n\n[^1]: note\n");
        assert!(r.html.contains("<table>"));
        assert!(r.html.contains("<del>old</del>"));
        assert!(r.html.contains("footnote"));
    }
}

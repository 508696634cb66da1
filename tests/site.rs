//! The built catalog site as a reader meets it: every internal link of every page resolves (to a
//! file of the tree and, for `#fragment` links, to an element with that id), and each metric
//! chart draws exactly the points of its query's result.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Values of attribute `name` (`href`, `src`, `id`) in an HTML text, unescaped (`&amp;`,
/// `&quot;`, `&#39;`, `&lt;`, `&gt;`).
fn attribute_values(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        let end = rest.find('"').expect("closing quote");
        out.push(
            rest[..end]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        );
        rest = &rest[end..];
    }
    out
}

/// Percent-decoding of a URL path (`%20` → space), as a browser does before opening a file.
fn percent_decode(s: &str) -> String {
    broker::site::pages::percent_decode(s)
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| panic!("bad escape in {s}"))
}

/// Resolve `link` (relative, `/`-separated) against the folder of `page` within `root`;
/// `None` when it leaves the tree.
fn resolve(root: &Path, page: &Path, link: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = page
        .parent()
        .unwrap()
        .strip_prefix(root)
        .unwrap()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    for seg in link.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(percent_decode(s)),
        }
    }
    Some(parts.iter().fold(root.to_path_buf(), |p, s| p.join(s)))
}

#[test]
fn every_internal_link_of_the_demo_site_resolves() {
    let inst = common::demo_instance(None);
    let out = common::build(inst.path());
    assert!(out.status.success(), "{}", common::text(&out));
    let root = std::fs::canonicalize(inst.path().join("public")).unwrap();

    let pages: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    assert!(pages.len() >= 25, "{} pages", pages.len());
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for p in &pages {
        let html = std::fs::read_to_string(p).unwrap();
        ids.insert(
            p.clone(),
            attribute_values(&html, "id").into_iter().collect(),
        );
    }

    let mut checked = 0;
    let mut fragments = 0;
    let mut broken = Vec::new();
    for page in &pages {
        let html = std::fs::read_to_string(page).unwrap();
        let links = attribute_values(&html, "href")
            .into_iter()
            .chain(attribute_values(&html, "src"));
        for link in links {
            if link.starts_with("http://")
                || link.starts_with("https://")
                || link.starts_with("mailto:")
            {
                continue;
            }
            let rel = page.strip_prefix(&root).unwrap().display().to_string();
            assert!(
                !link.starts_with('/'),
                "{rel}: absolute link {link} breaks under file:// and sub-paths"
            );
            checked += 1;
            let (path, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() {
                page.clone()
            } else {
                match resolve(&root, page, path) {
                    Some(t) => t,
                    None => {
                        broken.push(format!("{rel}: {link} leaves the tree"));
                        continue;
                    }
                }
            };
            if !target.is_file() {
                broken.push(format!("{rel}: {link} → no file {}", target.display()));
                continue;
            }
            if let Some(f) = fragment.filter(|f| !f.is_empty()) {
                fragments += 1;
                let f = percent_decode(f);
                match ids.get(&target) {
                    Some(set) if set.contains(&f) => {}
                    Some(_) => broken.push(format!("{rel}: {link} → no id {f:?} on the page")),
                    None => broken.push(format!("{rel}: {link} → fragment into a non-page")),
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    // The demo's pages link a lot: a checker that found nothing to check proves nothing.
    assert!(checked > 500, "{checked} links checked");
    assert!(fragments > 100, "{fragments} fragment links checked");
    // Column anchors exist and are linked (foreign keys land on the column).
    let orders = root.join("tables/orders.html");
    assert!(ids[&orders].contains("column-customer_id"));
    eprintln!(
        "{} pages, {checked} internal links ({fragments} with a fragment), none broken",
        pages.len()
    );
}

/// A chart's dots: (series, x, value) as the SVG holds them, and their `cy` in pixels.
struct Dot {
    series: String,
    x: String,
    value: String,
    cy: f64,
}

/// The `<svg class="chart chart-lines" …>` elements of a page: their data attributes and dots.
fn line_charts(html: &str) -> Vec<(BTreeMap<String, String>, Vec<Dot>)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        attribute_values(tag, name).into_iter().next()
    };
    html.split("<svg class=\"chart chart-lines\"")
        .skip(1)
        .map(|chunk| {
            let chunk = &chunk[..chunk.find("</figure>").unwrap()];
            let head = format!(" {}", &chunk[..chunk.find('>').unwrap()]);
            let mut data = BTreeMap::new();
            for k in [
                "data-y-min",
                "data-y-max",
                "data-plot-top",
                "data-plot-bottom",
            ] {
                data.insert(k.to_string(), attr(&head, k).unwrap());
            }
            let dots = chunk
                .split("<circle ")
                .skip(1)
                .map(|c| {
                    let tag = format!(" {}", &c[..c.find('>').unwrap()]);
                    Dot {
                        series: attr(&tag, "data-series").unwrap(),
                        x: attr(&tag, "data-x").unwrap(),
                        value: attr(&tag, "data-value").unwrap(),
                        cy: attr(&tag, "cy").unwrap().parse().unwrap(),
                    }
                })
                .collect();
            (data, dots)
        })
        .collect()
}

#[test]
fn a_metric_chart_draws_the_points_of_its_result() {
    let inst = common::demo_instance(None);
    let out = common::build(inst.path());
    assert!(out.status.success(), "{}", common::text(&out));
    let root = inst.path().join("public");

    // Revenue by channel: month × channel → revenue, share_pct. One chart per measure, one line
    // per channel.
    let html =
        std::fs::read_to_string(root.join("metrics/revenue/revenue_by_channel.html")).unwrap();
    let twin: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("metrics/revenue/revenue_by_channel.json")).unwrap(),
    )
    .unwrap();
    let result = &twin["results"][0];
    assert_eq!(result["key"], "sql");
    let columns: Vec<&str> = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(columns, ["month", "channel", "revenue", "share_pct"]);
    let rows = result["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 48);

    let charts = line_charts(&html);
    // The basic query's two measures, then the regional query's (orders, revenue).
    assert_eq!(charts.len(), 4, "charts on the page");
    for (measure, (data, dots)) in [2usize, 3].iter().zip(&charts[..2]) {
        // Every row is one dot, with its x, series and value as the result holds them.
        let mut from_result: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r[1].as_str().unwrap().to_string(),
                    r[0].as_str().unwrap().to_string(),
                    r[*measure].to_string(),
                )
            })
            .collect();
        let mut from_svg: Vec<(String, String, String)> = dots
            .iter()
            .map(|d| (d.series.clone(), d.x.clone(), d.value.clone()))
            .collect();
        from_result.sort();
        from_svg.sort();
        assert_eq!(from_svg, from_result, "measure {}", columns[*measure]);
        // And is drawn at its value's height on the chart's axis.
        let num = |k: &str| data[k].parse::<f64>().unwrap();
        let (lo, hi) = (num("data-y-min"), num("data-y-max"));
        let (top, bottom) = (num("data-plot-top"), num("data-plot-bottom"));
        assert!(lo <= 0.0 && hi > 0.0, "{lo}..{hi}");
        for d in dots {
            let v: f64 = d.value.parse().unwrap();
            assert!(v >= lo && v <= hi, "{v} outside {lo}..{hi}");
            let expected = bottom - (v - lo) / (hi - lo) * (bottom - top);
            assert!(
                (d.cy - expected).abs() < 0.01,
                "{} {} {}: cy {} expected {expected}",
                d.series,
                d.x,
                d.value,
                d.cy
            );
        }
        let series: BTreeSet<&str> = dots.iter().map(|d| d.series.as_str()).collect();
        assert_eq!(
            series.into_iter().collect::<Vec<_>>(),
            ["api", "mobile_app", "phone", "web"]
        );
    }
    // The legend names the channels.
    assert!(html.contains("one line per channel"));

    // A result without a time column (by type of campaign) gets no chart.
    let roi = std::fs::read_to_string(root.join("metrics/marketing/campaign_roi.html")).unwrap();
    assert_eq!(
        line_charts(&roi).len(),
        0,
        "campaign ROI: one row per campaign is not a time series"
    );
    // An ungrouped monthly result: one line per measure chart, no legend.
    let total = std::fs::read_to_string(root.join("metrics/revenue/total_revenue.html")).unwrap();
    let charts = line_charts(&total);
    assert!(charts.len() >= 2, "{}", charts.len());
    assert_eq!(charts[0].1.len(), 12, "12 months of orders");
    assert!(charts[0].1.iter().all(|d| d.series.is_empty()));
}

/// `broker build --json` of the instance at `dir`, which must succeed; the warnings of its
/// summary that `keep` keeps, in order.
fn build_warnings(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let out = common::broker(&["build", "--instance", dir.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .filter(|w| keep(w))
        .collect()
}

#[test]
fn a_doc_reference_to_an_unknown_table_is_a_warning_naming_file_and_line() {
    let inst = common::demo_instance(None);
    std::fs::write(
        inst.path().join("content/docs/extra.md"),
        "# Extra\n\nSee [orders](table:orders) and [its key](table:orders.order_id).\n\
         A typo: [ordres](table:ordres), [a column](table:orders.nope), [m](metric:nope).\n",
    )
    .unwrap();
    let warnings = build_warnings(inst.path(), |w| w.contains("extra.md"));
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].ends_with(
        "extra.md:4: broken reference table:ordres: the catalog has no such table or column"
    ));
    assert!(warnings[1].contains("extra.md:4: broken reference table:orders.nope"));
    assert!(warnings[2]
        .contains("extra.md:4: broken reference metric:nope: the catalog has no such metric"));
    let html = std::fs::read_to_string(inst.path().join("public/docs/extra.html")).unwrap();
    assert!(html.contains(r#"<a href="../tables/orders.html">orders</a>"#));
    assert!(html.contains(r#"<a href="../tables/orders.html#column-order_id">its key</a>"#));
    assert!(html.contains(r##"<a href="#">ordres</a>"##));
}

#[test]
fn a_foreign_key_to_a_missing_table_or_column_is_a_warning_at_its_line_and_links_no_dead_anchor() {
    let inst = common::demo_instance(None);
    let dd = inst.path().join("content/data_description.md");
    let text = std::fs::read_to_string(&dd).unwrap();
    // support_tickets: its order key points at a column `orders` does not have, its customer
    // key at a table that does not exist.
    let text = text
        .replacen(
            "        references: orders.order_id\n        description: The order the ticket is about",
            "        references: orders.order_no\n        description: The order the ticket is about",
            1,
        )
        .replacen(
            "        references: customers.customer_id\n        description: The customer who opened the ticket.",
            "        references: clients.customer_id\n        description: The customer who opened the ticket.",
            1,
        );
    std::fs::write(&dd, &text).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let warnings = build_warnings(inst.path(), |w| w.contains("foreign key"));
    let file = inst.path().join("content/data_description.md");
    assert_eq!(
        warnings,
        [
            format!(
                "{}:{}: table `support_tickets`: foreign key `customer_id` references `clients.customer_id`, which is not a declared table",
                file.display(),
                line_of("references: clients.customer_id")
            ),
            format!(
                "{}:{}: table `support_tickets`: foreign key `order_id` references `orders.order_no`, but `orders` has no column `order_no`",
                file.display(),
                line_of("references: orders.order_no")
            ),
        ]
    );
    // Both pages link the relation to the top of the other table's page, not to an anchor
    // that is not there.
    let tickets =
        std::fs::read_to_string(inst.path().join("public/tables/support_tickets.html")).unwrap();
    let orders = std::fs::read_to_string(inst.path().join("public/tables/orders.html")).unwrap();
    assert!(!tickets.contains("#column-order_no"));
    assert!(tickets.contains("<a href=\"../tables/orders.html\"><code>orders.order_no</code></a>"));
    assert!(!orders.contains("#column-order_no"));
    // The analyst kit marks both keys, so an assistant does not join on them; good ones stay.
    let agents = std::fs::read_to_string(inst.path().join("public/analyst/AGENTS.md")).unwrap();
    let broken = "**(declared, but a column is missing: do not join on it)**";
    assert_eq!(
        agents.matches(broken).count(),
        3,
        "two keys, one listed on both tables"
    );
    assert!(agents.contains(&format!(
        "- `orders.order_no` ← `support_tickets.order_id` {broken}"
    )));
    assert!(agents.contains(
        "- `order_items.order_id` → `orders.order_id` (The order the line belongs to.)\n"
    ));
    assert!(orders.contains(
        "<a href=\"../tables/support_tickets.html#column-order_id\"><code>support_tickets.order_id</code></a> → <code>order_no</code> <span class=\"muted small\">(no such column)</span>"
    ));
}

#[test]
fn table_names_differing_only_in_case_are_an_error_naming_both_lines() {
    let inst = common::demo_instance(None);
    let dd = inst.path().join("content/data_description.md");
    let text = std::fs::read_to_string(&dd).unwrap();
    let text = text.replacen("    name: payments\n", "    name: Orders\n", 1);
    std::fs::write(&dd, &text).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l == needle).unwrap() + 1;
    let out = common::build(inst.path());
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:{}: key `name`: duplicate table name `Orders` (first declared at line {} as `orders`: the names differ only in case, which DuckDB and macOS file names ignore)",
        dd.display(),
        line_of("    name: Orders"),
        line_of("    name: orders"),
    );
    assert!(err.contains(&expected), "{err}\nexpected: {expected}");
    assert!(!inst.path().join("public").exists(), "nothing published");
}

#[test]
fn a_doc_link_to_an_anchor_that_is_not_there_is_a_warning_naming_file_and_line() {
    let inst = common::demo_instance(None);
    let doc = inst.path().join("content/docs/anchors.md");
    std::fs::write(
        &doc,
        "# Anchors\n\n## Here\n\n\
         Fine: [a](doc:getting-started#query-it-with-duckdb), [b](getting-started.md#where-things-are),\n\
         [c](#here), [d](../tables/orders.html#column-order_id), [kit](../analyst/AGENTS.md).\n\
         Broken: [e](doc:getting-started#nowhere), [f](getting-started.md#nowhere),\n\
         [g](#nowhere), [h](../tables/orders.html#column-nope), [i](missing.md).\n",
    )
    .unwrap();
    let file = doc.display().to_string();
    let mut warnings = build_warnings(inst.path(), |w| w.contains("anchors.md"));
    warnings.sort();
    let mut expected = vec![
        format!("{file}:7: broken reference doc:getting-started#nowhere: the catalog has no such doc or heading"),
        format!("{file}:7: broken link getting-started.html#nowhere: docs/getting-started.html has no anchor #nowhere"),
        format!("{file}:8: broken link #nowhere: no heading of this page has that id"),
        format!("{file}:8: broken link ../tables/orders.html#column-nope: tables/orders.html has no anchor #column-nope"),
        format!("{file}:8: broken link missing.html: the site has no such page"),
    ];
    expected.sort();
    assert_eq!(warnings, expected);
    let html = std::fs::read_to_string(inst.path().join("public/docs/anchors.html")).unwrap();
    assert!(html.contains(r#"<a href="../docs/getting-started.html#query-it-with-duckdb">a</a>"#));
    assert!(
        html.contains(r##"<a href="#">e</a>"##),
        "a broken reference links nowhere"
    );
    // A Markdown file published as it is, outside the docs, keeps its name.
    assert!(html.contains(r#"<a href="../analyst/AGENTS.md">kit</a>"#));
}

#[test]
fn doc_images_are_published_beside_the_docs_and_remote_or_missing_ones_are_warnings() {
    let inst = common::demo_instance(None);
    let docs = inst.path().join("content/docs");
    std::fs::create_dir_all(docs.join("img")).unwrap();
    // A 1×1 PNG, and an SVG carrying a script.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";
    std::fs::write(docs.join("img/schema.png"), png).unwrap();
    std::fs::write(
        docs.join("img/flow.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 4 4\"><script>alert(1)</script><rect width=\"4\" height=\"4\"/></svg>",
    )
    .unwrap();
    std::fs::create_dir_all(docs.join("guides")).unwrap();
    std::fs::write(docs.join("guides/nested.md"), "# Nested\n").unwrap();
    let doc = docs.join("pictures.md");
    std::fs::write(
        &doc,
        "# Pictures\n\n![schema](img/schema.png) ![flow](img/flow.svg)\n\
         ![gone](img/gone.png)\n![remote](https://example.com/chart.png)\n![cdn](//cdn.example.com/b.png)\n\
         ![abs](/srv/chart.png) ![inline](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB)\n\
         [the report](files/report.pdf)\n",
    )
    .unwrap();
    let mut warnings = build_warnings(inst.path(), |w| {
        w.contains("pictures.md") || w.contains("flow.svg") || w.contains("nested.md")
    });
    warnings.sort();
    let file = doc.display();
    assert_eq!(
        warnings,
        [
            format!("{}: not published: docs are the *.md files of content/docs/ itself, not of its sub-folders", docs.join("guides/nested.md").display()),
            format!("{}: removed from the published SVG: <script>", docs.join("img/flow.svg").display()),
            format!("{file}:4: broken image img/gone.png: no such image under content/docs/ (published are png, jpg, jpeg, gif, webp, avif, svg)"),
            format!("{file}:5: image https://example.com/chart.png loads from the network: readers offline or behind a firewall do not see it, and its host sees every reader; put the file next to the docs (content/docs/) and link it relatively"),
            format!("{file}:6: image //cdn.example.com/b.png loads from the network: readers offline or behind a firewall do not see it, and its host sees every reader; put the file next to the docs (content/docs/) and link it relatively"),
            format!("{file}:7: image /srv/chart.png: an absolute path works only at a web server's root, not from file:// after rsync nor under a path prefix; put the file next to the docs (content/docs/) and link it relatively"),
            format!("{file}:7: image data:image/png;base64,iV…: a data: URL is not shown (only files next to the docs and http(s) URLs are)"),
            format!("{file}:8: broken link files/report.pdf: docs/files/report.pdf is not published (of the files beside the docs only images are: png, jpg, jpeg, gif, webp, avif, svg)"),
        ]
    );
    let public = inst.path().join("public/docs");
    assert_eq!(std::fs::read(public.join("img/schema.png")).unwrap(), png);
    let svg = std::fs::read_to_string(public.join("img/flow.svg")).unwrap();
    assert!(!svg.contains("script") && svg.contains("<rect"), "{svg}");
    let html = std::fs::read_to_string(public.join("pictures.html")).unwrap();
    assert!(
        html.contains(r#"<img src="img/schema.png" alt="schema" />"#),
        "{html}"
    );
}

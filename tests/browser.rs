//! The built demo site in headless Chromium, opened from `file://` as an analyst opens an
//! rsynced copy: no console errors on any page, the appearance switch, a phone's width, and
//! screenshots kept as test artefacts (`$CARGO_TARGET_TMPDIR/browser-screenshots/`).
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`.ci/run` installs them); without
//! chromedriver these tests fail and say so.

mod common;

use std::path::{Path, PathBuf};

use broker::site::brand::{Accent, Rgb};
use common::browser::{demo_site, file_url, screenshot_dir, Browser};
use serde_json::{json, Value};

/// Every HTML page of the built tree, by path from its root, sorted.
fn pages(root: &Path) -> Vec<String> {
    let root = std::fs::canonicalize(root).unwrap();
    let mut out: Vec<String> = walkdir::WalkDir::new(&root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .map(|e| {
            e.path()
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

fn url(root: &Path, rel: &str) -> String {
    file_url(&root.join(rel))
}

fn body_background(b: &Browser) -> String {
    b.script(
        "return getComputedStyle(document.body).backgroundColor;",
        &[],
    )
    .as_str()
    .unwrap_or_default()
    .to_string()
}

fn data_theme(b: &Browser) -> Value {
    b.script(
        "return document.documentElement.getAttribute('data-theme');",
        &[],
    )
}

const WHITE: &str = "rgb(255, 255, 255)";
/// `--bg` of the dark palette, #0f1216.
const DARK: &str = "rgb(15, 18, 22)";

#[test]
fn every_page_loads_from_file_urls_without_console_errors() {
    let root = demo_site("browser");
    let all = pages(&root);
    // Dashboard, both catalogs, 9 tables, 10 metrics, 4 docs.
    assert_eq!(all.len(), 26, "{all:?}");
    for must in [
        "index.html",
        "tables/index.html",
        "tables/orders.html",
        "metrics/index.html",
        "metrics/revenue/total_revenue.html",
        "docs/index.html",
        "docs/getting-started.html",
    ] {
        assert!(all.iter().any(|p| p == must), "{must} missing: {all:?}");
    }
    let b = Browser::open();
    let mut problems = Vec::new();
    for rel in &all {
        b.goto(&url(&root, rel));
        for e in b.console_errors() {
            problems.push(format!("{rel}: {e}"));
        }
        // The stylesheet and theme.js loaded; every resource came from disk.
        let state = b.script(
            "var t = document.querySelector('[data-theme-toggle]');
             return {
               bg: getComputedStyle(document.documentElement).getPropertyValue('--bg').trim(),
               toggle: !!t && !t.hidden,
               remote: performance.getEntriesByType('resource')
                 .map(function (r) { return r.name; })
                 .filter(function (n) { return n.indexOf('file:') !== 0; }),
               title: document.title
             };",
            &[],
        );
        if state["bg"] != "#ffffff" {
            problems.push(format!("{rel}: style.css not applied ({state})"));
        }
        if state["toggle"] != true {
            problems.push(format!(
                "{rel}: the appearance switch is not shown ({state})"
            ));
        }
        if state["remote"] != json!([]) {
            problems.push(format!(
                "{rel}: resources not from file:// {}",
                state["remote"]
            ));
        }
        if !state["title"].as_str().unwrap_or("").contains("Demo Shop") {
            problems.push(format!("{rel}: title {}", state["title"]));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn appearance_switch_cycles_persists_and_follows_the_system() {
    let root = demo_site("browser");
    let b = Browser::open();
    b.prefer_color_scheme("light");
    b.goto(&url(&root, "index.html"));
    assert_eq!(data_theme(&b), Value::Null);
    assert_eq!(body_background(&b), WHITE);
    let toggle = b.find("[data-theme-toggle]");
    assert_eq!(b.text(&toggle), "System");

    // system → light → dark.
    b.click(&toggle);
    assert_eq!(data_theme(&b), "light");
    assert_eq!(b.text(&toggle), "Light");
    b.click(&toggle);
    assert_eq!(data_theme(&b), "dark");
    assert_eq!(b.text(&toggle), "Dark");
    assert_eq!(body_background(&b), DARK);
    assert_eq!(
        b.script("return localStorage.getItem('broker-theme');", &[]),
        "dark"
    );

    // Kept on reload and on another page (theme.js runs before the first paint).
    b.refresh();
    assert_eq!(data_theme(&b), "dark");
    assert_eq!(body_background(&b), DARK);
    b.goto(&url(&root, "tables/orders.html"));
    assert_eq!(data_theme(&b), "dark");
    assert_eq!(body_background(&b), DARK);
    assert_eq!(b.text(&b.find("[data-theme-toggle]")), "Dark");

    // dark → system: no attribute, nothing stored, the system's palette.
    b.click(&b.find("[data-theme-toggle]"));
    assert_eq!(data_theme(&b), Value::Null);
    assert_eq!(
        b.script("return localStorage.getItem('broker-theme');", &[]),
        Value::Null
    );
    assert_eq!(body_background(&b), WHITE);
    b.prefer_color_scheme("dark");
    assert_eq!(
        body_background(&b),
        DARK,
        "system choice follows a dark system"
    );
    // An explicit light choice wins over a dark system.
    b.click(&b.find("[data-theme-toggle]"));
    assert_eq!(data_theme(&b), "light");
    assert_eq!(body_background(&b), WHITE);
    b.script("localStorage.removeItem('broker-theme');", &[]);

    // Keyboard: Tab from the top of the page reaches the switch, which shows a focus outline.
    b.goto(&url(&root, "index.html"));
    let mut reached = Value::Null;
    for _ in 0..12 {
        b.press_tab();
        let focus = b.script(
            "var a = document.activeElement; var s = getComputedStyle(a);
             return {toggle: a.hasAttribute('data-theme-toggle'), outline: s.outlineStyle, width: s.outlineWidth};",
            &[],
        );
        if focus["toggle"] == true {
            reached = focus;
            break;
        }
    }
    assert_eq!(reached["outline"], "solid", "{reached}");
    assert_eq!(reached["width"], "2px", "{reached}");
    assert!(b.console_errors().is_empty());
}

#[test]
fn pages_fit_a_phone_width_without_horizontal_scrolling() {
    let root = demo_site("browser");
    let b = Browser::open();
    b.set_viewport(375, 812, true);
    let mut wide = Vec::new();
    for rel in pages(&root) {
        b.goto(&url(&root, &rel));
        // With a phone's viewport the layout viewport grows to fit wide content, so both
        // widths must stay at 375; `over` names the widest elements sticking out, if any.
        let v = b.script(
            "var over = [];
             document.querySelectorAll('body *').forEach(function (e) {
               var r = e.getBoundingClientRect();
               if (r.right > 376 && !e.closest('.scroll, pre, .code')) {
                 over.push(e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(r.right));
               }
             });
             return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                     toggle: document.querySelector('[data-theme-toggle]').getBoundingClientRect().right,
                     over: over.slice(-6)};",
            &[],
        );
        if v["scroll"] != 375 || v["inner"] != 375 {
            wide.push(format!("{rel}: {v}"));
        }
        if v["toggle"].as_f64().unwrap_or(1e9) > 375.0 {
            wide.push(format!("{rel}: the appearance switch is off screen: {v}"));
        }
    }
    assert!(wide.is_empty(), "wider than 375 px:\n{}", wide.join("\n"));
}

#[test]
fn screenshots_of_dashboard_table_and_metric_pages() {
    let root = demo_site("browser");
    let dir = screenshot_dir();
    println!("screenshots in {}", dir.display());
    let b = Browser::open();
    let mut saved: Vec<PathBuf> = Vec::new();
    for (theme, scheme) in [("light", "light"), ("dark", "dark")] {
        b.prefer_color_scheme(scheme);
        for (name, rel) in [
            ("dashboard", "index.html"),
            ("table-orders", "tables/orders.html"),
            (
                "metric-revenue-by-channel",
                "metrics/revenue/revenue_by_channel.html",
            ),
        ] {
            b.goto(&url(&root, rel));
            let png = b.screenshot_page(3000);
            let path = dir.join(format!("{name}-{theme}.png"));
            std::fs::write(&path, &png).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
            assert!(
                png.len() > 20_000,
                "{}: only {} bytes",
                path.display(),
                png.len()
            );
            // Width from the IHDR chunk: the 1280 px window less its scroll bar.
            let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
            assert!(
                (1200..=1280).contains(&width),
                "{}: {width} px wide",
                path.display()
            );
            saved.push(path);
        }
    }
    b.set_viewport(375, 812, true);
    b.prefer_color_scheme("light");
    b.goto(&url(&root, "tables/orders.html"));
    let png = b.screenshot();
    let path = dir.join("table-orders-phone.png");
    std::fs::write(&path, &png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    saved.push(path);
    // At a phone's width no page is wider than the screen: wide tables scroll in their box.
    for page in ["index.html", "tables/index.html", "tables/orders.html"] {
        b.goto(&url(&root, page));
        let width = b.script("return document.documentElement.scrollWidth", &[]);
        assert_eq!(width, json!(375), "{page} at 375 px");
    }
    assert!(b.console_errors().is_empty());
    println!("{} screenshots saved", saved.len());
}

/// `rgb(r, g, b)` as getComputedStyle writes a colour.
fn css_rgb(c: Rgb) -> String {
    format!("rgb({}, {}, {})", c.0, c.1, c.2)
}

#[test]
fn white_label_logo_accent_and_theme_folder_from_instance_yaml() {
    let inst = common::demo_instance(None);
    let d = inst.path();
    let yaml_path = d.join("config/instance.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).unwrap();
    let yaml = yaml.replacen(
        "instance:\n",
        "instance:\n  logo: brand/logo.svg\n  accent: \"#0a7d5a\"\n",
        1,
    ) + "theme: acme\n";
    std::fs::write(&yaml_path, yaml).unwrap();
    std::fs::create_dir_all(d.join("brand")).unwrap();
    std::fs::write(
        d.join("brand/logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\" onload=\"alert(1)\">\
         <script>alert(2)</script><rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#0a7d5a\"/>\
         <path d=\"M8 16h16M16 8v16\" stroke=\"#fff\" stroke-width=\"4\"/></svg>\n",
    )
    .unwrap();
    // The theme folder replaces one template and one static file of the default theme.
    std::fs::create_dir_all(d.join("acme/templates")).unwrap();
    std::fs::create_dir_all(d.join("acme/static")).unwrap();
    std::fs::write(
        d.join("acme/templates/metrics.html"),
        "{% extends \"base.html\" %}{% block content %}<h1 id=\"acme\">Acme metrics</h1>{% endblock %}",
    )
    .unwrap();
    std::fs::write(
        d.join("acme/static/site.js"),
        "document.addEventListener('DOMContentLoaded', function () { document.body.setAttribute('data-acme', 'yes'); });\n",
    )
    .unwrap();

    let out = common::browser::build(d);
    let log = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("logo.svg: removed from the logo (not allowed in a published SVG): onload=\"…\" on <svg>, <script>"),
        "{log}"
    );
    let root = d.join("public");
    let logo = std::fs::read_to_string(root.join("assets/logo.svg")).unwrap();
    assert!(
        !logo.contains("script") && !logo.contains("onload"),
        "{logo}"
    );
    assert!(logo.contains("<rect width=\"32\""), "{logo}");
    let css = std::fs::read_to_string(root.join("assets/brand.css")).unwrap();
    assert!(css.contains("--accent: #0a7d5a;"), "{css}");

    let accent = Accent::new(Rgb(0x0a, 0x7d, 0x5a), None);
    let b = Browser::open();
    b.prefer_color_scheme("light");
    b.goto(&url(&root, "index.html"));
    let v = b.script(
        "var img = document.querySelector('.brand img.brand-logo');
         return {loaded: !!img && img.complete && img.naturalWidth > 0,
                 link: getComputedStyle(document.querySelector('main table a[href]')).color,
                 acme: document.body.getAttribute('data-acme')};",
        &[],
    );
    assert_eq!(v["loaded"], true, "{v}");
    assert_eq!(v["link"], css_rgb(accent.light), "{v}");
    assert_eq!(v["acme"], "yes", "{v}");
    b.prefer_color_scheme("dark");
    let link = b.script(
        "return getComputedStyle(document.querySelector('main table a[href]')).color;",
        &[],
    );
    assert_eq!(link, css_rgb(accent.dark));
    b.goto(&url(&root, "metrics/index.html"));
    assert_eq!(b.text(&b.find("h1#acme")), "Acme metrics");
    // The published logo opened on its own runs nothing.
    b.goto(&url(&root, "assets/logo.svg"));
    assert_eq!(
        b.script("return document.querySelectorAll('script').length;", &[]),
        0
    );
    assert!(b.console_errors().is_empty());
}

/// Poll `js` (a function body returning a value) until it returns something truthy, for up to
/// 10 s; returns that value or panics naming `what`.
fn wait_for(b: &Browser, what: &str, js: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let v = b.script(js, &[]);
        let truthy = match &v {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        };
        if truthy {
            return v;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "timed out waiting for {what} on {}",
            b.url()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn search_for_a_column_lands_on_its_table_page_and_anchor() {
    let root = demo_site("search");
    let b = Browser::open();
    b.goto(&url(&root, "index.html"));
    // `/` opens the search from the keyboard, without a network: the index loads from file://.
    b.press("/");
    let input = b.find("#search-q");
    b.send_keys(&input, "shipping_amount");
    let first = wait_for(
        &b,
        "search results",
        "var li = document.querySelector('.search-results li'); return li ? li.textContent : null;",
    );
    let first = first.as_str().unwrap().to_string();
    assert!(first.contains("orders"), "first result: {first}");
    assert!(first.contains("shipping_amount"), "first result: {first}");
    b.press("\u{E007}");
    let landed = wait_for(
        &b,
        "the table page",
        "return location.href.indexOf('tables/orders.html') >= 0 && document.readyState === 'complete' ? location.href : null;",
    );
    assert!(
        landed
            .as_str()
            .unwrap()
            .ends_with("tables/orders.html#column-shipping_amount"),
        "{landed}"
    );
    let target = b.script(
        "var t = document.querySelector(':target'); return t ? t.id : null;",
        &[],
    );
    assert_eq!(target, json!("column-shipping_amount"));

    // Ctrl-K from a table page opens it again (the handler on the page's keydown events).
    b.script(
        "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'k', ctrlKey: true, bubbles: true}));",
        &[],
    );
    assert_eq!(
        b.script(
            "var d = document.querySelector('dialog.search-dialog'); return !!(d && d.open);",
            &[]
        ),
        json!(true)
    );
    // A metric is found by one of its synonyms.
    let input = b.find("#search-q");
    b.send_keys(&input, "turnover");
    let hit = wait_for(
        &b,
        "a metric found by its synonym",
        "var a = document.querySelector('.search-results li a'); return a ? a.getAttribute('href') : null;",
    );
    assert!(
        hit.as_str()
            .unwrap()
            .ends_with("metrics/revenue/total_revenue.html"),
        "{hit}"
    );
    assert!(b.console_errors().is_empty(), "{:?}", b.console_errors());
}

#[test]
fn catalog_rows_say_when_each_table_was_synced_and_how_complete_it_is() {
    let root = demo_site("catalog");
    let b = Browser::open();
    b.goto(&url(&root, "tables/index.html"));
    // Filled in from meta/freshness.js by site.js; the demo was built moments ago.
    let synced = wait_for(
        &b,
        "the orders row's sync time",
        "var a = document.querySelector('[data-synced-ago=\"orders\"]'); return a && a.textContent !== 'on the dashboard' ? [a.textContent, a.title] : null;",
    );
    let text = synced[0].as_str().unwrap();
    assert!(
        text == "just now" || text.ends_with(" minutes ago"),
        "{synced}"
    );
    let title = synced[1].as_str().unwrap();
    assert!(title.ends_with("Z (UTC)"), "{synced}");
    // Every synced row is filled in, and every profiled one has a completeness badge.
    let rows = b.script(
        "return Array.from(document.querySelectorAll('tr[data-search]')).map(function (r) { var s = r.querySelector('td.synced'); var q = r.querySelector('td:last-child .badge'); return [s.textContent, q ? q.textContent : null]; });",
        &[],
    );
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 9, "{rows:?}");
    for r in rows {
        assert_ne!(r[0], json!("on the dashboard"), "{rows:?}");
        assert!(r[1].as_str().is_some_and(|p| p.ends_with('%')), "{rows:?}");
    }
    // The filter folds accents on both sides. The demo's table texts are ASCII, so one row's
    // search text is given a Czech description first.
    b.script(
        "document.querySelector('tr[data-search^=\"customers \"]').setAttribute('data-search', 'customers zákazníci e-shopu ørsted straße');",
        &[],
    );
    let visible = "return Array.from(document.querySelectorAll('tr[data-search]')).filter(function (r) { return !r.hidden; }).map(function (r) { return r.querySelector('code').textContent; });";
    for typed in ["zakaznici", "ZÁKAZNÍCI", "orsted strasse"] {
        let filter = b.find("#filter");
        b.script("document.getElementById('filter').value = '';", &[]);
        b.send_keys(&filter, typed);
        assert_eq!(b.script(visible, &[]), json!(["customers"]), "{typed}");
    }
    assert!(b.console_errors().is_empty(), "{:?}", b.console_errors());
}

/// Search `query` in the open search dialog; the titles of the results, in order, once the
/// index files it needs are loaded.
fn search_titles(b: &Browser, query: &str) -> Vec<String> {
    b.script(
        "var i = document.getElementById('search-q'); i.value = arguments[0]; \
         i.dispatchEvent(new Event('input'));",
        &[json!(query)],
    );
    wait_for(
        b,
        &format!("the results of {query:?}"),
        "var s = document.querySelector('.search-status').textContent; \
         return /results?\\.$/.test(s) || s === 'No results.';",
    );
    let titles = b.script(
        "return Array.from(document.querySelectorAll('.search-results .search-title'), \
         function (t) { return t.textContent; });",
        &[],
    );
    serde_json::from_value(titles).unwrap()
}

#[test]
fn search_matches_names_at_word_starts_and_ranks_ties_in_catalog_order() {
    // The demo (its smallest data) with the folders in another catalog order than the tables
    // are declared in (crm, sales, marketing), and a word, "zebra", in the descriptions of a
    // table of each folder and of columns whose names sort against their column order.
    let inst = common::demo_instance(None);
    let d = inst.path();
    let edit = |file: &str, pairs: &[(&str, &str)]| {
        let path = d.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (from, to) in pairs {
            assert_eq!(text.matches(from).count(), 1, "{file}: {from}");
            text = text.replacen(from, to, 1);
        }
        std::fs::write(&path, text).unwrap();
    };
    edit(
        "config/instance.yaml",
        &[
            (
                "order: [sales, crm, marketing]",
                "order: [marketing, sales, crm]",
            ),
            ("size: s\n", "size: xs\n"),
        ],
    );
    edit(
        "content/data_description.md",
        &[
            (
                "One row per registered customer of the shop",
                "Zebra herd. One row per registered customer of the shop",
            ),
            (
                "description: E-mail address; unique.",
                "description: Zebra. E-mail address; unique.",
            ),
            (
                "description: Company name for business",
                "description: Zebra. Company name for business",
            ),
            (
                "One row per order: who placed it",
                "Zebra herd. One row per order: who placed it",
            ),
            (
                "Marketing campaigns with channel",
                "Zebra herd. Marketing campaigns with channel",
            ),
            (
                "description: Campaign name, ",
                "description: Zebra. Campaign name, ",
            ),
        ],
    );
    let out = common::browser::build(d);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    let root = d.join("public");

    let b = Browser::open();
    b.goto(&url(&root, "index.html"));
    b.press("/");
    b.find("#search-q");

    // A name matches where its words start, and a query word ends at the end of a name word or
    // inside the name word it started: "Customer Satisfaction (CSAT)" is no name match of
    // `customers` (it comes after the names, through its description), but is of `customer sat`.
    assert_eq!(
        search_titles(&b, "customers"),
        [
            // 0: the name is the query.
            "customers",
            "Data model › Customers",
            // 2: from a later word of the name ("Active and New Customers"; a synonym of
            // Repeat Purchase Rate: "returning customers").
            "Active and New Customers",
            "Repeat Purchase Rate",
            // 3: through their descriptions, tables, metrics, columns.
            "support_tickets",
            "Cost per Acquisition",
            "Lead Conversion Rate",
            "Average Order Value",
            "Total Revenue",
            "Customer Satisfaction (CSAT)",
            "web_leads.customer_id",
            "payments.method",
            "customers.email",
            "customers.company",
        ]
    );
    assert_eq!(
        search_titles(&b, "customer sat"),
        [
            "Customer Satisfaction (CSAT)",
            "support_tickets",
            "support_tickets.satisfaction_score",
        ]
    );
    // Not from inside a word.
    assert_eq!(search_titles(&b, "tomer"), Vec::<String>::new());
    assert_eq!(search_titles(&b, "ders.id"), Vec::<String>::new());
    // One query word across the words of a column name, columns in catalog order.
    assert_eq!(
        search_titles(&b, "orderid"),
        [
            "orders.order_id",
            "order_items.order_id",
            "payments.order_id",
            "support_tickets.order_id",
        ]
    );
    // Equal ranks in catalog order: tables by folder (marketing, sales, crm here), columns by
    // their table's place, then in column order (email before company).
    assert_eq!(
        search_titles(&b, "zebra"),
        [
            "campaigns",
            "orders",
            "customers",
            "campaigns.name",
            "customers.email",
            "customers.company",
        ]
    );
    assert!(b.console_errors().is_empty(), "{:?}", b.console_errors());
}

#[test]
fn line_chart_axis_labels_clear_the_dots_at_desktop_width() {
    let root = demo_site("axis-labels");
    let b = Browser::open();
    b.set_viewport(1280, 900, false);
    let mut checked = 0;
    for page in [
        "metrics/revenue/total_revenue.html",
        "metrics/revenue/average_order_value.html",
        "metrics/customers/customer_count.html",
        "metrics/marketing/lead_conversion_rate.html",
        "metrics/support/avg_resolution_hours.html",
    ] {
        b.goto(&url(&root, page));
        // For each line chart: the y axis labels (at x = 0) that a dot's box overlaps.
        let v = b.script(
            "var out = {charts: 0, hits: []};\
             document.querySelectorAll('svg.chart-lines').forEach(function (svg) {\
               out.charts++;\
               var labels = Array.from(svg.querySelectorAll('text.axis[x=\"0\"]')).map(function (t) { return [t.textContent, t.getBoundingClientRect()]; });\
               svg.querySelectorAll('circle.dot').forEach(function (d) {\
                 var r = d.getBoundingClientRect();\
                 labels.forEach(function (l) {\
                   var a = l[1];\
                   if (r.left < a.right && a.left < r.right && r.top < a.bottom && a.top < r.bottom)\
                     out.hits.push(l[0] + ' / ' + d.getAttribute('data-x') + ': ' + d.getAttribute('data-value'));\
                 });\
               });\
             });\
             return out;",
            &[],
        );
        assert_eq!(v["hits"], json!([]), "{page}");
        checked += v["charts"].as_u64().unwrap();
    }
    assert!(checked >= 5, "{checked} charts");
}

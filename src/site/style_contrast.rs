//! WCAG AA contrast of the default theme's palettes, read from `themes/default/static/style.css`.
//!
//! Ratios are WCAG 2.x contrast ratios `(L1 + 0.05) / (L2 + 0.05)` of relative luminances
//! (<https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio>), computed by
//! [`crate::site::brand::contrast`]. AA asks 4.5:1 for text (success criterion 1.4.3) and 3:1 for
//! graphics and the boundaries of controls that convey meaning (1.4.11).

use std::collections::BTreeMap;

use crate::site::brand::{contrast, Rgb};

const STYLE: &str = include_str!("../../themes/default/static/style.css");

/// The `--name: #colour;` declarations of the first block opened by `selector {`.
fn palette(css: &str, selector: &str) -> BTreeMap<String, Rgb> {
    let start = css
        .find(&format!("{selector} {{"))
        .unwrap_or_else(|| panic!("style.css has no `{selector} {{` block"));
    let body = &css[start + selector.len() + 2..];
    let body = &body[..body.find('}').expect("block closed")];
    body.split(';')
        .filter_map(|decl| {
            let (name, value) = decl.split_once(':')?;
            let name = name.trim().strip_prefix("--")?;
            Some((name.to_string(), Rgb::parse(value.trim())?))
        })
        .collect()
}

/// Foreground, background, minimum ratio, where the pair is used.
const PAIRS: &[(&str, &str, f64, &str)] = &[
    ("fg", "bg", 4.5, "body text"),
    ("fg", "bg-soft", 4.5, "text on cards, facts, top bar"),
    ("fg", "bg-code", 4.5, "code blocks"),
    ("fg", "accent-soft", 4.5, "current nav item, notices"),
    ("fg-soft", "bg", 4.5, "muted text, chart axes"),
    ("fg-soft", "bg-soft", 4.5, "badges, table headers, nav"),
    ("fg-soft", "bg-code", 4.5, "muted text in code boxes"),
    ("accent", "bg", 4.5, "links"),
    ("accent", "bg-soft", 4.5, "links on cards and pills"),
    (
        "accent",
        "accent-soft",
        4.5,
        "links on the accent's soft background",
    ),
    ("ok-fg", "ok-bg", 4.5, "completeness badges"),
    ("warn-fg", "warn-bg", 4.5, "warning badges and alerts"),
    ("fg", "warn-bg", 4.5, "text in warnings"),
    ("accent", "warn-bg", 4.5, "links in warnings"),
    ("error-fg", "error-bg", 4.5, "error badges and alerts"),
    ("fg", "error-bg", 4.5, "text in errors"),
    ("accent", "error-bg", 4.5, "links in errors"),
    ("border-strong", "bg", 3.0, "input and button borders"),
    ("border-strong", "bg-soft", 3.0, "buttons in the top bar"),
    ("accent", "bg", 3.0, "focus outline, highlighted bar"),
    ("accent", "bg-soft", 3.0, "focus outline in the top bar"),
    ("bar", "bg", 3.0, "chart bars"),
    ("bar", "bg-soft", 3.0, "chart bars on their track"),
];

fn check(name: &str, p: &BTreeMap<String, Rgb>) -> Vec<String> {
    let mut failures = Vec::new();
    for (fg, bg, min, what) in PAIRS {
        let (Some(f), Some(b)) = (p.get(*fg), p.get(*bg)) else {
            failures.push(format!("{name}: --{fg} or --{bg} missing"));
            continue;
        };
        let r = contrast(*f, *b);
        if r < *min {
            failures.push(format!(
                "{name}: --{fg} {} on --{bg} {} is {r:.2}:1, below {min}:1 ({what})",
                f.hex(),
                b.hex()
            ));
        }
    }
    failures
}

#[test]
fn both_palettes_meet_wcag_aa() {
    let light = palette(STYLE, ":root");
    let dark = palette(STYLE, ":root[data-theme=\"dark\"]");
    let system_dark = palette(STYLE, ":root:not([data-theme=\"light\"])");
    assert_eq!(light.len(), 19, "{light:?}");
    assert_eq!(dark, system_dark, "the two dark blocks of style.css differ");
    assert_eq!(
        light.keys().collect::<Vec<_>>(),
        dark.keys().collect::<Vec<_>>()
    );
    let mut failures = check("light", &light);
    failures.extend(check("dark", &dark));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The figures quoted in docs/configuration.md.
    let ratio = |p: &BTreeMap<String, Rgb>, a: &str, b: &str| {
        (contrast(p[a], p[b]) * 100.0).round() / 100.0
    };
    assert_eq!(ratio(&light, "fg-soft", "bg-soft"), 5.7);
    assert_eq!(ratio(&light, "accent", "accent-soft"), 5.57);
    assert_eq!(ratio(&dark, "accent", "accent-soft"), 6.4);
}

#[test]
fn contrast_parser_reads_declarations() {
    let p = palette(
        ":root {\n  --a: #fff;\n  --b: #000000;\n  --radius: 8px;\n}\n",
        ":root",
    );
    assert_eq!(p.len(), 2);
    assert_eq!(p["a"], Rgb(255, 255, 255));
    assert_eq!(check("t", &p).len(), PAIRS.len());
}

#[test]
fn no_template_or_static_file_loads_from_the_network() {
    let theme = crate::site::theme::Theme::load(None).unwrap();
    let statics = theme.static_files().unwrap();
    assert!(statics.iter().any(|(n, _)| n == "theme.js"));
    let files = crate::site::theme::TEMPLATES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .chain(
            statics
                .iter()
                .map(|(n, b)| (n.clone(), String::from_utf8_lossy(b).into_owned())),
        );
    let mut found = Vec::new();
    for (name, text) in files {
        // An SVG's namespace name is an identifier, not something loaded.
        let lower = text
            .to_lowercase()
            .replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for needle in ["http://", "https://", "\"//", "'//", "url(", "@import"] {
            if lower.contains(needle) {
                found.push(format!("{name}: {needle}"));
            }
        }
    }
    assert!(found.is_empty(), "{found:?}");
}

//! One test per CSV bug report of the field (`tests/data/csv/`, described in its EXPECTED.md),
//! named after the case: the file goes through `broker build` as a user's table would, and the
//! Parquet file is read back with DuckDB.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Build an instance whose only table `t` is the test file; returns (instance, exit code, stderr).
fn build_case(case: &str) -> (broker::testkit::TempDir, Option<i32>, String) {
    let dir = broker::testkit::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("config")).unwrap();
    std::fs::create_dir_all(d.join("content")).unwrap();
    std::fs::write(
        d.join("config/instance.yaml"),
        format!(
            "instance:\n  name: Regression\ndata_source:\n  type: csv\n  csv:\n    folder: {}\n",
            repo().join("tests/data/csv").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("content/data_description.md"),
        format!("```yaml\ntables:\n  - id: cases.t\n    name: t\n    description: {case}\n    sync_strategy: full_refresh\n    file: {case}\n```\n"),
    )
    .unwrap();
    let out = build(d);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    (dir, out.status.code(), err)
}

fn parquet(dir: &Path) -> PathBuf {
    dir.join("public/data/cases/t.parquet")
}

/// `DESCRIBE` of the Parquet file: (column, DuckDB type).
fn schema(dir: &Path) -> Vec<(String, String)> {
    let c = duckdb::Connection::open_in_memory().unwrap();
    let mut s = c
        .prepare(&format!(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{}'))",
            parquet(dir).display()
        ))
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Column `col` as text (NULL → None), in file order.
fn column(dir: &Path, col: &str) -> Vec<Option<String>> {
    let c = duckdb::Connection::open_in_memory().unwrap();
    let mut s = c
        .prepare(&format!(
            "SELECT CAST(\"{col}\" AS VARCHAR) FROM read_parquet('{}')",
            parquet(dir).display()
        ))
        .unwrap();
    s.query_map([], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

fn profile_column(dir: &Path, col: &str) -> serde_json::Value {
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("public/tables/t.json")).unwrap())
            .unwrap();
    fn find(v: &serde_json::Value, col: &str) -> Option<serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => {
                if m.get("name").and_then(|n| n.as_str()) == Some(col)
                    && m.contains_key("null_count")
                {
                    return Some(v.clone());
                }
                m.values().find_map(|x| find(x, col))
            }
            serde_json::Value::Array(a) => a.iter().find_map(|x| find(x, col)),
            _ => None,
        }
    }
    find(&p, col).unwrap_or_else(|| panic!("no profile of {col}"))
}

#[test]
fn case_01_utf8_bom_quoted_header() {
    let (dir, code, err) = build_case("01-utf8-bom-quoted-header.csv");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        schema(dir.path()),
        vec![
            ("order_id".to_string(), "BIGINT".to_string()),
            ("customer".to_string(), "VARCHAR".to_string()),
            ("amount".to_string(), "DOUBLE".to_string()),
        ]
    );
    assert_eq!(
        column(dir.path(), "customer"),
        some(&["Novak, Jana", "Dvořák", "O'Neil"])
    );
    assert_eq!(column(dir.path(), "amount"), some(&["12.5", "7.0", "0.99"]));
}

#[test]
fn case_03_quoted_newlines_doubled_quotes() {
    let (dir, code, err) = build_case("03-quoted-newlines-doubled-quotes.csv");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        column(dir.path(), "title"),
        some(&["Meeting \"Q3\" review", "Plain", "\"", "Backslash \\ stays"])
    );
    assert_eq!(
        column(dir.path(), "comment"),
        some(&[
            "First line\nsecond line",
            "He said \"hi\", then left",
            "Ends with newline\n",
            "C:\\temp\\new"
        ])
    );
}

#[test]
fn case_07_late_text_after_1500_ints() {
    let (dir, code, err) = build_case("07-late-text-after-1500-ints.csv");
    assert_eq!(code, Some(0), "{err}");
    let types: Vec<String> = schema(dir.path()).into_iter().map(|(_, t)| t).collect();
    assert_eq!(types, vec!["BIGINT", "VARCHAR", "DOUBLE", "BIGINT"]);
    let code_col = column(dir.path(), "code");
    assert_eq!(code_col.len(), 1505);
    assert_eq!(code_col[0].as_deref(), Some("100001"));
    assert_eq!(code_col[1500].as_deref(), Some("X1501"));
    let weight = column(dir.path(), "weight");
    assert_eq!(weight[1502].as_deref(), Some("2.75"));
    assert_eq!(weight[0].as_deref(), Some("2.0"));
}

#[test]
fn case_09_leading_zero_codes() {
    let (dir, code, err) = build_case("09-leading-zero-codes.csv");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        column(dir.path(), "zip"),
        some(&["04017", "00714", "10001"])
    );
    assert_eq!(
        column(dir.path(), "istat_code"),
        some(&["0415", "073002", "1234"])
    );
    assert_eq!(column(dir.path(), "agent"), some(&["007", "042", "100"]));
    let types: Vec<String> = schema(dir.path()).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        types,
        vec!["VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT"]
    );
    assert_eq!(column(dir.path(), "floor"), some(&["0", "1", "-1"]));
}

#[test]
fn case_10_boolean_spellings() {
    let (dir, code, err) = build_case("10-boolean-spellings.csv");
    assert_eq!(code, Some(0), "{err}");
    let s = schema(dir.path());
    let ty = |n: &str| s.iter().find(|(c, _)| c == n).unwrap().1.clone();
    for c in [
        "flag_lower",
        "flag_upper",
        "flag_title",
        "flag_quoted",
        "flag_tf",
    ] {
        assert_eq!(ty(c), "BOOLEAN", "{c}");
    }
    assert_eq!(ty("flag_01"), "BIGINT");
    assert_eq!(ty("flag_yn"), "VARCHAR");
    assert_eq!(
        column(dir.path(), "flag_upper"),
        some(&["true", "false", "false", "true"])
    );
    let p = profile_column(dir.path(), "flag_lower");
    assert_eq!(p["boolean"]["true_count"], 2);
    assert_eq!(p["boolean"]["false_count"], 2);
    assert_eq!(p["null_count"], 0);
}

#[test]
fn case_13_empty_string_vs_null() {
    let (dir, code, err) = build_case("13-empty-string-vs-null.csv");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        column(dir.path(), "nickname"),
        vec![Some(String::new()), None, Some("Bob".into())]
    );
    assert_eq!(
        column(dir.path(), "comment"),
        vec![Some("ok".into()), None, Some(String::new())]
    );
    assert_eq!(
        column(dir.path(), "score"),
        vec![Some("10".into()), None, Some("7".into())]
    );
    let p = profile_column(dir.path(), "nickname");
    assert_eq!(p["null_count"], 1);
    assert_eq!(p["string"]["empty_count"], 1);
}

#[test]
fn case_14_all_empty_columns() {
    let (dir, code, err) = build_case("14-all-empty-columns.csv");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(column(dir.path(), "fax"), vec![None, None, None]);
    let p = profile_column(dir.path(), "fax");
    assert_eq!(p["null_count"], 3);
    assert_eq!(p["distinct_count"], 0);
    assert!(p["min"].is_null() && p["max"].is_null());
    let page = std::fs::read_to_string(dir.path().join("public/tables/t.html")).unwrap();
    assert!(!page.contains("NaN"), "NaN on the page");
}

#[test]
fn case_15_duplicate_and_empty_headers() {
    let (dir, code, err) = build_case("15-duplicate-and-empty-headers.csv");
    assert_eq!(code, Some(0), "{err}");
    let names: Vec<String> = schema(dir.path()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        vec!["id", "name", "name_3", "column_4", "amount", "name_2"]
    );
    assert_eq!(column(dir.path(), "name_3"), some(&["Anička", "Bobík"]));
    assert_eq!(column(dir.path(), "column_4"), some(&["x", "y"]));
    assert_eq!(column(dir.path(), "name_2"), some(&["src-a", "src-b"]));
}

#[test]
fn case_17_ragged_rows_are_an_error_with_the_line() {
    let (dir, code, err) = build_case("17-ragged-rows.csv");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("17-ragged-rows.csv:3: row has 2 fields, the header has 3"),
        "{err}"
    );
    assert!(!parquet(dir.path()).exists());
}

#[test]
fn case_25_empty_file_is_an_error() {
    let (dir, code, err) = build_case("25-empty-file.csv");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("25-empty-file.csv: the file is empty"),
        "{err}"
    );
    assert!(!parquet(dir.path()).exists());
}

//! One test per CSV bug report of the field (`tests/data/csv/`, described in its EXPECTED.md),
//! named after the case: the file goes through `broker build` as a user's table would, and the
//! Parquet file is read back with DuckDB.

mod common;

use std::path::{Path, PathBuf};

use arrow::datatypes::{DataType, TimeUnit};

use common::*;

/// Build an instance whose only table `t` is the test file; returns (instance, exit code, stderr).
fn build_case(case: &str) -> (broker::testkit::TempDir, Option<i32>, String) {
    build_case_with(case, "")
}

/// [`build_case`] with more YAML for the table entry (`    csv: {...}`, indented 4 spaces).
fn build_case_with(case: &str, extra: &str) -> (broker::testkit::TempDir, Option<i32>, String) {
    let dir = broker::testkit::tempdir().unwrap();
    let folder = repo().join("tests/data/csv");
    build_table(dir, &folder, case, extra)
}

/// Build an instance in `dir` whose CSV folder is `folder` and whose only table `t` reads
/// `file` with `extra` YAML; returns (instance, exit code, stderr).
fn build_table(
    dir: broker::testkit::TempDir,
    folder: &Path,
    file: &str,
    extra: &str,
) -> (broker::testkit::TempDir, Option<i32>, String) {
    let d = dir.path();
    std::fs::create_dir_all(d.join("config")).unwrap();
    std::fs::create_dir_all(d.join("content")).unwrap();
    std::fs::write(
        d.join("config/instance.yaml"),
        format!(
            "instance:\n  name: Regression\ndata_source:\n  type: csv\n  csv:\n    folder: {}\n",
            folder.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("content/data_description.md"),
        format!("```yaml\ntables:\n  - id: cases.t\n    name: t\n    description: {file}\n    sync_strategy: full_refresh\n    file: {file}\n{extra}```\n"),
    )
    .unwrap();
    let out = build(d);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    (dir, out.status.code(), err)
}

/// Build table `t` from a CSV file with the given bytes (named `file`) and `extra` YAML.
fn build_bytes(
    file: &str,
    bytes: &[u8],
    extra: &str,
) -> (broker::testkit::TempDir, Option<i32>, String) {
    let dir = broker::testkit::tempdir().unwrap();
    let folder = dir.path().join("csv");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(file), bytes).unwrap();
    build_table(dir, &folder, file, extra)
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
    values(dir, &format!("\"{col}\""))
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

/// Case 15's kind, with names that differ only in case: DuckDB resolves `Email` and `email` as
/// one name (a view over the file calls the second `email_1`), so the catalog must not publish
/// both as they are.
#[test]
fn case_15_headers_differing_only_in_case() {
    let (dir, code, err) = build_bytes("t.csv", b"id,Email,email\n1,a@x.cz,b@y.cz\n", "");
    assert_eq!(code, Some(0), "{err}");
    let names: Vec<String> = schema(dir.path()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["id", "Email", "email_2"]);
    assert_eq!(column(dir.path(), "email_2"), some(&["b@y.cz"]));
    assert!(
        err.contains("column `email` is published as `email_2`: another column has the same name, ignoring case"),
        "{err}"
    );
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

/// The Arrow schema of the Parquet file as arrow-rs reads it back: (field, type).
fn arrow_schema(dir: &Path) -> Vec<(String, arrow::datatypes::DataType)> {
    let file = std::fs::File::open(parquet(dir)).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

/// `expr` over the Parquet file's rows as text (NULL → None), in file order.
fn values(dir: &Path, expr: &str) -> Vec<Option<String>> {
    let c = duckdb::Connection::open_in_memory().unwrap();
    let mut s = c
        .prepare(&format!(
            "SELECT CAST({expr} AS VARCHAR) FROM read_parquet('{}')",
            parquet(dir).display()
        ))
        .unwrap();
    s.query_map([], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn table_page(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("public/tables/t.html")).unwrap()
}

fn types(v: &[(&str, arrow::datatypes::DataType)]) -> Vec<(String, arrow::datatypes::DataType)> {
    v.iter().map(|(n, t)| (n.to_string(), t.clone())).collect()
}

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn wall_clock() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn assert_case_04(dir: &Path) {
    assert_eq!(
        arrow_schema(dir),
        types(&[
            ("produkt", DataType::Utf8),
            ("menge", DataType::Int64),
            ("preis", DataType::Float64),
            ("datum", DataType::Date32),
        ])
    );
    assert_eq!(
        column(dir, "produkt"),
        some(&["Äpfel", "Birnen", "Kirschen"])
    );
    assert_eq!(column(dir, "menge"), some(&["3", "12", "1"]));
    assert_eq!(column(dir, "preis"), some(&["1.29", "0.5", "12.0"]));
    assert_eq!(
        column(dir, "datum"),
        some(&["2024-02-03", "2024-02-15", "2024-02-29"])
    );
}

#[test]
fn case_04_semicolon_decimal_comma() {
    // No configuration: `;` detected, decimal comma and day-first dates recognised.
    let (dir, code, err) = build_case("04-semicolon-decimal-comma.csv");
    assert_eq!(code, Some(0), "{err}");
    assert_case_04(dir.path());
    let page = table_page(dir.path());
    assert!(page.contains("detected delimiter &quot;;&quot;"), "source");
    assert!(page.contains("decimal comma (1,5 read as 1.5)"), "note");
    assert!(page.contains("day-first dates (dd.mm.yyyy)"), "note");
    // Configured: the same result.
    let (dir, code, err) = build_case_with(
        "04-semicolon-decimal-comma.csv",
        "    csv: {delimiter: \";\", decimal: \",\", date_format: \"%d.%m.%Y\"}\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_case_04(dir.path());
    // Declared (read once, no inference): the form comes from the values too.
    let (dir, code, err) = build_case_with(
        "04-semicolon-decimal-comma.csv",
        "    columns:\n      - {name: produkt, type: string}\n      - {name: menge, type: int64}\n      - {name: preis, type: float64}\n      - {name: datum, type: date}\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_case_04(dir.path());
}

#[test]
fn case_12_timestamps_offsets() {
    let (dir, code, err) = build_case("12-timestamps-offsets.csv");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        arrow_schema(dir.path()),
        types(&[
            ("reading_id", DataType::Int64),
            ("measured_at", utc()),
            ("local_naive", wall_clock()),
            ("epoch_s", DataType::Int64),
        ])
    );
    // The bundled DuckDB has no ICU: a TIMESTAMPTZ cast to TIMESTAMP is its UTC time.
    assert_eq!(
        values(dir.path(), "CAST(measured_at AS TIMESTAMP)"),
        some(&[
            "2021-06-30 06:15:42.123456",
            "2020-12-31 23:00:00",
            "2021-01-01 06:30:00",
            "2021-03-27 20:29:59",
        ])
    );
    // Oracle: floor(seconds since the epoch) == epoch_s.
    assert_eq!(
        values(
            dir.path(),
            "CAST(floor(epoch(CAST(measured_at AS TIMESTAMP))) AS BIGINT) = epoch_s"
        ),
        some(&["true", "true", "true", "true"])
    );
    // Wall clock: as written, never shifted (the last value is one second before the EU DST
    // jump).
    assert_eq!(
        column(dir.path(), "local_naive"),
        some(&[
            "2021-06-30 08:15:42",
            "2021-01-01 00:00:00",
            "2021-01-01 06:30:00",
            "2021-03-28 01:59:59",
        ])
    );
    assert_eq!(
        column(dir.path(), "epoch_s"),
        some(&["1625033742", "1609455600", "1609482600", "1616876999"])
    );
    assert_eq!(
        schema(dir.path())[1..3],
        [
            (
                "measured_at".to_string(),
                "TIMESTAMP WITH TIME ZONE".to_string()
            ),
            ("local_naive".to_string(), "TIMESTAMP".to_string()),
        ]
    );
    // The catalog states each timestamp's meaning; the profile shows instants in UTC and wall
    // clocks without a zone.
    let page = table_page(dir.path());
    assert!(page.contains("instant, in UTC"), "meaning of measured_at");
    assert!(
        page.contains("wall-clock time, no time zone"),
        "meaning of local_naive"
    );
    let p = profile_column(dir.path(), "measured_at");
    assert_eq!(p["type"], "timestamptz");
    assert_eq!(p["min"], "2020-12-31T23:00:00Z");
    let p = profile_column(dir.path(), "local_naive");
    assert_eq!(p["type"], "timestamp");
    assert_eq!(p["max"], "2021-06-30T08:15:42");
}

#[test]
fn case_20_windows_1252_is_an_error_naming_line_byte_and_encoding_by_default() {
    let (dir, code, err) = build_case("20-windows-1252.csv");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "20-windows-1252.csv:2: column `supplier`: invalid UTF-8 byte 0xE9 at byte offset 27"
        ),
        "{err}"
    );
    assert!(err.contains("csv: {encoding: windows-1252}"), "{err}");
    assert!(!parquet(dir.path()).exists());
}

#[test]
fn case_20_windows_1252_decoded_when_configured() {
    let (dir, code, err) =
        build_case_with("20-windows-1252.csv", "    csv: {encoding: windows-1252}\n");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        arrow_schema(dir.path()),
        types(&[
            ("supplier", DataType::Utf8),
            ("note", DataType::Utf8),
            ("price_eur", DataType::Utf8),
        ])
    );
    assert_eq!(
        column(dir.path(), "supplier"),
        some(&["Café Müller", "Señor Niño", "Œuvre S.A."])
    );
    assert_eq!(
        column(dir.path(), "note"),
        some(&["Lieferung – pünktlich", "Qualität \"gut\"", "naïve façade"])
    );
    assert_eq!(column(dir.path(), "price_eur"), some(&["€12", "€7", "€0"]));
    assert!(table_page(dir.path()).contains("encoding windows-1252"));
}

#[test]
fn case_24_header_only() {
    let (dir, code, err) = build_case("24-header-only.csv");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        arrow_schema(dir.path()),
        types(&[
            ("id", DataType::Utf8),
            ("name", DataType::Utf8),
            ("created_at", DataType::Utf8),
        ])
    );
    assert!(column(dir.path(), "id").is_empty());
    let profiles = std::fs::read_to_string(dir.path().join("public/meta/profiles.json")).unwrap();
    assert!(!profiles.contains("NaN"), "NaN in profiles.json");
    let p: serde_json::Value = serde_json::from_str(&profiles).unwrap();
    assert_eq!(p["tables"]["t"]["row_count"], 0);
    for c in ["id", "name", "created_at"] {
        let col = profile_column(dir.path(), c);
        assert_eq!(col["null_count"], 0, "{c}");
        assert_eq!(col["distinct_count"], 0, "{c}");
        assert!(col["null_pct"].is_null(), "{c}");
    }
    let page = table_page(dir.path());
    assert!(!page.contains("NaN"), "NaN on the table page");
    assert!(page.contains("no values to infer a type from: read as text"));
}

#[test]
fn case_27_keboola_sliced() {
    let (dir, code, err) = build_case("27-keboola-sliced");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        arrow_schema(dir.path()),
        types(&[
            ("id", DataType::Int64),
            ("customer", DataType::Utf8),
            ("note", DataType::Utf8),
            ("total", DataType::Float64),
        ])
    );
    assert_eq!(column(dir.path(), "id"), some(&["1", "2", "3", "4", "5"]));
    assert_eq!(
        column(dir.path(), "customer"),
        some(&["Acme, s.r.o.", "Beta", "Gamma", "Delta", "Epsilon"])
    );
    assert_eq!(
        column(dir.path(), "note"),
        vec![
            Some("first\nline".into()),
            None,
            Some("said \"ok\"".into()),
            Some("x".into()),
            Some("y".into())
        ]
    );
    assert_eq!(
        column(dir.path(), "total"),
        vec![
            Some("10.5".into()),
            Some("20.0".into()),
            Some("30.25".into()),
            None,
            Some("50.0".into())
        ]
    );
    assert!(table_page(dir.path()).contains("Keboola sliced export, 3 slices"));
}

// The kinds behind the cases, on files made here.

#[test]
fn tab_and_pipe_delimiters_are_detected_and_ambiguous_files_stay_comma() {
    let (dir, code, err) = build_bytes("tab.csv", b"name\tprice\n\"a\tb\"\t2,5\nc\t3\n", "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        arrow_schema(dir.path()),
        types(&[("name", DataType::Utf8), ("price", DataType::Float64)])
    );
    assert_eq!(column(dir.path(), "name"), some(&["a\tb", "c"]));
    assert_eq!(column(dir.path(), "price"), some(&["2.5", "3.0"]));
    let (dir, code, err) = build_bytes("pipe.csv", b"a|b\n\"x|y\"|1\n", "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(column(dir.path(), "a"), some(&["x|y"]));
    // `,` and `;` both split every line in two: ambiguous, so the default `,`; and with a
    // comma delimiter `1,5` is never a decimal comma.
    let (dir, code, err) = build_bytes("amb.csv", b"a;b,c\n1;2,3\n", "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        arrow_schema(dir.path()),
        types(&[("a;b", DataType::Utf8), ("c", DataType::Int64)])
    );
    assert_eq!(column(dir.path(), "a;b"), some(&["1;2"]));
}

#[test]
fn slash_dates_are_decided_over_the_whole_column_and_invalid_dates_are_text() {
    let csv = b"dmy,mdy,both,feb30\n01/02/2024,01/02/2024,01/02/2024,30.02.2024\n13/02/2024,02/13/2024,03/04/2024,01.03.2024\n";
    let (dir, code, err) = build_bytes("d.csv", csv, "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        arrow_schema(dir.path()),
        types(&[
            ("dmy", DataType::Date32),
            ("mdy", DataType::Date32),
            ("both", DataType::Utf8),
            ("feb30", DataType::Utf8),
        ])
    );
    assert_eq!(
        column(dir.path(), "dmy"),
        some(&["2024-02-01", "2024-02-13"])
    );
    assert_eq!(
        column(dir.path(), "mdy"),
        some(&["2024-01-02", "2024-02-13"])
    );
    assert_eq!(
        column(dir.path(), "both"),
        some(&["01/02/2024", "03/04/2024"])
    );
    let page = table_page(dir.path());
    assert!(page.contains("month-first dates (mm/dd/yyyy)"));
    assert!(page.contains("read both day-first and month-first"));
    // date_format decides the ambiguous column (and replaces the guesses).
    let (dir, code, err) = build_bytes("d.csv", csv, "    csv: {date_format: \"%d/%m/%Y\"}\n");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        column(dir.path(), "both"),
        some(&["2024-02-01", "2024-04-03"])
    );
    let s = arrow_schema(dir.path());
    assert_eq!(s[1], ("mdy".to_string(), DataType::Utf8));
    // A declared date that is not a calendar date is an error naming line and value.
    let (dir, code, err) = build_bytes(
        "d.csv",
        csv,
        "    columns:\n      - {name: feb30, type: date}\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("d.csv:2: column `feb30`: value `30.02.2024` is not a valid date"),
        "{err}"
    );
    assert!(!parquet(dir.path()).exists());
    // A declared date column keeps the form of its first value.
    let (_dir, code, err) = build_bytes(
        "d.csv",
        b"day\n03.02.2024\n2024-02-05\n",
        "    columns:\n      - {name: day, type: date}\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("d.csv:3: column `day`: value `2024-02-05` is not a valid date (the column's dates are written dd.mm.yyyy"),
        "{err}"
    );
    // a/b/yyyy is not guessed for a declared column: the message says how to set the form.
    let (_dir, code, err) = build_bytes(
        "d.csv",
        b"day\n01/02/2024\n",
        "    columns:\n      - {name: day, type: date}\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("date_format: \"%d/%m/%Y\""), "{err}");
}

#[test]
fn declared_timestamp_types_wall_clock_refuses_zones_instant_reads_naive_as_utc() {
    let csv = b"id,at\n1,2024-03-01 10:00:00\n2,2024-03-01 10:00:00+01:00\n";
    let (dir, code, err) = build_bytes(
        "ts.csv",
        csv,
        "    columns:\n      - {name: at, type: timestamp}\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("ts.csv:3: column `at`: value `2024-03-01 10:00:00+01:00` is not a valid timestamp: it has a time zone"),
        "{err}"
    );
    assert!(!parquet(dir.path()).exists());
    let (dir, code, err) = build_bytes(
        "ts.csv",
        csv,
        "    columns:\n      - {name: at, type: timestamptz}\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(arrow_schema(dir.path())[1], ("at".to_string(), utc()));
    assert_eq!(
        values(dir.path(), "CAST(\"at\" AS TIMESTAMP)"),
        some(&["2024-03-01 10:00:00", "2024-03-01 09:00:00"])
    );
    // Inferred: a column mixing the two is text, and the catalog says why.
    let (dir, code, err) = build_bytes("ts.csv", csv, "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        arrow_schema(dir.path())[1],
        ("at".to_string(), DataType::Utf8)
    );
    assert!(table_page(dir.path()).contains("mixes timestamps with and without a time zone"));
}

#[test]
fn null_values_make_unquoted_tokens_null_and_never_quoted_ones() {
    let (dir, code, err) = build_case_with(
        "10-boolean-spellings.csv",
        "    csv: {null_values: [\"NULL\"]}\n",
    );
    assert_eq!(code, Some(0), "{err}");
    let s = arrow_schema(dir.path());
    let ty = |n: &str| s.iter().find(|(c, _)| c == n).unwrap().1.clone();
    assert_eq!(ty("flag_with_nulls"), DataType::Boolean);
    assert_eq!(
        column(dir.path(), "flag_with_nulls"),
        vec![Some("true".into()), None, None, Some("false".into())]
    );
    let (dir, code, err) = build_bytes(
        "n.csv",
        b"id,v,w\n1,NA,\"NA\"\n2,5,x\n",
        "    csv: {null_values: [NA]}\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        arrow_schema(dir.path()),
        types(&[
            ("id", DataType::Int64),
            ("v", DataType::Int64),
            ("w", DataType::Utf8),
        ])
    );
    assert_eq!(column(dir.path(), "v"), vec![None, Some("5".into())]);
    assert_eq!(column(dir.path(), "w"), some(&["NA", "x"]));
}

#[test]
fn an_invalid_sequence_in_a_configured_encoding_is_an_error_with_line_and_offset() {
    // UTF-16LE "id\nx\n" with a lone low surrogate (0xDC00) on line 2.
    let bytes = b"i\x00d\x00\n\x00x\x00\x00\xdc\n\x00";
    let (dir, code, err) = build_bytes("u16.csv", bytes, "    csv: {encoding: utf-16le}\n");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("u16.csv:2: bytes 0x00 0xDC at byte offset 8 are not valid UTF-16LE"),
        "{err}"
    );
    assert!(!parquet(dir.path()).exists());
}

#[test]
fn gzip_is_recognised_by_its_bytes_and_a_broken_slice_manifest_is_an_error() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"a,b\n1,x\n").unwrap();
    let (dir, code, err) = build_bytes("packed.csv", &gz.finish().unwrap(), "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(column(dir.path(), "b"), some(&["x"]));
    // A sliced export whose manifest names a slice that is not there.
    let dir = broker::testkit::tempdir().unwrap();
    let export = dir.path().join("csv/export");
    std::fs::create_dir_all(&export).unwrap();
    std::fs::write(
        export.join("manifest.json"),
        r#"{"entries":[{"url":"s3://bucket/exp/slice_0"}]}"#,
    )
    .unwrap();
    std::fs::write(export.join("table.json"), r#"{"columns":["id"]}"#).unwrap();
    let folder = dir.path().join("csv");
    let (dir, code, err) = build_table(dir, &folder, "export", "");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("manifest.json: entry 1: slice"), "{err}");
    assert!(err.contains("slice_0` not found"), "{err}");
    assert!(!parquet(dir.path()).exists());
}

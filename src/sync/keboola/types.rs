//! Keboola table detail (`GET /v2/storage/tables/{id}`) and the mapping of its column types to
//! ours (`keboola-jira-api.md` §A2, §A6).
//!
//! A column's type comes from, in order: a `user` value of `KBC.datatype.basetype` in the
//! column metadata (users override what Storage says), the typed table's `definition`
//! (`basetype` and `length`), any other provider's `KBC.datatype.basetype` (the newest), else
//! STRING. Base types map as INTEGER → int64 (Snowflake reports it as NUMBER(38,0); a value
//! beyond int64 fails the table, and `type: decimal(38,0)` in data_description.md keeps it),
//! NUMERIC(p,s) → decimal(p,s) (no length: Snowflake's default decimal(38,9)),
//! FLOAT → float64, BOOLEAN → boolean, DATE → date, TIMESTAMP → timestamptz (Storage exports
//! timestamps without an offset, in UTC), STRING and anything unknown → string.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::content::{ColumnType, MAX_DECIMAL_PRECISION};

/// One metadata entry (`{key, value, provider, timestamp}`); values are always strings.
#[derive(Debug, Clone, Deserialize)]
pub struct MetadataEntry {
    /// `KBC.description`, `KBC.datatype.basetype`, …
    pub key: String,
    /// The value (a string; `null` read as empty).
    #[serde(default, deserialize_with = "string_or_null")]
    pub value: String,
    /// `user`, `storage`, a component id.
    #[serde(default, deserialize_with = "string_or_null")]
    pub provider: String,
    /// ISO 8601 with offset; compared as text (same format throughout one answer).
    #[serde(default, deserialize_with = "string_or_null")]
    pub timestamp: String,
}

fn string_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// `columnMetadata`: a map from column to entries, or `[]` when empty (PHP's empty array).
fn column_metadata<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Vec<MetadataEntry>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| {
                serde_json::from_value(v)
                    .map(|e| (k, e))
                    .map_err(serde::de::Error::custom)
            })
            .collect(),
        _ => Ok(BTreeMap::new()),
    }
}

/// A typed column's definition (`{type, nullable, length}`); seen omitted, `null`, `[]`, `{}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ColumnDefinition {
    /// Native type (`NUMBER`, `VARCHAR`, `TIMESTAMP_NTZ`).
    #[serde(default, rename = "type")]
    pub native_type: Option<String>,
    /// `"38,9"`, `"255"` or a number.
    #[serde(default)]
    pub length: Option<Value>,
}

/// One column of a typed table's `definition`.
#[derive(Debug, Clone, Deserialize)]
pub struct DefinitionColumn {
    /// Column name.
    pub name: String,
    /// The definition (tolerant of the empty forms).
    #[serde(default, deserialize_with = "definition_or_empty")]
    pub definition: ColumnDefinition,
    /// Base type (`INTEGER`, `NUMERIC`, …).
    #[serde(default)]
    pub basetype: Option<String>,
}

fn definition_or_empty<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<ColumnDefinition, D::Error> {
    match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v).map_err(serde::de::Error::custom),
        _ => Ok(ColumnDefinition::default()),
    }
}

/// A typed table's `definition`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Definition {
    /// Its columns.
    #[serde(default)]
    pub columns: Vec<DefinitionColumn>,
}

/// The table detail fields the connector uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableDetail {
    /// `in.c-shop.orders`.
    pub id: String,
    /// `orders`.
    #[serde(default)]
    pub name: String,
    /// Columns in the table's (and the export files') order.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Primary key columns.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Whether the table has native types.
    #[serde(default)]
    pub is_typed: bool,
    /// Typed tables only.
    #[serde(default)]
    pub definition: Option<Definition>,
    /// Table metadata (`KBC.description`).
    #[serde(default, deserialize_with = "entries_or_empty")]
    pub metadata: Vec<MetadataEntry>,
    /// Per-column metadata.
    #[serde(default, deserialize_with = "column_metadata")]
    pub column_metadata: BTreeMap<String, Vec<MetadataEntry>>,
    /// Rows (may be null).
    #[serde(default)]
    pub rows_count: Option<u64>,
    /// Bucket, for `folder_mapping`.
    #[serde(default)]
    pub bucket: Option<Bucket>,
}

/// The embedded bucket of a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// `in.c-shop`.
    pub id: String,
    /// `shop`.
    #[serde(default)]
    pub display_name: String,
}

fn entries_or_empty<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<MetadataEntry>, D::Error> {
    match Value::deserialize(d)? {
        v @ Value::Array(_) => serde_json::from_value(v).map_err(serde::de::Error::custom),
        _ => Ok(Vec::new()),
    }
}

/// The value of metadata `key` among `entries`: provider `user` first, else the newest entry
/// of a provider other than `storage`, else `storage`'s. `None` when absent or empty.
pub fn preferred<'a>(entries: &'a [MetadataEntry], key: &str) -> Option<&'a MetadataEntry> {
    let of_key = entries
        .iter()
        .filter(|e| e.key == key && !e.value.is_empty());
    let rank = |e: &MetadataEntry| match e.provider.as_str() {
        "user" => 2,
        "storage" => 0,
        _ => 1,
    };
    of_key.max_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.timestamp.cmp(&b.timestamp))
    })
}

/// A column's resolved type and where it came from (`user metadata`, `definition`,
/// `<provider> metadata`, `untyped`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedType {
    /// Our type.
    pub column_type: ColumnType,
    /// The Keboola type it came from, as the catalog notes it (`NUMERIC(38,9)`).
    pub keboola: String,
    /// Whence.
    pub source: String,
}

/// Our type of a base type with a `length` (`"38,9"`, `"255"`, 20). `None` length for NUMERIC
/// means (38,9).
pub fn map_base_type(base: &str, length: Option<&str>) -> ColumnType {
    let (p, s) = match length.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => {
            let mut it = l.split(',').map(|x| x.trim().parse::<u32>().ok());
            (it.next().flatten(), it.next().flatten())
        }
        None => (None, None),
    };
    match base.trim().to_ascii_uppercase().as_str() {
        "INTEGER" => ColumnType::Int64,
        "NUMERIC" => match p {
            Some(p) if (1..=u32::from(MAX_DECIMAL_PRECISION)).contains(&p) => {
                let s = s.unwrap_or(0).min(p);
                ColumnType::Decimal {
                    precision: p as u8,
                    scale: s as i8,
                }
            }
            // Wider than Decimal128 (field-pitfalls A2): exact as text.
            Some(_) => ColumnType::String,
            None => ColumnType::Decimal {
                precision: 38,
                scale: 9,
            },
        },
        "FLOAT" => ColumnType::Float64,
        "BOOLEAN" => ColumnType::Boolean,
        "DATE" => ColumnType::Date,
        "TIMESTAMP" => ColumnType::Timestamptz,
        _ => ColumnType::String,
    }
}

fn length_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn shown(base: &str, length: Option<&str>) -> String {
    match length.filter(|l| !l.is_empty()) {
        Some(l) if base.eq_ignore_ascii_case("NUMERIC") || base.eq_ignore_ascii_case("INTEGER") => {
            format!("{}({l})", base.to_ascii_uppercase())
        }
        _ => base.to_ascii_uppercase(),
    }
}

/// The type of `column` of `table` (see the module's rules).
pub fn resolve(table: &TableDetail, column: &str) -> ResolvedType {
    let meta = table
        .column_metadata
        .get(column)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let meta_length = preferred(meta, "KBC.datatype.length").map(|e| e.value.as_str());
    let from_meta = |e: &MetadataEntry| {
        let length = meta
            .iter()
            .filter(|l| l.key == "KBC.datatype.length" && l.provider == e.provider)
            .map(|l| l.value.as_str())
            .next()
            .or(meta_length);
        ResolvedType {
            column_type: map_base_type(&e.value, length),
            keboola: shown(&e.value, length),
            source: format!("{} metadata", e.provider),
        }
    };
    let base = preferred(meta, "KBC.datatype.basetype");
    if let Some(e) = base.filter(|e| e.provider == "user") {
        return from_meta(e);
    }
    if let Some(c) = table
        .definition
        .as_ref()
        .and_then(|d| d.columns.iter().find(|c| c.name == column))
    {
        if let Some(b) = &c.basetype {
            let length = c.definition.length.as_ref().and_then(length_text);
            return ResolvedType {
                column_type: map_base_type(b, length.as_deref()),
                keboola: shown(b, length.as_deref()),
                source: "definition".into(),
            };
        }
    }
    match base {
        Some(e) => from_meta(e),
        None => ResolvedType {
            column_type: ColumnType::String,
            keboola: "STRING".into(),
            source: if table.is_typed {
                "definition".into()
            } else {
                "untyped".into()
            },
        },
    }
}

/// A column's description (`KBC.description`, `user` first), if any.
pub fn column_description(table: &TableDetail, column: &str) -> Option<String> {
    let meta = table.column_metadata.get(column)?;
    preferred(meta, "KBC.description").map(|e| e.value.clone())
}

/// The table's description (`KBC.description`), if any.
pub fn table_description(table: &TableDetail) -> Option<String> {
    preferred(&table.metadata, "KBC.description").map(|e| e.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_types_map_with_their_lengths() {
        let d = |p, s| ColumnType::Decimal {
            precision: p,
            scale: s,
        };
        assert_eq!(map_base_type("INTEGER", Some("38,0")), ColumnType::Int64);
        assert_eq!(map_base_type("INTEGER", None), ColumnType::Int64);
        assert_eq!(map_base_type("NUMERIC", Some("12,2")), d(12, 2));
        assert_eq!(map_base_type("NUMERIC", None), d(38, 9));
        assert_eq!(map_base_type("NUMERIC", Some("76,2")), ColumnType::String);
        assert_eq!(map_base_type("FLOAT", None), ColumnType::Float64);
        assert_eq!(
            map_base_type("TIMESTAMP", Some("9")),
            ColumnType::Timestamptz
        );
        assert_eq!(map_base_type("GEOGRAPHY", None), ColumnType::String);
    }

    #[test]
    fn user_metadata_wins_over_the_definition_and_storage() {
        let t: TableDetail = serde_json::from_str(
            r#"{"id":"in.c-a.t","columns":["a","b","c"],"isTyped":true,
            "definition":{"columns":[{"name":"a","definition":{"type":"NUMBER","length":"38,0"},"basetype":"INTEGER"},
                                     {"name":"b","definition":[],"basetype":"STRING"}]},
            "metadata":[],
            "columnMetadata":{"a":[{"key":"KBC.datatype.basetype","value":"STRING","provider":"user","timestamp":"2025"},
                                   {"key":"KBC.datatype.basetype","value":"INTEGER","provider":"storage","timestamp":"2024"}],
                              "c":[{"key":"KBC.datatype.basetype","value":"DATE","provider":"keboola.ex-db","timestamp":"2024"},
                                   {"key":"KBC.description","value":"When","provider":"user","timestamp":"2024"}]}}"#,
        )
        .unwrap();
        assert_eq!(resolve(&t, "a").column_type, ColumnType::String);
        assert_eq!(resolve(&t, "a").source, "user metadata");
        assert_eq!(resolve(&t, "b").column_type, ColumnType::String);
        assert_eq!(resolve(&t, "c").column_type, ColumnType::Date);
        assert_eq!(column_description(&t, "c").as_deref(), Some("When"));
        let empty: TableDetail =
            serde_json::from_str(r#"{"id":"x","columnMetadata":[],"metadata":[]}"#).unwrap();
        assert!(empty.column_metadata.is_empty());
    }
}

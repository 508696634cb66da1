//! Metrics stage: every metric's `sql` and `sql_*` queries run in DuckDB (in-process) over one
//! view per table on the fresh Parquet files; the first rows of each result, or its error, are kept.

use serde::Serialize;

use crate::content::Metric;

/// Rows kept of each query result.
pub const MAX_RESULT_ROWS: usize = 100;

/// The outcome of one query of a metric.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    /// `sql` or `sql_<variant>`.
    pub key: String,
    /// Human title of the query.
    pub title: String,
    /// The SQL text as written.
    pub query: String,
    /// Column names of the result.
    pub columns: Vec<String>,
    /// DuckDB type names of the result columns.
    pub column_types: Vec<String>,
    /// First [`MAX_RESULT_ROWS`] rows; cells as JSON values (numbers stay numbers, NULL is null).
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Rows in the whole result.
    pub row_count: u64,
    /// DuckDB's error message when the query failed.
    pub error: Option<String>,
    /// Milliseconds spent (not serialised: pages and twins stay byte-identical between builds).
    #[serde(skip)]
    pub elapsed_ms: u64,
}

/// A metric with the results of all its queries.
#[derive(Debug, Clone, Serialize)]
pub struct MetricResult {
    /// The definition.
    pub metric: Metric,
    /// One per query, in `metric.queries` order.
    pub results: Vec<QueryResult>,
}

impl MetricResult {
    /// True when any query failed.
    pub fn failed(&self) -> bool {
        self.results.iter().any(|r| r.error.is_some())
    }
}

/// A table as DuckDB should see it: a view `name` over these Parquet files.
#[derive(Debug, Clone)]
pub struct TableView {
    /// View name (the table's short name).
    pub name: String,
    /// Absolute paths of the table's Parquet files.
    pub files: Vec<std::path::PathBuf>,
    /// `timestamptz` columns: UTC instants (`TIMESTAMP WITH TIME ZONE` in Parquet). Wall-clock
    /// `timestamp` columns are plain `TIMESTAMP` already and are not listed.
    pub timestamptz_columns: Vec<String>,
}

/// Quote `s` as a SQL string literal.
pub fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Quote `s` as a SQL identifier.
pub fn sql_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Open an in-memory DuckDB with extension downloads off and one view per table.
///
/// The embedded DuckDB has no ICU extension (extensions cannot be downloaded on an offline
/// server), and without it most functions on `TIMESTAMP WITH TIME ZONE` do not exist. So each
/// view exposes UTC instants (`timestamptz` columns) as plain `TIMESTAMP` holding the UTC
/// wall-clock time, next to wall-clock `timestamp` columns as they are: metric SQL
/// sees the same values an analyst sees with `SET TimeZone = 'UTC'` (which `analyst/views.sql`
/// sets).
///
/// Returns the connection and one message per view that could not be created (an unreadable
/// Parquet file: that table's metrics then fail, the others run). Errors: DuckDB cannot start.
pub fn open_views(tables: &[TableView]) -> anyhow::Result<(duckdb::Connection, Vec<String>)> {
    let conn = duckdb::Connection::open_in_memory()?;
    conn.execute_batch(
        "SET autoinstall_known_extensions = false; SET autoload_known_extensions = false;",
    )?;
    let mut errors = Vec::new();
    for t in tables {
        let files: Vec<String> = t
            .files
            .iter()
            .map(|f| sql_string(&f.to_string_lossy()))
            .collect();
        let replace = if t.timestamptz_columns.is_empty() {
            String::new()
        } else {
            let casts: Vec<String> = t
                .timestamptz_columns
                .iter()
                .map(|c| format!("CAST({0} AS TIMESTAMP) AS {0}", sql_ident(c)))
                .collect();
            format!(" REPLACE ({})", casts.join(", "))
        };
        // One unreadable table costs its own view (and the metrics over it), not the build.
        if let Err(e) = conn.execute_batch(&format!(
            "CREATE VIEW {} AS SELECT *{replace} FROM read_parquet([{}]);",
            sql_ident(&t.name),
            files.join(", ")
        )) {
            errors.push(format!("view `{}`: {e}", t.name));
        }
    }
    Ok((conn, errors))
}

fn cell(array: &dyn arrow::array::Array, row: usize) -> serde_json::Value {
    use arrow::array::AsArray;
    use arrow::datatypes::*;
    if array.is_null(row) {
        return serde_json::Value::Null;
    }
    let number = |v: f64| {
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| serde_json::Value::String(v.to_string()))
    };
    match array.data_type() {
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).into(),
        DataType::Float32 => number(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => number(array.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => array.as_boolean().value(row).into(),
        _ => {
            let options = arrow::util::display::FormatOptions::default();
            let text = arrow::util::display::ArrayFormatter::try_new(array, &options)
                .map(|f| f.value(row).to_string())
                .unwrap_or_else(|e| format!("<{e}>"));
            match array.data_type() {
                DataType::Decimal128(..) | DataType::Decimal256(..) => text
                    .parse::<f64>()
                    .map(number)
                    .unwrap_or(serde_json::Value::String(text)),
                _ => serde_json::Value::String(text),
            }
        }
    }
}

/// Run one query, keeping the first [`MAX_RESULT_ROWS`] rows. Never fails: an error is recorded.
pub fn run_query(conn: &duckdb::Connection, key: &str, title: &str, sql: &str) -> QueryResult {
    let started = std::time::Instant::now();
    let mut result = QueryResult {
        key: key.to_string(),
        title: title.to_string(),
        query: sql.to_string(),
        columns: Vec::new(),
        column_types: Vec::new(),
        rows: Vec::new(),
        row_count: 0,
        error: None,
        elapsed_ms: 0,
    };
    let outcome = (|| -> Result<(), duckdb::Error> {
        let mut stmt = conn.prepare(sql)?;
        let batches = stmt.query_arrow([])?;
        let schema = batches.get_schema();
        result.columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        result.column_types = schema
            .fields()
            .iter()
            .map(|f| f.data_type().to_string())
            .collect();
        for batch in batches {
            for row in 0..batch.num_rows() {
                if result.rows.len() < MAX_RESULT_ROWS {
                    result
                        .rows
                        .push(batch.columns().iter().map(|c| cell(c, row)).collect());
                }
            }
            result.row_count += batch.num_rows() as u64;
        }
        Ok(())
    })();
    if let Err(e) = outcome {
        result.error = Some(e.to_string());
        result.columns.clear();
        result.column_types.clear();
        result.rows.clear();
        result.row_count = 0;
    }
    result.elapsed_ms = started.elapsed().as_millis() as u64;
    result
}

/// Run every query of every metric on `conn`; results in metric order.
pub fn run_all(conn: &duckdb::Connection, metrics: &[Metric]) -> Vec<MetricResult> {
    metrics
        .iter()
        .map(|m| MetricResult {
            metric: m.clone(),
            results: m
                .queries
                .iter()
                .map(|q| run_query(conn, &q.key, &q.title, &q.query))
                .collect(),
        })
        .collect()
}

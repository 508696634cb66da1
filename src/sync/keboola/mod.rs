//! The `keboola` data source: tables of a Keboola project read through the Storage API v2
//! (`keboola-jira-api.md` Part A).
//!
//! A table is read by: its detail (`GET /v2/storage/tables/{id}`: columns, types, primary key);
//! an asynchronous export (`POST …/export-async` with `gzip`, the declared `columns`,
//! `whereFilters`, and for an incremental table `changedSince` = stored cursor − window and
//! `includeInternalTimestamp`); polling the job (`GET /v2/storage/jobs/{id}`) with backoff until
//! `success` or `error`; the file with federation credentials
//! (`GET /v2/storage/files/{id}?federationToken=1`); its manifest and every slice in manifest
//! order, fetched from S3 (SigV4-signed with the temporary credentials) or GCS (bearer token).
//! Slices have no header (the column order is the export's), may be gzip'd (several members
//! too) and are RFC 4180: an unquoted empty field is NULL, a quoted one the empty string
//! (untyped tables hold no NULL: every empty field is `""`). Rows stream into Arrow batches of
//! [`BATCH_ROWS`]: one slice is open at a time and memory does not grow with the table.

pub mod client;
pub mod sigv4;
pub mod storage;
pub mod types;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use serde::Deserialize;
use serde_json::{json, Value};

use super::csv_reader::{CsvReader, ReadError, Record};
use super::csv_source::{BatchBuilder, BATCH_ROWS};
use super::values::Reading;
use super::{arrow_type, Connector, SyncedColumn, TableStream};
use crate::content::{ColumnType, SyncStrategy, TableSpec};
use crate::state::Cursor;
use client::{ApiError, Client, RetryPolicy};
use storage::{FileDetail, SliceSource};
pub use types::TableDetail;

/// Keboola's internal column: when the row last changed, `YYYY-MM-DD HH:MM:SS` in UTC.
pub const TIMESTAMP_COLUMN: &str = "_timestamp";

/// How to reach a Keboola project.
#[derive(Debug, Clone)]
pub struct KeboolaSettings {
    /// Stack URL (`https://connection.keboola.com`).
    pub url: String,
    /// The project id the token must belong to (checked by [`KeboolaConnector::verify`]).
    pub project_id: Option<u64>,
    /// Storage API token.
    pub token: String,
    /// S3 endpoint for slices instead of `https://s3.<region>.amazonaws.com` (path style).
    pub s3_endpoint: Option<String>,
    /// GCS endpoint for slices instead of `https://storage.googleapis.com`.
    pub gcs_endpoint: Option<String>,
    /// How API and storage requests are retried.
    pub retry: RetryPolicy,
    /// How long an export job may take before the table fails.
    pub job_timeout: Duration,
    /// Longest wait between two polls of a job (the first is 100 ms, then doubling).
    pub poll_max: Duration,
}

/// The project a token belongs to (`GET /v2/storage/tokens/verify`).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    /// `owner.id`.
    pub project_id: u64,
    /// `owner.name`.
    pub project_name: String,
    /// The token's `description`.
    pub description: String,
    /// `owner.fileStorageProvider` (`aws`, `gcp`, `azure`), if given.
    pub file_storage: Option<String>,
}

/// Reads tables of one Keboola project.
pub struct KeboolaConnector {
    settings: KeboolaSettings,
    client: Client,
}

/// A number or a numeric string (Keboola sends ids both ways).
fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Job {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    status: String,
    #[serde(default)]
    results: Value,
    #[serde(default)]
    error: Option<Value>,
}

impl KeboolaConnector {
    /// A connector with `settings` (no request is made).
    pub fn new(settings: KeboolaSettings) -> KeboolaConnector {
        let client = Client::new(&settings.url, &settings.token, settings.retry);
        KeboolaConnector { settings, client }
    }

    /// Verify the token: the project it belongs to. Errors: the token is refused (401 with
    /// Keboola's code), or belongs to another project than `project_id`.
    pub fn verify(&self) -> anyhow::Result<TokenInfo> {
        let v: Value = self
            .client
            .get("tokens/verify")
            .map_err(|e| anyhow!("{}: token verification failed: {e}", self.client.base()))?;
        let owner = v.get("owner").cloned().unwrap_or(Value::Null);
        let text = |x: Option<&Value>| x.and_then(Value::as_str).unwrap_or("").to_string();
        let Some(project_id) = owner.get("id").and_then(id_of) else {
            bail!(
                "{}: the token verification answer has no owner.id",
                self.client.base()
            );
        };
        if let Some(want) = self.settings.project_id {
            if want != project_id {
                bail!(
                    "{}: the token belongs to project {project_id} ({}), not to project {want} set in the configuration",
                    self.client.base(),
                    text(owner.get("name"))
                );
            }
        }
        Ok(TokenInfo {
            project_id,
            project_name: text(owner.get("name")),
            description: text(v.get("description")),
            file_storage: owner
                .get("fileStorageProvider")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    /// Every table the token can see, with columns and metadata
    /// (`GET /v2/storage/tables?include=columns,metadata,columnMetadata`).
    pub fn list_tables(&self) -> anyhow::Result<Vec<TableDetail>> {
        self.client
            .get("tables?include=columns,metadata,columnMetadata,buckets")
            .map_err(|e| anyhow!("{}: listing tables failed: {e}", self.client.base()))
    }

    /// The detail of table `id`.
    pub fn table_detail(&self, id: &str) -> anyhow::Result<TableDetail> {
        self.client
            .get(&format!("tables/{id}"))
            .map_err(|e| anyhow!("table {id}: reading its detail failed: {e}"))
    }

    /// Read `spec`; for an incremental table whose cursor column is `_timestamp`, only rows
    /// changed since `cursor` minus the table's window.
    pub fn read(&self, spec: &TableSpec, cursor: Option<&Cursor>) -> anyhow::Result<TableStream> {
        let id = spec.id.as_str();
        let detail = self.table_detail(id)?;
        // Columns: the declared ones (in declaration order) or all of the table's.
        let mut names: Vec<String> = if spec.columns.is_empty() {
            detail.columns.clone()
        } else {
            spec.columns
                .iter()
                .filter(|c| c.name != TIMESTAMP_COLUMN)
                .map(|c| c.name.clone())
                .collect()
        };
        if let Some(missing) = names.iter().find(|n| !detail.columns.contains(n)) {
            bail!(
                "table {id}: column `{missing}` declared in data_description.md (line {}) is not in the Keboola table (columns: {})",
                spec.line,
                detail.columns.join(", ")
            );
        }
        let incremental = spec.sync_strategy != SyncStrategy::FullRefresh
            && spec.incremental_column.as_deref() == Some(TIMESTAMP_COLUMN);
        let mut columns: Vec<SyncedColumn> = names
            .iter()
            .map(|n| {
                let declared = spec.column(n).and_then(|c| c.column_type);
                let resolved = types::resolve(&detail, n);
                SyncedColumn {
                    name: n.clone(),
                    source_name: n.clone(),
                    column_type: declared.unwrap_or(resolved.column_type),
                    type_source: if declared.is_some() {
                        "declared"
                    } else {
                        "source"
                    },
                    note: declared
                        .is_none()
                        .then(|| format!("Keboola {} ({})", resolved.keboola, resolved.source)),
                }
            })
            .collect();
        if incremental {
            names.push(TIMESTAMP_COLUMN.to_string());
            columns.push(SyncedColumn {
                name: TIMESTAMP_COLUMN.into(),
                source_name: TIMESTAMP_COLUMN.into(),
                column_type: ColumnType::Timestamptz,
                type_source: "source",
                note: Some("when Keboola last changed the row (UTC)".into()),
            });
        }
        let mut body = json!({
            "gzip": true,
            "format": "rfc",
            "columns": names.iter().filter(|n| *n != TIMESTAMP_COLUMN).cloned().collect::<Vec<_>>().join(","),
        });
        if incremental {
            body["includeInternalTimestamp"] = json!(true);
            if let Some(c) = cursor.filter(|c| c.column == TIMESTAMP_COLUMN) {
                let since = c.value.div_euclid(1_000_000)
                    - i64::from(spec.incremental_window_days) * 86_400;
                body["changedSince"] = json!(since.max(0).to_string());
            }
        }
        if !spec.where_filters.is_empty() {
            body["whereFilters"] = json!(spec
                .where_filters
                .iter()
                .map(|f| json!({"column": f.column, "operator": f.operator, "values": f.values}))
                .collect::<Vec<_>>());
        }
        let file_id = self.export(id, &body)?;
        let file: FileDetail = self
            .client
            .get(&format!("files/{file_id}?federationToken=1"))
            .map_err(|e| anyhow!("table {id}: reading export file {file_id} failed: {e}"))?;
        let source = SliceSource::new(
            &file,
            self.settings.s3_endpoint.as_deref(),
            self.settings.gcs_endpoint.as_deref(),
            self.settings.retry,
        )
        .with_context(|| format!("table {id}: export file {file_id}"))?;
        let slices = source
            .slices(&file)
            .with_context(|| format!("table {id}: export file {file_id}"))?;
        let untyped = !detail.is_typed;
        let readings: Vec<Reading> = columns
            .iter()
            .map(|c| Reading::plain(c.column_type))
            .collect();
        let schema: SchemaRef = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(&c.name, arrow_type(c.column_type), true))
                .collect::<Vec<_>>(),
        ));
        let rows = SliceRows {
            table: id.to_string(),
            source,
            slices: slices.into(),
            current: None,
            names,
            untyped,
            builder: BatchBuilder::new(&readings),
            schema: schema.clone(),
            rec: Record::default(),
            done: false,
        };
        Ok(TableStream {
            schema,
            columns,
            source: format!("keboola: {id}"),
            batches: Box::new(rows),
        })
    }

    /// Start an export job of table `id` with `body`, wait for it and return the file id.
    fn export(&self, id: &str, body: &Value) -> anyhow::Result<u64> {
        let job: Job = self
            .client
            .post(&format!("tables/{id}/export-async"), body)
            .map_err(|e| anyhow!("table {id}: starting the export failed: {e}"))?;
        let job_id =
            id_of(&job.id).ok_or_else(|| anyhow!("table {id}: the export answer has no job id"))?;
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        let mut job = job;
        loop {
            match job.status.as_str() {
                "success" => {
                    return job
                        .results
                        .get("file")
                        .and_then(|f| f.get("id"))
                        .and_then(id_of)
                        .ok_or_else(|| {
                            anyhow!("table {id}: export job {job_id} succeeded without a file id in its results")
                        });
                }
                "error" => {
                    let e = job.error.unwrap_or(Value::Null);
                    let err = ApiError::from_body(200, &e.to_string());
                    let message = e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or(&err.message)
                        .to_string();
                    bail!(
                        "table {id}: export job {job_id} failed: {}",
                        ApiError {
                            status: 0,
                            message,
                            ..err
                        }
                    );
                }
                _ => {}
            }
            if started.elapsed() > self.settings.job_timeout {
                bail!(
                    "table {id}: export job {job_id} still `{}` after {} s (job_timeout_s)",
                    job.status,
                    self.settings.job_timeout.as_secs()
                );
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(self.settings.poll_max);
            job = self
                .client
                .get(&format!("jobs/{job_id}"))
                .map_err(|e| anyhow!("table {id}: polling export job {job_id} failed: {e}"))?;
        }
    }
}

impl Connector for KeboolaConnector {
    fn read_table(&self, spec: &TableSpec) -> anyhow::Result<TableStream> {
        self.read(spec, None)
    }

    fn read_changed(
        &self,
        spec: &TableSpec,
        cursor: Option<&Cursor>,
    ) -> anyhow::Result<TableStream> {
        self.read(spec, cursor)
    }

    fn describe(&self, spec: &TableSpec) -> anyhow::Result<String> {
        Ok(format!("keboola: {} at {}", spec.id, self.settings.url))
    }
}

/// The rows of an export's slices, as batches.
struct SliceRows {
    table: String,
    source: SliceSource,
    slices: VecDeque<String>,
    current: Option<(String, CsvReader<Box<dyn BufRead + Send>>)>,
    names: Vec<String>,
    untyped: bool,
    builder: BatchBuilder,
    schema: SchemaRef,
    rec: Record,
    done: bool,
}

/// A slice body: gzip (one member or several) when it starts with gzip's magic bytes, else
/// plain text.
fn decoded(body: Box<dyn Read + Send>) -> Box<dyn BufRead + Send> {
    let mut r = BufReader::with_capacity(1 << 20, body);
    let gz = matches!(r.fill_buf(), Ok(b) if b.starts_with(&[0x1f, 0x8b]));
    if gz {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(r),
        ))
    } else {
        Box::new(r)
    }
}

impl SliceRows {
    /// Fill the builder up to one batch; `Ok(None)` at the end of the last slice with no row.
    fn next_batch(&mut self) -> anyhow::Result<Option<RecordBatch>> {
        while self.builder.rows < BATCH_ROWS {
            if self.current.is_none() {
                let Some(url) = self.slices.pop_front() else {
                    break;
                };
                let body = self
                    .source
                    .open(&url)
                    .with_context(|| format!("table {}: slice {url}", self.table))?;
                self.current = Some((url, CsvReader::new(decoded(body), b',')));
            }
            let Some((url, reader)) = self.current.as_mut() else {
                break;
            };
            let more = reader.read_record(&mut self.rec).map_err(|e| match e {
                ReadError::Io(e) => anyhow!("table {}: slice {url}: {e}", self.table),
                ReadError::Unterminated(t) => anyhow!(
                    "table {}: slice {url}: line {}: a quoted field is never closed",
                    self.table,
                    t.line
                ),
                ReadError::TooLong(line, _) => anyhow!(
                    "table {}: slice {url}: line {line}: a record of 4 GiB or more",
                    self.table
                ),
            })?;
            if !more {
                self.current = None;
                continue;
            }
            let rec = &self.rec;
            if rec.is_blank() && self.names.len() != 1 {
                continue;
            }
            if rec.len() != self.names.len() {
                bail!(
                    "table {}: slice {url}: line {}: {} fields, expected {} ({})",
                    self.table,
                    rec.line,
                    rec.len(),
                    self.names.len(),
                    self.names.join(", ")
                );
            }
            for i in 0..rec.len() {
                let Some(text) = rec.field_text(i) else {
                    bail!(
                        "table {}: slice {url}: line {}, column `{}`: not UTF-8",
                        self.table,
                        rec.line,
                        self.names[i]
                    );
                };
                // Unquoted empty = NULL in typed tables; untyped tables hold no NULL.
                let value = if text.is_empty() && !rec.is_quoted(i) && !self.untyped {
                    None
                } else {
                    Some(text)
                };
                if self.builder.append(i, value, None).is_err() {
                    bail!(
                        "table {}: slice {url}: line {}, column `{}`: `{}` is not a {} value (set `type: string` for the column in data_description.md to keep it as text)",
                        self.table,
                        rec.line,
                        self.names[i],
                        text.chars().take(80).collect::<String>(),
                        self.builder.column_type(i)
                    );
                }
            }
            self.builder.rows += 1;
        }
        if self.builder.rows == 0 {
            return Ok(None);
        }
        Ok(Some(self.builder.finish(&self.schema)?))
    }
}

impl Iterator for SliceRows {
    type Item = anyhow::Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_batch().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

//! A fake Keboola Storage API v2 and S3/GCS object store on loopback, for tests and benches,
//! following the checklist of `keboola-jira-api.md` §A8: token verification (401 bodies as
//! Keboola sends them), tables with columns, metadata (`[]` when empty) and typed definitions,
//! export jobs that go `waiting` → `processing` → `success` (or `error`), files with federation
//! credentials and a sliced manifest, and gzip'd (two members per slice) headerless RFC 4180
//! slices served by an S3-style path endpoint that checks each request's SigV4 signature (or a
//! GCS-style endpoint that checks the bearer token). Failures can be injected per request path.
//!
//! Rows are text (`None` = SQL NULL). A typed table writes NULL as an unquoted empty field and
//! strings quoted; an untyped table quotes every field. `_timestamp` is a per-row unix second.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::{json, Value};
use tiny_http::{Header, Response, Server};

use crate::sync::keboola::sigv4;

/// Makes row `i` of a generated table: its values (`None` = NULL).
pub type RowMaker = Arc<dyn Fn(u64) -> Vec<Option<String>> + Send + Sync>;

/// An export job: its table, how often it was polled, and its file id or `(code, message)`.
type FakeJob = (String, u32, Result<u64, (String, String)>);

/// One fake table.
#[derive(Clone)]
pub struct FakeTable {
    /// `in.c-shop.orders`.
    pub id: String,
    /// Column names in order.
    pub columns: Vec<String>,
    /// Base type per column for a typed table (`("NUMERIC", Some("38,9"))`); `None`: untyped.
    pub typed: Option<Vec<(String, Option<String>)>>,
    /// Column metadata entries `(column, key, value, provider)`.
    pub column_metadata: Vec<(String, String, String, String)>,
    /// Table description (`KBC.description`), if any.
    pub description: Option<String>,
    /// Primary key.
    pub primary_key: Vec<String>,
    /// Rows: values (None = NULL) and `_timestamp` in unix seconds.
    pub rows: Vec<(Vec<Option<String>>, i64)>,
    /// Rows made on export instead of `rows` (for big tables): count and maker.
    pub generated: Option<(u64, RowMaker)>,
}

impl FakeTable {
    /// An untyped table.
    pub fn untyped(id: &str, columns: &[&str]) -> FakeTable {
        FakeTable {
            id: id.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            typed: None,
            column_metadata: Vec::new(),
            description: None,
            primary_key: Vec::new(),
            rows: Vec::new(),
            generated: None,
        }
    }

    /// A typed table: `(name, basetype, length)` per column.
    pub fn typed(id: &str, columns: &[(&str, &str, Option<&str>)]) -> FakeTable {
        FakeTable {
            typed: Some(
                columns
                    .iter()
                    .map(|(_, b, l)| (b.to_string(), l.map(str::to_string)))
                    .collect(),
            ),
            ..FakeTable::untyped(id, &columns.iter().map(|c| c.0).collect::<Vec<_>>())
        }
    }

    /// Add a row of `values` (`None` = NULL) changed at unix second `at`.
    pub fn row(mut self, values: &[Option<&str>], at: i64) -> FakeTable {
        self.rows
            .push((values.iter().map(|v| v.map(str::to_string)).collect(), at));
        self
    }

    fn is_string(&self, i: usize) -> bool {
        match &self.typed {
            Some(t) => t[i].0 == "STRING",
            None => true,
        }
    }

    /// The table detail as Keboola answers it.
    fn detail(&self, base: &str) -> Value {
        let mut cm = serde_json::Map::new();
        for (i, (col, key, value, provider)) in self.column_metadata.iter().enumerate() {
            let e = cm.entry(col.clone()).or_insert_with(|| json!([]));
            if let Value::Array(a) = e {
                a.push(json!({"id": (1000 + i).to_string(), "key": key, "value": value, "provider": provider, "timestamp": "2025-02-10T08:30:02+0100"}));
            }
        }
        let (bucket, name) = self.id.rsplit_once('.').unwrap_or(("in.c-x", &self.id));
        let mut d = json!({
            "uri": format!("{base}/v2/storage/tables/{}", self.id),
            "id": self.id,
            "name": name,
            "displayName": name,
            "primaryKey": self.primary_key,
            "isTyped": self.typed.is_some(),
            "timestampType": "MANAGED",
            "columns": self.columns,
            "rowsCount": if self.rows.is_empty() { Value::Null } else { json!(self.rows.len()) },
            "metadata": match &self.description {
                Some(d) => json!([{"id": "1", "key": "KBC.description", "value": d, "provider": "user", "timestamp": "2025-02-11T14:02:10+0100"}]),
                None => json!([]),
            },
            "columnMetadata": if cm.is_empty() { json!([]) } else { Value::Object(cm) },
            "bucket": {"id": bucket, "name": bucket.split('.').nth(1).unwrap_or(""), "displayName": bucket.split('.').nth(1).unwrap_or("").trim_start_matches("c-"), "stage": "in", "backend": "snowflake"},
        });
        if let Some(t) = &self.typed {
            d["definition"] = json!({
                "primaryKeysNames": self.primary_key,
                "columns": self.columns.iter().zip(t).map(|(c, (b, l))| {
                    let mut def = json!({"type": b, "nullable": true});
                    if let Some(l) = l { def["length"] = json!(l); }
                    json!({"name": c, "definition": def, "basetype": b, "canBeFiltered": true})
                }).collect::<Vec<_>>(),
            });
        }
        d
    }
}

/// A failure to answer instead of the real one: on the next request whose path starts with
/// `path` (e.g. `/v2/storage/tables/in.c-a.t/export-async`, `/kbc-files/`).
#[derive(Clone, Debug)]
pub struct Failure {
    /// Path prefix.
    pub path: String,
    /// HTTP status.
    pub status: u16,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u64>,
    /// JSON body.
    pub body: String,
}

/// What the fake saw and can be told to do; lock it through [`FakeKeboola::state`].
pub struct FakeState {
    /// Tables by id.
    pub tables: BTreeMap<String, FakeTable>,
    /// Valid tokens.
    pub token: String,
    /// Project id and name.
    pub project: (u64, String),
    /// `aws`, `gcp` or `azure`.
    pub provider: String,
    /// Slices per export (rows spread evenly; at least one slice is left empty when there are
    /// more slices than rows).
    pub slices: usize,
    /// Also put an empty slice first in every manifest.
    pub empty_slice: bool,
    /// Export jobs of these tables fail with `(code, message)`.
    pub failing_exports: HashMap<String, (String, String)>,
    /// Failures to answer next, in order.
    pub failures: VecDeque<Failure>,
    /// Every export request's body (JSON or form, as JSON), with the table id.
    pub exports: Vec<(String, Value)>,
    /// Every request: method and path with query.
    pub requests: Vec<String>,
    /// Slice requests refused for a bad signature or token.
    pub refused: usize,
    jobs: HashMap<u64, FakeJob>,
    files: HashMap<u64, Vec<String>>,
    objects: HashMap<String, Arc<Vec<u8>>>,
    /// Slices of earlier exports of generated tables by parameters (Keboola's export cache).
    cache: HashMap<String, Vec<Arc<Vec<u8>>>>,
    next_id: u64,
}

/// The S3 bucket objects live in.
pub const BUCKET: &str = "kbc-files";
/// The fake STS credentials.
pub const ACCESS_KEY_ID: &str = "ASIAFAKEKEYFORTESTS";
/// The fake STS secret.
pub const SECRET_KEY: &str = "fakeSecretKeyForTestsOnly0000000000000000";
/// The fake STS session token.
pub const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjFAKESESSIONTOKEN";
/// The fake GCS access token.
pub const GCS_TOKEN: &str = "ya29.fake-gcs-token";

/// A running fake on `127.0.0.1:<port>`; stops when dropped.
pub struct FakeKeboola {
    /// `http://127.0.0.1:<port>`: the stack URL and the S3/GCS endpoint.
    pub url: String,
    state: Arc<Mutex<FakeState>>,
    server: Arc<Server>,
    threads: Vec<JoinHandle<()>>,
}

impl FakeKeboola {
    /// Start the fake with `token` for project `project_id` and these tables, on AWS, with 3
    /// slices per export. Errors: no port.
    pub fn start(
        token: &str,
        project_id: u64,
        tables: Vec<FakeTable>,
    ) -> std::io::Result<FakeKeboola> {
        let server = Arc::new(Server::http("127.0.0.1:0").map_err(std::io::Error::other)?);
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| std::io::Error::other("no port"))?;
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(FakeState {
            tables: tables.into_iter().map(|t| (t.id.clone(), t)).collect(),
            token: token.into(),
            project: (project_id, "Acme Analytics (test)".into()),
            provider: "aws".into(),
            slices: 3,
            empty_slice: false,
            failing_exports: HashMap::new(),
            failures: VecDeque::new(),
            exports: Vec::new(),
            requests: Vec::new(),
            refused: 0,
            jobs: HashMap::new(),
            files: HashMap::new(),
            objects: HashMap::new(),
            cache: HashMap::new(),
            next_id: 900_000_001,
        }));
        let threads = (0..4)
            .map(|_| {
                let (server, state, url) = (server.clone(), state.clone(), url.clone());
                std::thread::spawn(move || {
                    while let Ok(req) = server.recv() {
                        handle(req, &state, &url);
                    }
                })
            })
            .collect();
        Ok(FakeKeboola {
            url,
            state,
            server,
            threads,
        })
    }

    /// The fake's state, to change tables or inject failures, and to read what it saw.
    pub fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FakeKeboola {
    fn drop(&mut self) {
        for _ in &self.threads {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Object bytes shared with the store, served without a copy.
struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn header(k: &str, v: &str) -> Header {
    Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("ASCII header")
}

fn json_response(status: u16, v: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(v.to_string().into_bytes())
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json"))
}

fn get_header<'a>(req: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A form body (`a=1&whereFilters[0][column]=x`) as flat pairs.
fn form_pairs(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// An export body (JSON, or a form as the Python client sends) as JSON.
fn export_params(body: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return v;
    }
    let mut out = serde_json::Map::new();
    let mut filters: BTreeMap<usize, Value> = BTreeMap::new();
    for (k, v) in form_pairs(body) {
        if let Some(rest) = k.strip_prefix("whereFilters[") {
            let (n, rest) = rest.split_once(']').unwrap_or(("0", ""));
            let f = filters
                .entry(n.parse().unwrap_or(0))
                .or_insert_with(|| json!({"values": []}));
            if rest.starts_with("[values]") {
                if let Some(a) = f["values"].as_array_mut() {
                    a.push(json!(v));
                }
            } else {
                let key = rest.trim_start_matches('[').trim_end_matches(']');
                f[key] = json!(v);
            }
        } else {
            out.insert(k, json!(v));
        }
    }
    if !filters.is_empty() {
        out.insert(
            "whereFilters".into(),
            json!(filters.into_values().collect::<Vec<_>>()),
        );
    }
    Value::Object(out)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.as_str(), "1" | "true"),
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// Render one CSV field: NULL unquoted empty, strings (or every field of an untyped table)
/// quoted with `""` escaping, other values as they are.
fn field(out: &mut Vec<u8>, v: Option<&str>, quote: bool) {
    match v {
        None => {}
        Some(s) if quote || s.is_empty() || s.contains([',', '"', '\n', '\r']) => {
            out.push(b'"');
            out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        }
        Some(s) => out.extend_from_slice(s.as_bytes()),
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// The slices (gzip, two members each, no header) an export of `table` with `params` (`columns`,
/// `changedSince`, `whereFilters`, `includeInternalTimestamp`) writes, in `slices` parts.
/// Errors: Keboola's `(code, message)` for an unknown column.
pub fn export_slices(
    table: &FakeTable,
    params: &Value,
    slices: usize,
) -> Result<Vec<Vec<u8>>, String> {
    export(table, params, slices, false).map_err(|(c, m)| format!("{m} ({c})"))
}

fn export(
    table: &FakeTable,
    params: &Value,
    slices: usize,
    empty_first: bool,
) -> Result<Vec<Vec<u8>>, (String, String)> {
    let cols: Vec<usize> = match params.get("columns") {
        Some(Value::String(s)) if !s.is_empty() => s
            .split(',')
            .map(|c| {
                table.columns.iter().position(|x| x == c).ok_or_else(|| {
                    (
                        "storage.tables.validation.invalidColumns".to_string(),
                        format!("Columns \"{c}\" not found in table {}", table.id),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .filter_map(|c| c.as_str())
            .filter_map(|c| table.columns.iter().position(|x| x == c))
            .collect(),
        _ => (0..table.columns.len()).collect(),
    };
    let since: Option<i64> = params.get("changedSince").and_then(|v| match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    });
    let with_ts = params.get("includeInternalTimestamp").is_some_and(truthy);
    let filters: Vec<(usize, String, Vec<String>)> = params
        .get("whereFilters")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| {
                    let c = f.get("column")?.as_str()?;
                    let i = table.columns.iter().position(|x| x == c)?;
                    let op = f.get("operator").and_then(Value::as_str).unwrap_or("eq");
                    let vals = f
                        .get("values")?
                        .as_array()?
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect();
                    Some((i, op.to_string(), vals))
                })
                .collect()
        })
        .unwrap_or_default();
    let matches = |values: &[Option<String>], at: i64| -> bool {
        if since.is_some_and(|s| at < s) {
            return false;
        }
        filters.iter().all(|(i, op, vals)| {
            let v = values[*i].as_deref().unwrap_or("");
            let hit = vals.iter().any(|x| x == v);
            if op == "ne" {
                !hit
            } else {
                hit
            }
        })
    };
    let render = |out: &mut Vec<u8>, values: &[Option<String>], at: i64| {
        for (n, &i) in cols.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            field(out, values[i].as_deref(), table.is_string(i));
        }
        if with_ts {
            out.push(b',');
            let ts = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
            out.extend_from_slice(ts.format("%Y-%m-%d %H:%M:%S").to_string().as_bytes());
        }
        out.push(b'\n');
    };
    let slices = slices.max(1);
    let mut out = Vec::new();
    if empty_first {
        out.push(gzip(b""));
    }
    match &table.generated {
        Some((n, make)) => {
            let per = n.div_ceil(slices as u64).max(1);
            let mut start = 0;
            while start < *n {
                let end = (start + per).min(*n);
                let mut slice = Vec::new();
                for half in [
                    (start, start + (end - start) / 2),
                    (start + (end - start) / 2, end),
                ] {
                    let mut text = Vec::with_capacity(((half.1 - half.0) * 64) as usize);
                    for r in half.0..half.1 {
                        let values = make(r);
                        render(&mut text, &values, 1_700_000_000);
                    }
                    slice.extend(gzip(&text));
                }
                out.push(slice);
                start = end;
            }
        }
        None => {
            let rows: Vec<&(Vec<Option<String>>, i64)> = table
                .rows
                .iter()
                .filter(|(v, at)| matches(v, *at))
                .collect();
            let per = rows.len().div_ceil(slices);
            for s in 0..slices {
                let part = if per == 0 {
                    &[][..]
                } else {
                    &rows[(s * per).min(rows.len())..((s + 1) * per).min(rows.len())]
                };
                let mid = part.len() / 2;
                let mut slice = Vec::new();
                for half in [&part[..mid], &part[mid..]] {
                    let mut text = Vec::new();
                    for (v, at) in half {
                        render(&mut text, v, *at);
                    }
                    slice.extend(gzip(&text));
                }
                out.push(slice);
            }
        }
    }
    Ok(out)
}

fn handle(mut req: tiny_http::Request, state: &Mutex<FakeState>, base: &str) {
    let method = req.method().as_str().to_string();
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let path = path.to_string();
    let mut body = String::new();
    let _ = req.as_reader().read_to_string(&mut body);
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    {
        let mut st = lock();
        st.requests.push(format!("{method} {url}"));
        if let Some(i) = st.failures.iter().position(|f| path.starts_with(&f.path)) {
            if let Some(f) = st.failures.remove(i) {
                drop(st);
                let mut r = Response::from_data(f.body.into_bytes())
                    .with_status_code(f.status)
                    .with_header(header("Content-Type", "application/json"));
                if let Some(s) = f.retry_after {
                    r = r.with_header(header("Retry-After", &s.to_string()));
                }
                let _ = req.respond(r);
                return;
            }
        }
    }
    // Objects: S3 path style `/kbc-files/<key>`, GCS `/gcs/kbc-files/<key>`.
    if let Some(key) = path.strip_prefix(&format!("/{BUCKET}/")) {
        let key = percent_decode(key);
        let ok = check_sigv4(&req, &path);
        let mut st = lock();
        if let Err(why) = ok {
            st.refused += 1;
            drop(st);
            let body = format!("<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>{why}</Message></Error>");
            let _ = req.respond(Response::from_data(body.into_bytes()).with_status_code(403));
            return;
        }
        let obj = st.objects.get(&key).cloned();
        drop(st);
        let _ = match obj {
            Some(o) => req.respond(Response::new(
                tiny_http::StatusCode(200),
                Vec::new(),
                std::io::Cursor::new(SharedBytes(o.clone())),
                Some(o.len()),
                None,
            )),
            None => req.respond(
                Response::from_data(b"<Error><Code>NoSuchKey</Code></Error>".to_vec())
                    .with_status_code(404),
            ),
        };
        return;
    }
    if let Some(key) = path.strip_prefix(&format!("/gcs/{BUCKET}/")) {
        let key = percent_decode(key);
        let mut st = lock();
        if get_header(&req, "authorization") != Some(&format!("Bearer {GCS_TOKEN}")) {
            st.refused += 1;
            drop(st);
            let _ = req.respond(json_response(
                401,
                &json!({"error": {"code": 401, "message": "Invalid Credentials"}}),
            ));
            return;
        }
        let obj = st.objects.get(&key).cloned();
        drop(st);
        let _ = match obj {
            Some(o) => req.respond(Response::from_data(o.as_ref().clone())),
            None => req.respond(json_response(404, &json!({"error": {"code": 404}}))),
        };
        return;
    }
    if let Some(id) = path.strip_prefix("/manifest/") {
        let st = lock();
        let id: u64 = id.parse().unwrap_or(0);
        let scheme = if st.provider == "gcp" { "gs" } else { "s3" };
        let entries: Vec<Value> = st
            .files
            .get(&id)
            .map(|keys| {
                keys.iter()
                    .map(|k| json!({"url": format!("{scheme}://{BUCKET}/{k}"), "mandatory": true}))
                    .collect()
            })
            .unwrap_or_default();
        drop(st);
        let _ = req.respond(json_response(200, &json!({"entries": entries})));
        return;
    }
    let Some(api) = path
        .strip_prefix("/v2/storage/branch/default/")
        .or_else(|| path.strip_prefix("/v2/storage/"))
    else {
        let _ = req.respond(json_response(
            404,
            &json!({"error": "Not found", "code": 404}),
        ));
        return;
    };
    let token = get_header(&req, "x-storageapi-token").map(str::to_string);
    let mut st = lock();
    match token {
        None => {
            drop(st);
            let _ = req.respond(json_response(
                401,
                &json!({"error": "Access token must be set"}),
            ));
            return;
        }
        Some(t) if t != st.token => {
            drop(st);
            let _ = req.respond(json_response(401, &json!({"error": "Invalid access token", "code": "storage.tokenInvalid", "exceptionId": "keboola-connection-a1b2c3d4e5f60718"})));
            return;
        }
        Some(_) => {}
    }
    let answer: (u16, Value) = if api == "tokens/verify" {
        (
            200,
            json!({
                "id": "412337", "description": "broker (read only)", "isMasterToken": false,
                "bucketPermissions": [],
                "owner": {"id": st.project.0, "name": st.project.1, "fileStorageProvider": st.provider, "defaultBackend": "snowflake"},
                "organization": {"id": "1204"},
            }),
        )
    } else if api == "tables" && method == "GET" {
        (
            200,
            Value::Array(st.tables.values().map(|t| t.detail(base)).collect()),
        )
    } else if let Some(rest) = api.strip_prefix("tables/") {
        if let Some(id) = rest.strip_suffix("/export-async") {
            match st.tables.get(id).cloned() {
                None => (
                    404,
                    json!({"error": format!("The table \"{id}\" was not found"), "code": "storage.tables.notFound", "exceptionId": "keboola-connection-0e9d8c7b6a594837"}),
                ),
                Some(t) => {
                    let params = export_params(&body);
                    st.exports.push((id.to_string(), params.clone()));
                    let job_id = st.next_id;
                    st.next_id += 1;
                    let outcome = match st.failing_exports.get(id) {
                        Some(e) => Err(e.clone()),
                        None => {
                            let (slices, empty) = (st.slices, st.empty_slice);
                            // Only generated tables are cached: tests change `rows` between runs.
                            let key = format!("{id} {params} {slices} {empty}");
                            let cached = t
                                .generated
                                .as_ref()
                                .and_then(|_| st.cache.get(&key))
                                .cloned();
                            let made = match cached {
                                Some(parts) => Ok(parts),
                                None => export(&t, &params, slices, empty).map(|p| {
                                    let parts: Vec<Arc<Vec<u8>>> =
                                        p.into_iter().map(Arc::new).collect();
                                    if t.generated.is_some() {
                                        st.cache.insert(key, parts.clone());
                                    }
                                    parts
                                }),
                            };
                            match made {
                                Ok(parts) => {
                                    let file_id = st.next_id;
                                    st.next_id += 1;
                                    let mut keys = Vec::new();
                                    for (i, p) in parts.into_iter().enumerate() {
                                        let key = format!(
                                            "exp-2/{}/{file_id}.csv.gz_0_{i}_0.csv.gz",
                                            id.replace('.', "/")
                                        );
                                        st.objects.insert(key.clone(), p);
                                        keys.push(key);
                                    }
                                    st.files.insert(file_id, keys);
                                    Ok(file_id)
                                }
                                Err(e) => Err(e),
                            }
                        }
                    };
                    st.jobs.insert(job_id, (id.to_string(), 0, outcome));
                    (202, job_json(base, job_id, id, "waiting", None))
                }
            }
        } else {
            match st.tables.get(rest) {
                Some(t) => (200, t.detail(base)),
                None => (
                    404,
                    json!({"error": format!("The table \"{rest}\" was not found"), "code": "storage.tables.notFound", "exceptionId": "keboola-connection-0e9d8c7b6a594837"}),
                ),
            }
        }
    } else if let Some(id) = api.strip_prefix("jobs/") {
        let id: u64 = id.parse().unwrap_or(0);
        match st.jobs.get_mut(&id) {
            None => (404, json!({"error": "Job not found", "code": 404})),
            Some((table, polls, outcome)) => {
                *polls += 1;
                let status = match *polls {
                    1 => "waiting",
                    2 => "processing",
                    _ => {
                        if outcome.is_ok() {
                            "success"
                        } else {
                            "error"
                        }
                    }
                };
                let outcome = outcome.clone();
                let table = table.clone();
                (200, job_json(base, id, &table, status, Some(&outcome)))
            }
        }
    } else if let Some(id) = api.strip_prefix("files/") {
        let id: u64 = id.parse().unwrap_or(0);
        let federation = query
            .split('&')
            .any(|p| p == "federationToken=1" || p == "federationToken=true");
        if !st.files.contains_key(&id) {
            (
                404,
                json!({"error": "File not found", "code": "storage.files.notFound"}),
            )
        } else {
            let key = format!("exp-2/{id}.csv.gz");
            let mut f = json!({
                "id": id, "isSliced": true, "isEncrypted": true, "name": "export.csv.gz", "fileType": "csv",
                "url": format!("{base}/manifest/{id}"), "provider": st.provider, "region": "eu-central-1",
                "sizeBytes": 1, "tags": ["table-export"], "maxAgeDays": 2,
                "creatorToken": {"id": 412337, "description": "broker"},
            });
            match st.provider.as_str() {
                "gcp" => {
                    f["gcsPath"] = json!({"bucket": BUCKET, "key": key});
                    if federation {
                        f["gcsCredentials"] = json!({"access_token": GCS_TOKEN, "expires_in": 3599, "token_type": "Bearer", "projectId": "kbc-fake"});
                    }
                }
                "azure" => {
                    f["absPath"] = json!({"container": "exp-2", "name": key});
                }
                _ => {
                    f["s3Path"] = json!({"bucket": BUCKET, "key": key});
                    if federation {
                        f["credentials"] = json!({"AccessKeyId": ACCESS_KEY_ID, "SecretAccessKey": SECRET_KEY, "SessionToken": SESSION_TOKEN, "Expiration": "2099-01-01T00:00:00+00:00"});
                    }
                }
            }
            (200, f)
        }
    } else {
        (
            404,
            json!({"error": format!("unknown endpoint {api}"), "code": 404}),
        )
    };
    drop(st);
    let _ = req.respond(json_response(answer.0, &answer.1));
}

fn job_json(
    base: &str,
    id: u64,
    table: &str,
    status: &str,
    outcome: Option<&Result<u64, (String, String)>>,
) -> Value {
    let mut j = json!({
        "id": id, "status": status, "url": format!("{base}/v2/storage/jobs/{id}"), "tableId": table,
        "operationName": "tableExport", "createdTime": "2025-06-03T08:12:30+0200",
        "startTime": null, "endTime": null, "runId": null, "results": null,
        "creatorToken": {"id": "412337", "description": "broker"},
    });
    match (status, outcome) {
        ("success", Some(Ok(file))) => {
            j["results"] = json!({"file": {"id": file}, "cacheHit": false})
        }
        ("error", Some(Err((code, message)))) => {
            j["results"] = json!([]);
            j["error"] = json!({"code": code, "message": message, "exceptionId": format!("keboola-connection-job{id}")});
        }
        _ => {}
    }
    j
}

/// Check an S3 request's SigV4 `Authorization` header against the fake credentials, over the
/// headers it names as signed. Errors say what does not match.
fn check_sigv4(req: &tiny_http::Request, path: &str) -> Result<(), String> {
    let auth = get_header(req, "authorization").ok_or("no Authorization header")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let mut parts: HashMap<&str, &str> = HashMap::new();
    for p in rest.split(',') {
        if let Some((k, v)) = p.trim().split_once('=') {
            parts.insert(k, v);
        }
    }
    let credential = parts.get("Credential").ok_or("no Credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5
        || scope[0] != ACCESS_KEY_ID
        || scope[3] != "s3"
        || scope[4] != "aws4_request"
    {
        return Err(format!("bad credential scope {credential}"));
    }
    if get_header(req, "x-amz-security-token") != Some(SESSION_TOKEN) {
        return Err("missing or wrong x-amz-security-token".into());
    }
    let signed = parts.get("SignedHeaders").ok_or("no SignedHeaders")?;
    let mut headers = Vec::new();
    for name in signed.split(';') {
        let v = get_header(req, name).ok_or(format!("signed header {name} not sent"))?;
        headers.push((name.to_string(), v.trim().to_string()));
    }
    for required in ["host", "x-amz-date", "x-amz-security-token"] {
        if !headers.iter().any(|(k, _)| k == required) {
            return Err(format!("{required} not signed"));
        }
    }
    let date = get_header(req, "x-amz-date").ok_or("no x-amz-date")?;
    if !date.starts_with(scope[1]) {
        return Err("x-amz-date does not match the credential scope".into());
    }
    let payload = get_header(req, "x-amz-content-sha256").unwrap_or("UNSIGNED-PAYLOAD");
    let want = sigv4::signature(
        "GET", path, "", &headers, payload, date, scope[2], "s3", SECRET_KEY,
    );
    if parts.get("Signature") != Some(&want.as_str()) {
        return Err("signature does not match".into());
    }
    Ok(())
}

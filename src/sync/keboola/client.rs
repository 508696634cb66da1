//! The Keboola Storage API v2 over HTTP: the token header, JSON requests, Keboola's error body
//! (`{"error", "code", "exceptionId"}`) and retries.
//!
//! Retry policy (Keboola's own clients, `keboola-jira-api.md` §A5): 5xx except 501, and 429,
//! are retried with exponential backoff (base × 2^n, capped at 30 s) honouring a `Retry-After`
//! header given in seconds; other 4xx are never retried; transport errors (connection refused,
//! reset) are retried like a 503.

use std::time::Duration;

use anyhow::anyhow;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Longest wait between two attempts, whatever `Retry-After` says.
pub const MAX_BACKOFF: Duration = Duration::from_secs(120);

/// How requests are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// First backoff; doubled on each retry, capped at 30 s.
    pub base: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base: Duration::from_secs(1),
        }
    }
}

/// An error answer of the Storage API (or of a storage endpoint), as a clear message: the
/// HTTP status, Keboola's message, its error `code` (string or number in the body) and
/// `exceptionId` when present.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status; 0 for a transport error.
    pub status: u16,
    /// Keboola's `error` text (or the body's start, or the transport error).
    pub message: String,
    /// Keboola's `code`, if any.
    pub code: Option<String>,
    /// Keboola's `exceptionId`, if any.
    pub exception_id: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 0 {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "HTTP {}: {}", self.status, self.message)?;
        }
        if let Some(c) = &self.code {
            write!(f, " (code {c}")?;
            match &self.exception_id {
                Some(x) => write!(f, ", exception id {x})")?,
                None => write!(f, ")")?,
            }
        } else if let Some(x) = &self.exception_id {
            write!(f, " (exception id {x})")?;
        }
        if self.status == 401 {
            write!(
                f,
                "; check the Storage API token (KEBOOLA_STORAGE_TOKEN) and the stack URL"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// The error of a non-2xx answer with `body` (Keboola's JSON error body, a maintenance
    /// body `{"status":"maintenance","reason":…}`, or any text).
    pub fn from_body(status: u16, body: &str) -> ApiError {
        let json: Option<Value> = serde_json::from_str(body).ok();
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let field = |k: &str| json.as_ref().and_then(|j| j.get(k)).and_then(text);
        let message = field("error")
            .or_else(|| field("reason").map(|r| format!("maintenance: {r}")))
            .or_else(|| field("message"))
            .unwrap_or_else(|| {
                let t = body.trim();
                if t.is_empty() {
                    "no error message in the answer".to_string()
                } else {
                    t.chars().take(300).collect()
                }
            });
        ApiError {
            status,
            message,
            code: field("code").filter(|c| !c.is_empty()),
            exception_id: field("exceptionId"),
        }
    }

    /// Whether the request may succeed when sent again: 5xx except 501, 429, transport errors.
    pub fn is_transient(&self) -> bool {
        self.status == 0 || self.status == 429 || (self.status >= 500 && self.status != 501)
    }
}

/// A Storage API client for one stack and token.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
    retry: RetryPolicy,
}

impl Client {
    /// A client of the stack at `base` (`https://connection.keboola.com`, no trailing `/`
    /// needed) with `token` (sent as `X-StorageApi-Token`).
    pub fn new(base: &str, token: &str, retry: RetryPolicy) -> Client {
        Client {
            agent: agent(),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            retry,
        }
    }

    /// The stack URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The retry policy.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// `GET {base}/v2/storage/{path}` as JSON. Errors: [`ApiError`] after the retries.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let url = format!("{}/v2/storage/{path}", self.base);
        let body = send_with_retry(self.retry, || {
            self.agent
                .get(&url)
                .header("X-StorageApi-Token", &self.token)
                .header("Accept", "application/json")
                .call()
        })?;
        parse_json(body)
    }

    /// `POST {base}/v2/storage/{path}` with a JSON body. Errors: [`ApiError`].
    pub fn post<T: DeserializeOwned>(&self, path: &str, json: &Value) -> Result<T, ApiError> {
        let url = format!("{}/v2/storage/{path}", self.base);
        let body = serde_json::to_vec(json).unwrap_or_default();
        let answer = send_with_retry(self.retry, || {
            self.agent
                .post(&url)
                .header("X-StorageApi-Token", &self.token)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .send(&body[..])
        })?;
        parse_json(answer)
    }
}

/// An agent that reports every status instead of failing on 4xx/5xx, with generous timeouts
/// (a slice can take minutes).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(300)))
        .build()
        .into()
}

fn parse_json<T: DeserializeOwned>(body: ureq::Body) -> Result<T, ApiError> {
    let text = body
        .into_with_config()
        .limit(256 << 20)
        .read_to_string()
        .map_err(|e| ApiError {
            status: 0,
            message: format!("cannot read the answer: {e}"),
            code: None,
            exception_id: None,
        })?;
    serde_json::from_str(&text).map_err(|e| ApiError {
        status: 0,
        message: format!(
            "the answer is not the expected JSON ({e}): {}",
            text.chars().take(200).collect::<String>()
        ),
        code: None,
        exception_id: None,
    })
}

/// Send a request (built anew by `send` on every attempt) until it gets a 2xx answer, a
/// non-transient error, or the attempts run out; returns the 2xx body.
pub fn send_with_retry(
    policy: RetryPolicy,
    mut send: impl FnMut() -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<ureq::Body, ApiError> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let (err, retry_after) = match send() {
            Ok(r) if r.status().is_success() => return Ok(r.into_body()),
            Ok(r) => {
                let status = r.status().as_u16();
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = r
                    .into_body()
                    .into_with_config()
                    .limit(1 << 20)
                    .read_to_string()
                    .unwrap_or_default();
                (ApiError::from_body(status, &body), retry_after)
            }
            Err(e) => (
                ApiError {
                    status: 0,
                    message: format!("request failed: {e}"),
                    code: None,
                    exception_id: None,
                },
                None,
            ),
        };
        if !err.is_transient() || attempt >= policy.attempts {
            return Err(if attempt > 1 {
                ApiError {
                    message: format!("{} (after {attempt} attempts)", err.message),
                    ..err
                }
            } else {
                err
            });
        }
        let backoff = policy
            .base
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(Duration::from_secs(30));
        std::thread::sleep(retry_after.unwrap_or(backoff).min(MAX_BACKOFF));
    }
}

/// An [`ApiError`] as an `anyhow` error with `what` (`table in.c-shop.orders: export`) before it.
pub fn context(what: &str, e: ApiError) -> anyhow::Error {
    anyhow!("{what}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_give_message_code_and_exception_id_whatever_their_shape() {
        let e = ApiError::from_body(
            401,
            r#"{"error":"Invalid access token","code":"storage.tokenInvalid","exceptionId":"keboola-connection-1"}"#,
        );
        assert_eq!(
            e.to_string(),
            "HTTP 401: Invalid access token (code storage.tokenInvalid, exception id keboola-connection-1); check the Storage API token (KEBOOLA_STORAGE_TOKEN) and the stack URL"
        );
        assert!(!e.is_transient());
        let e = ApiError::from_body(404, r#"{"error":"Not found","code":404}"#);
        assert_eq!(e.code.as_deref(), Some("404"));
        let e = ApiError::from_body(
            503,
            r#"{"status":"maintenance","reason":"Project is being migrated"}"#,
        );
        assert_eq!(e.message, "maintenance: Project is being migrated");
        assert!(e.is_transient());
        assert!(!ApiError::from_body(501, "").is_transient());
        assert!(ApiError::from_body(429, "slow down").is_transient());
        assert_eq!(
            ApiError::from_body(502, "").message,
            "no error message in the answer"
        );
    }
}

//! Where an export's file lives and how its slices are fetched: the file detail with federation
//! credentials (`keboola-jira-api.md` §A3.4), the manifest (§A3.5) and the slice objects on S3
//! (a path-style `GET <endpoint>/<bucket>/<key>` signed with SigV4 and the temporary
//! credentials) or GCS (`GET <endpoint>/<bucket>/<key>` with the OAuth bearer token). Azure
//! Blob Storage is refused with a clear error.

use std::io::Read;

use anyhow::{anyhow, bail};
use serde::Deserialize;
use serde_json::Value;

use super::client::{agent, send_with_retry, RetryPolicy};
use super::sigv4::{encode_path, sign_get, Credentials};
use crate::sync::sliced_export::parse_manifest;

/// The file detail fields used (`GET /v2/storage/files/{id}?federationToken=1`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDetail {
    /// `aws`, `gcp` or `azure`.
    #[serde(default)]
    pub provider: String,
    /// AWS region.
    #[serde(default)]
    pub region: String,
    /// Whether `url` is the manifest of slices.
    #[serde(default)]
    pub is_sliced: bool,
    /// Signed URL of the file, or of its manifest when sliced.
    #[serde(default)]
    pub url: String,
    /// `{bucket, key}` on S3.
    #[serde(default)]
    pub s3_path: Option<ObjectPath>,
    /// `{bucket, key}` on GCS.
    #[serde(default)]
    pub gcs_path: Option<ObjectPath>,
    /// STS credentials (`AccessKeyId`, `SecretAccessKey`, `SessionToken`).
    #[serde(default)]
    pub credentials: Option<Value>,
    /// GCS credentials (`access_token`).
    #[serde(default)]
    pub gcs_credentials: Option<Value>,
}

/// A bucket and key.
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectPath {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
}

/// How slices of one file are fetched.
pub struct SliceSource {
    agent: ureq::Agent,
    retry: RetryPolicy,
    store: Store,
}

enum Store {
    S3 {
        endpoint: String,
        region: String,
        bucket: String,
        key: String,
        creds: Credentials,
    },
    Gcs {
        endpoint: String,
        bucket: String,
        key: String,
        token: String,
    },
}

fn cred(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

impl SliceSource {
    /// The slice source of `file`: S3 at `s3_endpoint` (default
    /// `https://s3.<region>.amazonaws.com`), GCS at `gcs_endpoint` (default
    /// `https://storage.googleapis.com`). Errors: Azure, an unknown provider, missing paths or
    /// credentials.
    pub fn new(
        file: &FileDetail,
        s3_endpoint: Option<&str>,
        gcs_endpoint: Option<&str>,
        retry: RetryPolicy,
    ) -> anyhow::Result<SliceSource> {
        let store = match file.provider.as_str() {
            "aws" => {
                let path = file
                    .s3_path
                    .clone()
                    .ok_or_else(|| anyhow!("an aws file without s3Path"))?;
                let c = file
                    .credentials
                    .as_ref()
                    .ok_or_else(|| anyhow!("an aws file without credentials (was federationToken sent?)"))?;
                let creds = Credentials {
                    access_key_id: cred(c, "AccessKeyId")
                        .ok_or_else(|| anyhow!("credentials without AccessKeyId"))?,
                    secret_access_key: cred(c, "SecretAccessKey")
                        .ok_or_else(|| anyhow!("credentials without SecretAccessKey"))?,
                    session_token: cred(c, "SessionToken"),
                };
                let region = if file.region.is_empty() {
                    "us-east-1".to_string()
                } else {
                    file.region.clone()
                };
                Store::S3 {
                    endpoint: s3_endpoint
                        .map(|e| e.trim_end_matches('/').to_string())
                        .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com")),
                    region,
                    bucket: path.bucket,
                    key: path.key,
                    creds,
                }
            }
            "gcp" => {
                let path = file
                    .gcs_path
                    .clone()
                    .ok_or_else(|| anyhow!("a gcp file without gcsPath"))?;
                let token = file
                    .gcs_credentials
                    .as_ref()
                    .and_then(|c| cred(c, "access_token"))
                    .ok_or_else(|| anyhow!("a gcp file without gcsCredentials.access_token (was federationToken sent?)"))?;
                Store::Gcs {
                    endpoint: gcs_endpoint
                        .unwrap_or("https://storage.googleapis.com")
                        .trim_end_matches('/')
                        .to_string(),
                    bucket: path.bucket,
                    key: path.key,
                    token,
                }
            }
            "azure" => bail!(
                "the file is on Azure Blob Storage (provider `azure`): not supported yet; only aws (S3) and gcp (GCS) projects can be synced"
            ),
            other => bail!("unknown file storage provider `{other}` (supported: aws, gcp)"),
        };
        Ok(SliceSource {
            agent: agent(),
            retry,
            store,
        })
    }

    /// The object URLs to read, in order: the manifest's entries for a sliced file (fetched
    /// from the file's signed `url`), else the file itself. Errors: the manifest cannot be
    /// fetched or parsed, or an entry is not in the file's bucket.
    pub fn slices(&self, file: &FileDetail) -> anyhow::Result<Vec<String>> {
        let (scheme, bucket, key) = match &self.store {
            Store::S3 { bucket, key, .. } => ("s3", bucket, key),
            Store::Gcs { bucket, key, .. } => ("gs", bucket, key),
        };
        let own = format!("{scheme}://{bucket}/{key}");
        if !file.is_sliced {
            return Ok(vec![own]);
        }
        let body = send_with_retry(self.retry, || self.agent.get(&file.url).call())
            .map_err(|e| anyhow!("manifest: {e}"))?;
        let text = body
            .into_with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| anyhow!("manifest: {e}"))?;
        let urls = parse_manifest(&text).map_err(|e| anyhow!("manifest: {e:#}"))?;
        let prefix = format!("{scheme}://{bucket}/");
        for u in &urls {
            if !u.starts_with(&prefix) {
                bail!("manifest: entry `{u}` is not in the file's bucket ({prefix})");
            }
        }
        Ok(urls)
    }

    /// Open the object of a manifest entry URL (`s3://bucket/key`, `gs://bucket/key`) as a
    /// byte stream. Errors: the storage refuses it (403 for expired credentials, 404), after
    /// the retries of transient errors.
    pub fn open(&self, url: &str) -> anyhow::Result<Box<dyn Read + Send>> {
        let object = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(_, key)| key)
            .ok_or_else(|| anyhow!("not an object URL"))?;
        let body = match &self.store {
            Store::S3 {
                endpoint,
                region,
                bucket,
                creds,
                ..
            } => {
                let path = encode_path(&format!("/{bucket}/{object}"));
                let target = format!("{endpoint}{path}");
                let host = host_of(endpoint);
                send_with_retry(self.retry, || {
                    let mut req = self.agent.get(&target);
                    for (k, v) in sign_get(&host, &path, region, creds, chrono::Utc::now()) {
                        req = req.header(k, v);
                    }
                    req.call()
                })
            }
            Store::Gcs {
                endpoint,
                bucket,
                token,
                ..
            } => {
                let target = format!("{endpoint}{}", encode_path(&format!("/{bucket}/{object}")));
                send_with_retry(self.retry, || {
                    self.agent
                        .get(&target)
                        .header("Authorization", format!("Bearer {token}"))
                        .call()
                })
            }
        }
        .map_err(|e| anyhow!("{e}"))?;
        Ok(Box::new(body.into_reader()))
    }
}

/// The `Host` header value of an endpoint URL (`host` or `host:port`).
fn host_of(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

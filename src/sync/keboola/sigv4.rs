//! AWS Signature Version 4 for S3 requests (the `Authorization` header), as specified in
//! "Authenticating Requests: Using the Authorization Header (AWS Signature Version 4)" of the
//! Amazon S3 API reference. HMAC-SHA256 comes from the `hmac` and `sha2` crates; this module
//! only builds the canonical request and the string to sign.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The hash of an empty payload (a GET's body).
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Temporary (STS) or long-term AWS credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `AccessKeyId`.
    pub access_key_id: String,
    /// `SecretAccessKey`.
    pub secret_access_key: String,
    /// `SessionToken` of temporary credentials (sent as `x-amz-security-token`, signed).
    pub session_token: Option<String>,
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// Percent-encode a path for the canonical request: every byte but `A-Z a-z 0-9 - _ . ~` and
/// `/` (S3 encodes each path segment once).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The signature of a request: `method`, the encoded `path`, the canonical query string
/// (`""` for none), the signed `headers` as (lowercase name, trimmed value) sorted by name,
/// the payload's hex SHA-256 (or `UNSIGNED-PAYLOAD`), the request time `amz_date`
/// (`YYYYMMDDTHHMMSSZ`), `region` and `service` (`s3`). Returns the hex signature.
#[allow(clippy::too_many_arguments)]
pub fn signature(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    payload_hash: &str,
    amz_date: &str,
    region: &str,
    service: &str,
    secret_access_key: &str,
) -> String {
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let canonical = format!(
        "{method}\n{path}\n{query}\n{canonical_headers}\n{}\n{payload_hash}",
        signed.join(";")
    );
    let day = amz_date.get(..8).unwrap_or("");
    let scope = format!("{day}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(
        format!("AWS4{secret_access_key}").as_bytes(),
        day.as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex(&hmac(&k_signing, to_sign.as_bytes()))
}

/// The headers to send with an S3 `GET` of `path` (already [`encode_path`]d, e.g.
/// `/bucket/key`) on `host` (`host` or `host:port` as the `Host` header carries it), signed at
/// `now`: `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` (temporary
/// credentials) and `Authorization`.
pub fn sign_get(
    host: &str,
    path: &str,
    region: &str,
    creds: &Credentials,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, String)> {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let mut headers = vec![
        ("host".to_string(), host.to_string()),
        ("x-amz-content-sha256".to_string(), EMPTY_SHA256.to_string()),
        ("x-amz-date".to_string(), amz_date.clone()),
    ];
    if let Some(t) = &creds.session_token {
        headers.push(("x-amz-security-token".to_string(), t.clone()));
    }
    let sig = signature(
        "GET",
        path,
        "",
        &headers,
        EMPTY_SHA256,
        &amz_date,
        region,
        "s3",
        &creds.secret_access_key,
    );
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}/{region}/s3/aws4_request, SignedHeaders={}, Signature={sig}",
        creds.access_key_id,
        &amz_date[..8],
        names.join(";")
    );
    headers.retain(|(k, _)| k != "host");
    headers.push(("authorization".to_string(), auth));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `GET Object` example of the S3 API reference's SigV4 header-signing page.
    #[test]
    fn the_s3_reference_example_signs_as_documented() {
        let headers = vec![
            (
                "host".to_string(),
                "examplebucket.s3.amazonaws.com".to_string(),
            ),
            ("range".to_string(), "bytes=0-9".to_string()),
            ("x-amz-content-sha256".to_string(), EMPTY_SHA256.to_string()),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
        ];
        let sig = signature(
            "GET",
            "/test.txt",
            "",
            &headers,
            EMPTY_SHA256,
            "20130524T000000Z",
            "us-east-1",
            "s3",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(
            sig,
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(encode_path("/b/exp 1/a+b.csv"), "/b/exp%201/a%2Bb.csv");
    }
}

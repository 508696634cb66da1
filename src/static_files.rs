//! Serving files of a published tree over tiny_http, shared by `broker serve` and `gate`.
//!
//! - Paths: percent-decoded segments; `..`, NUL, backslash, bad escapes and non-UTF-8 are refused
//!   (400); an encoded slash (`%2f`) decodes to a separator and is checked like one; a file whose
//!   real path (symlinks followed) is outside the tree is not found.
//! - Responses: never chunked (exact `Content-Length`, also on `HEAD`: tiny_http sends any body of
//!   32 KiB or more chunked unless told otherwise, and DuckDB's httpfs then downloads whole files),
//!   `Accept-Ranges: bytes`, a strong `ETag`, `Last-Modified`, `304` for `If-None-Match` (or
//!   `If-Modified-Since` when no `If-None-Match` is sent), single byte ranges per RFC 9110 §14
//!   (`a-b`, `a-`, `-n`; 416 with `Content-Range: bytes */size`; several ranges or a syntax error
//!   give the whole file; `If-Range` compared with the strong ETag or the date). Bodies are
//!   streamed from the open file, never read into memory.

use std::io::Read;
use std::path::{Path, PathBuf};

use tiny_http::{Header, Request, Response, StatusCode};

use crate::site::pages::percent_decode;

/// A response whose body is read from a boxed reader.
pub type Body = Response<Box<dyn Read + Send>>;

/// The path segments of a request path (without the query), percent-decoded; `""` and `.`
/// segments are dropped.
///
/// `None` (answer 400): bad escapes, not UTF-8, a NUL, a backslash or a `..` segment.
pub fn segments(path: &str) -> Option<Vec<String>> {
    let decoded = String::from_utf8(percent_decode(path)?).ok()?;
    let mut out = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s if s.contains(['\0', '\\']) => return None,
            s => out.push(s.to_string()),
        }
    }
    Some(out)
}

/// Where a request path leads inside a tree.
#[derive(Debug)]
pub enum Resolved {
    /// A regular file (a folder's `index.html` for a folder), by its real path.
    File(PathBuf, std::fs::Metadata),
    /// A folder asked without the trailing slash: redirect to `path/` (relative links of its
    /// `index.html` need it).
    AddSlash,
    /// Nothing there (or only outside the tree, through a symlink).
    NotFound,
}

/// Resolve `segs` (from [`segments`]) under `root`, a canonical folder. `dir_slash` tells whether
/// the request path ended with `/`. Symlinks are followed, but the real path must stay under
/// `root`.
pub fn resolve(root: &Path, segs: &[String], dir_slash: bool) -> Resolved {
    let mut file = root.to_path_buf();
    file.extend(segs);
    let file = match std::fs::canonicalize(&file) {
        Ok(f) if f.starts_with(root) => f,
        _ => return Resolved::NotFound,
    };
    let file = if file.is_dir() {
        if !dir_slash && !segs.is_empty() {
            return Resolved::AddSlash;
        }
        match std::fs::canonicalize(file.join("index.html")) {
            Ok(f) if f.starts_with(root) => f,
            _ => return Resolved::NotFound,
        }
    } else {
        file
    };
    match std::fs::metadata(&file) {
        Ok(meta) if meta.is_file() => Resolved::File(file, meta),
        _ => Resolved::NotFound,
    }
}

/// A header; `None` when the value is not valid in a header (values are built by the caller,
/// escaped).
pub fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// `r` with the header added when it is valid.
pub fn with(r: Body, name: &str, value: &str) -> Body {
    match header(name, value) {
        Some(h) => r.with_header(h),
        None => r,
    }
}

/// `s` with every byte outside printable ASCII percent-encoded (for `Location`).
pub fn ascii_url(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A response of `len` bytes from `reader`, never chunked (exact `Content-Length`, also on HEAD).
pub fn response(status: u16, headers: Vec<Header>, reader: Box<dyn Read + Send>, len: u64) -> Body {
    Response::new(
        StatusCode(status),
        headers,
        reader,
        Some(usize::try_from(len).unwrap_or(usize::MAX)),
        None,
    )
    .with_chunked_threshold(usize::MAX)
}

/// A response with a body in memory and `Cache-Control: no-cache`.
pub fn bytes_response(status: u16, content_type: &str, body: Vec<u8>) -> Body {
    let len = body.len() as u64;
    response(
        status,
        [
            header("Content-Type", content_type),
            header("Cache-Control", "no-cache"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Box::new(std::io::Cursor::new(body)),
        len,
    )
}

/// A JSON body.
pub fn json_response(body: &str, status: u16) -> Body {
    bytes_response(status, "application/json", body.as_bytes().to_vec())
}

/// A plain-text body.
pub fn text_response(status: u16, text: &str) -> Body {
    bytes_response(
        status,
        "text/plain; charset=utf-8",
        text.as_bytes().to_vec(),
    )
}

/// The value of the first request header `name` (case-insensitive).
pub fn request_header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// A file answer whose body [`LargeFile::send`] sends itself: up to 64 KiB together with the
/// head in one write, a larger body after the head from the file to the socket by the kernel
/// (`sendfile`, through the patched tiny_http's `Request::respond_with_file`;
/// vendor/tiny_http/PATCHES.md). tiny_http alone copies a response
/// body through an 8 KiB buffer after writing the head apart, which halves the throughput of
/// large files and costs a page several system calls. [`file_reply`] gives one for every
/// non-empty `GET` body.
pub struct LargeFile {
    /// 200 or 206.
    pub status: u16,
    /// Headers but `Content-Length`, `Date` and `Connection`.
    pub headers: Vec<Header>,
    /// The file, positioned at the first byte to send.
    pub file: std::fs::File,
    /// Bytes to send.
    pub len: u64,
}

/// What [`file_reply`] answers.
pub enum Reply {
    /// A response for `Request::respond`.
    Small(Body),
    /// A large body to stream with [`LargeFile::send`].
    Large(LargeFile),
}

impl LargeFile {
    /// The same answer as an ordinary tiny_http response.
    pub fn into_body(self) -> Body {
        response(
            self.status,
            self.headers,
            Box::new(self.file.take(self.len)),
            self.len,
        )
    }

    /// Write the status line, the headers and the body to the client. HTTP/1.0 requests get
    /// [`LargeFile::into_body`] through tiny_http (which handles their connection rules).
    ///
    /// Errors: reading the file or writing to the client failed (the connection is then cut
    /// short, which the client sees as a truncated body).
    pub fn send(self, req: Request) -> std::io::Result<()> {
        use std::io::Write;
        let v = req.http_version();
        if (v.0, v.1) != (1, 1) {
            return req.respond(self.into_body());
        }
        let close =
            request_header(&req, "Connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            StatusCode(self.status).default_reason_phrase()
        );
        for h in &self.headers {
            head.push_str(&format!("{}: {}\r\n", h.field, h.value));
        }
        head.push_str(&format!(
            "Date: {}\r\nContent-Length: {}\r\n{}\r\n",
            httpdate::fmt_http_date(std::time::SystemTime::now()),
            self.len,
            if close { "Connection: close\r\n" } else { "" }
        ));
        if self.len > SMALL_BODY {
            return req.respond_with_file(head.as_bytes(), &self.file, self.len, sendfile);
        }
        // A page: head and body in one write (one system call and one segment fewer).
        let mut buf = Vec::with_capacity(head.len() + self.len as usize);
        buf.extend_from_slice(head.as_bytes());
        let mut f = self.file.take(self.len);
        f.read_to_end(&mut buf)?;
        if buf.len() != head.len() + self.len as usize {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let mut w = req.into_writer();
        w.write_all(&buf)?;
        w.flush()
    }
}

/// Bodies up to this size (bytes) are read and written with their head in one write; larger
/// ones go out with `sendfile(2)`.
const SMALL_BODY: u64 = 64 * 1024;

/// Send `len` bytes of `file` from its current position to `socket` with `sendfile(2)` (the
/// kernel copies from the page cache to the socket; the file position advances). Returns the
/// bytes sent, fewer when the file ended first. The published tree's files are replaced, never
/// rewritten in place, so bytes queued in the socket cannot change afterwards.
///
/// Errors: the socket's write timeout passed (`TimedOut`) or the client went away.
fn sendfile(socket: &std::net::TcpStream, file: &std::fs::File, len: u64) -> std::io::Result<u64> {
    use std::os::fd::AsRawFd;
    let mut sent = 0u64;
    while sent < len {
        let chunk = usize::try_from(len - sent)
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        // SAFETY: both descriptors are open for the duration of the call (borrowed), and a
        // null offset makes the kernel use and advance the file's own position.
        let n = unsafe {
            libc::sendfile(
                socket.as_raw_fd(),
                file.as_raw_fd(),
                std::ptr::null_mut(),
                chunk,
            )
        };
        match n {
            0 => break,
            n if n > 0 => sent += n as u64,
            _ => {
                let e = std::io::Error::last_os_error();
                match e.kind() {
                    std::io::ErrorKind::Interrupted => continue,
                    std::io::ErrorKind::WouldBlock => {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the client read nothing within the write timeout",
                        ))
                    }
                    _ => return Err(e),
                }
            }
        }
    }
    Ok(sent)
}

/// Answer `req` with the file `file` (metadata `meta`), honouring conditional and range headers
/// (see the module doc). `cache_control` is sent as is; `head` sends the headers only.
pub fn file_response(
    req: &Request,
    file: &Path,
    meta: &std::fs::Metadata,
    head: bool,
    cache_control: &str,
) -> Body {
    match file_reply(req, file, meta, head, cache_control) {
        Reply::Small(b) => b,
        Reply::Large(l) => l.into_body(),
    }
}

/// [`file_response`], with every non-empty `GET` body as [`Reply::Large`].
pub fn file_reply(
    req: &Request,
    file: &Path,
    meta: &std::fs::Metadata,
    head: bool,
    cache_control: &str,
) -> Reply {
    let Ok(f) = std::fs::File::open(file) else {
        return Reply::Small(text_response(404, "404 not found\n"));
    };
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let size = meta.len();
    let etag = etag(meta);
    let modified_at = meta.modified().ok();
    let modified = modified_at.map(httpdate::fmt_http_date).unwrap_or_default();
    let mut headers: Vec<Header> = [
        header("Content-Type", content_type(&ext)),
        header("Cache-Control", cache_control),
        header("Accept-Ranges", "bytes"),
        header("ETag", &etag),
        header("Last-Modified", &modified).filter(|_| !modified.is_empty()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let if_range_ok = request_header(req, "If-Range").is_none_or(|v| v == etag || v == modified);
    let range = match request_header(req, "Range").filter(|_| if_range_ok) {
        Some(r) => parse_range(r, size),
        None => ByteRange::Full,
    };
    match range {
        ByteRange::Full => {
            if not_modified(req, &etag, modified_at) {
                return Reply::Small(response(304, headers, Box::new(std::io::empty()), 0));
            }
            if head {
                return Reply::Small(response(200, headers, Box::new(std::io::empty()), size));
            }
            if size > 0 {
                return Reply::Large(LargeFile {
                    status: 200,
                    headers,
                    file: f,
                    len: size,
                });
            }
            Reply::Small(response(200, headers, Box::new(f), size))
        }
        ByteRange::Part(start, end) => {
            use std::io::{Seek, SeekFrom};
            let mut f = f;
            if f.seek(SeekFrom::Start(start)).is_err() {
                return Reply::Small(text_response(500, "500 cannot read the file\n"));
            }
            let len = end - start + 1;
            headers.extend(header(
                "Content-Range",
                &format!("bytes {start}-{end}/{size}"),
            ));
            if head {
                return Reply::Small(response(206, headers, Box::new(std::io::empty()), len));
            }
            if len > 0 {
                return Reply::Large(LargeFile {
                    status: 206,
                    headers,
                    file: f,
                    len,
                });
            }
            Reply::Small(response(206, headers, Box::new(f.take(len)), len))
        }
        ByteRange::Unsatisfiable => {
            headers.retain(|h| !h.field.equiv("Content-Type"));
            headers.extend(header("Content-Range", &format!("bytes */{size}")));
            Reply::Small(response(416, headers, Box::new(std::io::empty()), 0))
        }
    }
}

/// RFC 9110 §13.1.2/§13.1.3: `If-None-Match` (weak comparison, `*` matches) decides when sent;
/// otherwise `If-Modified-Since` (the file not newer than the date, to the second).
fn not_modified(req: &Request, etag: &str, modified: Option<std::time::SystemTime>) -> bool {
    if let Some(v) = request_header(req, "If-None-Match") {
        let bare = etag.trim_start_matches("W/");
        return v
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == bare);
    }
    match (
        request_header(req, "If-Modified-Since").and_then(|v| httpdate::parse_http_date(v).ok()),
        modified,
    ) {
        (Some(since), Some(m)) => {
            let secs = |t: std::time::SystemTime| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            };
            secs(m) <= secs(since)
        }
        _ => false,
    }
}

/// A strong validator of a file of a published build: builds never rewrite a file in place, so
/// inode, size and modification time identify its bytes.
pub fn etag(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "\"{:x}-{:x}-{:x}.{:x}\"",
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec()
    )
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// The whole file (no range, another unit, a syntax error or several ranges).
    Full,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// Nothing of the file: answer 416.
    Unsatisfiable,
}

/// RFC 9110 §14.1.2 for a single range; invalid or multi-range headers are ignored (whole file).
pub fn parse_range(header: &str, size: u64) -> ByteRange {
    let Some((unit, spec)) = header.trim().split_once('=') else {
        return ByteRange::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return ByteRange::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (a.is_empty(), num(a), num(b)) {
        // -n: the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part(size.saturating_sub(n), size - 1)
            }
        }
        (false, Some(start), None) if b.is_empty() => {
            if start >= size {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part(start, size - 1)
            }
        }
        (false, Some(start), Some(end)) if start <= end => {
            if start >= size {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part(start, end.min(size - 1))
            }
        }
        _ => ByteRange::Full,
    }
}

/// The `Content-Type` of a file by its lower-case extension.
pub fn content_type(ext: &str) -> &'static str {
    match ext {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "parquet" => "application/vnd.apache.parquet",
        "sql" => "application/sql; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "yaml" | "yml" => "application/yaml; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// HTML-escape text for element content and quoted attributes (the site's escaper,
/// [`crate::site::theme::html_escape`]).
pub use crate::site::theme::html_escape;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        use ByteRange::*;
        let cases: &[(&str, u64, ByteRange)] = &[
            ("bytes=0-9", 100, Part(0, 9)),
            ("bytes=90-200", 100, Part(90, 99)),
            ("bytes=5-", 100, Part(5, 99)),
            ("bytes=-8", 100, Part(92, 99)),
            ("bytes=-500", 100, Part(0, 99)),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=100-200", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=0-0", 0, Unsatisfiable),
            ("bytes=9-3", 100, Full),
            ("bytes=0-1,5-6", 100, Full),
            ("items=0-1", 100, Full),
            ("bytes=a-b", 100, Full),
            ("bytes=-", 100, Full),
            ("BYTES = 1-2", 100, Part(1, 2)),
        ];
        for (h, size, want) in cases {
            assert_eq!(&parse_range(h, *size), want, "{h} of {size}");
        }
    }

    #[test]
    fn traversal_and_bad_escapes_are_refused() {
        assert_eq!(segments("/a/./b/").unwrap(), vec!["a", "b"]);
        assert_eq!(segments("/a%20b").unwrap(), vec!["a b"]);
        for bad in [
            "/../x",
            "/a/%2e%2e/x",
            "/%2E%2E/x",
            "/a%2f..%2fb",
            "/%zz",
            "/%ff",
            "/a%00",
            "/a%5c..%5cb",
        ] {
            assert!(segments(bad).is_none(), "{bad}");
        }
    }
}

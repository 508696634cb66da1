//! Helpers shared by the integration tests: instances in temporary folders and the `broker`
//! binary run as a user runs it.
#![allow(dead_code)]

pub mod browser;
pub mod oidc_provider;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the demo instance).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copy a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A copy of the demo instance (config and content) in a temporary folder. With `csv`, its CSV
/// folder points there (made by [`sample_csv`]); without, the build generates the demo data.
pub fn demo_instance(csv: Option<&Path>) -> broker::testkit::TempDir {
    let dir = broker::testkit::tempdir().unwrap();
    copy_tree(&repo().join("content"), &dir.path().join("content"));
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let mut config = std::fs::read_to_string(repo().join("config/instance.yaml")).unwrap();
    if let Some(csv) = csv {
        assert!(config.contains("folder: state/sample-data"));
        config = config.replace(
            "folder: state/sample-data",
            &format!("folder: {}", csv.display()),
        );
    }
    std::fs::write(dir.path().join("config/instance.yaml"), config).unwrap();
    dir
}

/// An empty instance named `name` whose CSV data source is the folder `<dir>/csv` (created,
/// empty), with `content/` created and no tables declared yet.
pub fn csv_instance(name: &str) -> broker::testkit::TempDir {
    let dir = broker::testkit::tempdir().unwrap();
    let d = dir.path();
    for sub in ["config", "content", "csv"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::fs::write(
        d.join("config/instance.yaml"),
        format!("instance:\n  name: {name}\ndata_source:\n  type: csv\n  csv:\n    folder: csv\n"),
    )
    .unwrap();
    dir
}

/// Run `broker` with `args`.
pub fn broker(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_broker"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("broker runs")
}

/// Run `broker build --instance dir` and return the output.
pub fn build(dir: &Path) -> Output {
    broker(&["build", "--instance", dir.to_str().unwrap()])
}

/// Text of a command's stderr and stdout, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstderr:\n{}\nstdout:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    )
}

/// Generate the demo shop once per test binary at `size` into a folder that lives for the
/// whole run; returns its path.
pub fn sample_csv(size: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("broker-test-sample-{size}-{}", std::process::id()));
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap();
    if !dir.join("_manifest.json").exists() {
        let out = broker(&[
            "sample-data",
            "--size",
            size,
            "--seed",
            "42",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out));
    }
    dir
}

/// Every file under `root` (following the top-level symlink) with its bytes.
pub fn snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    let root = std::fs::canonicalize(root).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(&root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(&root).unwrap().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The profile of column `name` in a table's profile JSON (`{"columns": [{"name": ...}]}`);
/// panics naming the column when it is missing.
pub fn column<'a>(table: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name} in the profile"))
}

/// The entry of table `name` in a `broker build --json` summary.
pub fn summary_table<'a>(summary: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    summary["tables"]
        .as_array()
        .expect("a summary with tables")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name} in the summary {summary}"))
}

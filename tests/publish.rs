//! The published tree as readers see it, with the real `broker` binary: what `rsync` transfers
//! after a rebuild, readers during builds, the build lock, leftovers of killed builds, and the
//! order of fsyncs and renames.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use broker::publish::{LockInfo, Manifest};
use common::*;

/// The demo instance over a private copy of the demo shop's CSV files (size s) in `<dir>/csv`,
/// which the test may change: the `sample:` block is removed so the build never regenerates
/// them. `keep_builds` replaces the demo's 2 when given.
fn instance(keep_builds: Option<usize>) -> broker::testkit::TempDir {
    let shared = sample_csv("s");
    let inst = demo_instance(None);
    let csv = inst.path().join("csv");
    copy_tree(&shared, &csv);
    let path = inst.path().join("config/instance.yaml");
    let mut config = fs::read_to_string(&path).unwrap();
    for (from, to) in [
        ("folder: state/sample-data", "folder: csv".to_string()),
        (
            "    sample:\n      size: s\n      seed: 42\n",
            String::new(),
        ),
        (
            "keep_builds: 2",
            format!("keep_builds: {}", keep_builds.unwrap_or(2)),
        ),
    ] {
        assert!(config.contains(from), "instance.yaml changed: {from:?}");
        config = config.replace(from, &to);
    }
    fs::write(&path, config).unwrap();
    inst
}

fn build_ok(dir: &Path) -> String {
    let out = build(dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The build folder `public` points to now (read once).
fn resolve(output: &Path) -> std::io::Result<PathBuf> {
    let target = fs::read_link(output)?;
    Ok(output.parent().unwrap().join(target))
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip(test: &str, why: &str) {
    eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! SKIPPED {test}: {why}");
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
}

/// Keep the first `rows` data rows of `<dir>/csv/<table>.csv`, from the original copy.
fn keep_rows(dir: &Path, table: &str, rows: usize) {
    let original = sample_csv("s").join(format!("{table}.csv"));
    let text = fs::read_to_string(original).unwrap();
    let kept: Vec<&str> = text.lines().take(rows + 1).collect();
    fs::write(dir.join(format!("csv/{table}.csv")), kept.join("\n") + "\n").unwrap();
}

/// Check one build folder as a reader would use it: the manifest names this build; every listed
/// file has its size and SHA-256; every Parquet file decodes with the parquet crate to the
/// manifest's rows; the data folder holds exactly the listed files; meta/freshness.js is of the
/// same build. Returns the manifest.
fn check_tree(root: &Path, build_id: Option<&str>) -> Result<Manifest, String> {
    use sha2::Digest;
    use std::io::Read;
    let text = fs::read(root.join("meta/manifest.json")).map_err(|e| format!("manifest: {e}"))?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| format!("manifest: {e}"))?;
    if let Some(id) = build_id {
        if m.build_id != id {
            return Err(format!("manifest of {} in folder {id}", m.build_id));
        }
    }
    let freshness = fs::read_to_string(root.join("meta/freshness.js"))
        .map_err(|e| format!("freshness: {e}"))?;
    let freshness: serde_json::Value = freshness
        .strip_prefix("window.brokerFreshness = ")
        .and_then(|s| s.trim_end().strip_suffix(';'))
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| format!("meta/freshness.js: not a freshness script: {freshness}"))?;
    if freshness["built_at"] != m.built_at.as_str() {
        return Err(format!(
            "meta/freshness.js built at {} but manifest at {}",
            freshness["built_at"], m.built_at
        ));
    }
    for f in &m.files {
        let path = root.join(&f.path);
        let mut file = fs::File::open(&path).map_err(|e| format!("{}: {e}", f.path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| format!("{}: {e}", f.path))?;
        if bytes.len() as u64 != f.bytes {
            return Err(format!(
                "{}: {} bytes, manifest says {}",
                f.path,
                bytes.len(),
                f.bytes
            ));
        }
        let sha = format!("{:x}", sha2::Sha256::digest(&bytes));
        if sha != f.sha256 {
            return Err(format!("{}: sha256 differs from the manifest", f.path));
        }
        // Decode every row from the same open file.
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| format!("{}: parquet: {e}", f.path))?;
        let mut rows = 0u64;
        for batch in reader {
            rows += batch
                .map_err(|e| format!("{}: parquet: {e}", f.path))?
                .num_rows() as u64;
        }
        if rows != f.rows {
            return Err(format!("{}: {rows} rows, manifest says {}", f.path, f.rows));
        }
    }
    let on_disk: BTreeSet<String> = walkdir::WalkDir::new(root.join("data"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    let listed: BTreeSet<String> = m.files.iter().map(|f| f.path.clone()).collect();
    if on_disk != listed {
        return Err(format!(
            "data files {on_disk:?} but manifest lists {listed:?}"
        ));
    }
    Ok(m)
}

/// The files an rsync `--itemize-changes` run would transfer (`>f`, `<f`, `cf` lines), its
/// updated folders (`.d`, `cd` lines), and its deletions.
struct Itemized {
    files: BTreeSet<String>,
    dirs: BTreeSet<String>,
    other: Vec<String>,
}

fn rsync_itemize(args: &[&str]) -> Itemized {
    let out = Command::new("rsync").args(args).output().unwrap();
    assert!(out.status.success(), "rsync {args:?}: {}", text(&out));
    let mut it = Itemized {
        files: BTreeSet::new(),
        dirs: BTreeSet::new(),
        other: Vec::new(),
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (code, name) = line.split_at(line.find(' ').unwrap_or(0));
        let name = name.trim().to_string();
        let kind = code.as_bytes().get(1).copied();
        match kind {
            Some(b'f') => {
                it.files.insert(name);
            }
            Some(b'd') => {
                it.dirs.insert(name);
            }
            _ => it.other.push(line.to_string()),
        }
    }
    it
}

#[test]
fn a_rebuild_without_input_change_publishes_nothing_and_gives_rsync_nothing_to_transfer() {
    if !have("rsync") {
        return skip(
            "a_rebuild_without_input_change_publishes_nothing_and_gives_rsync_nothing_to_transfer",
            "rsync is not installed (apt-get install -y rsync; .ci/run does it)",
        );
    }
    let inst = instance(None);
    let dir = inst.path();
    let out = dir.join("public");
    build_ok(dir);
    let first = resolve(&out).unwrap();
    let first_id = first.file_name().unwrap().to_str().unwrap().to_string();
    let before = snapshot(&first);
    let copy = dir.join("analyst-copy");
    let status = Command::new("rsync")
        .args(["-a", &format!("{}/", out.display()), copy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let state_before = fs::read_to_string(dir.join("state/sync_state.json")).unwrap();
    // A rewritten file would get a later mtime second, which rsync's quick check would see.
    std::thread::sleep(Duration::from_millis(1100));
    let second = broker(&["build", "--json", "-q", "--instance", dir.to_str().unwrap()]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let summary: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(summary["published"], false, "{summary}");
    assert_eq!(summary["build_id"], first_id.as_str());
    assert_eq!(summary["status"], "ok");

    // The same build stays published, untouched, and no staging folder or new build is left.
    assert_eq!(resolve(&out).unwrap(), first);
    assert_eq!(snapshot(&first), before);
    let builds: Vec<String> = fs::read_dir(dir.join(".public.builds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(builds, std::slice::from_ref(&first_id));
    // The run is recorded in the state (each table's last run), which is not published.
    let state_after = fs::read_to_string(dir.join("state/sync_state.json")).unwrap();
    assert_ne!(state_after, state_before);

    let src = format!("{}/", out.display());
    let dst = format!("{}/", copy.display());
    let checksum = rsync_itemize(&[
        "-a",
        "--checksum",
        "--dry-run",
        "--itemize-changes",
        &src,
        &dst,
    ]);
    assert!(
        checksum.files.is_empty(),
        "rsync --checksum would transfer {:?}",
        checksum.files
    );
    assert!(
        checksum.dirs.is_empty(),
        "rsync would touch folders {:?}",
        checksum.dirs
    );
    assert!(checksum.other.is_empty(), "{:?}", checksum.other);
    let quick = rsync_itemize(&["-a", "--dry-run", "--itemize-changes", &src, &dst]);
    assert!(
        quick.files.is_empty(),
        "rsync quick check would transfer {:?}",
        quick.files
    );
    assert!(quick.other.is_empty(), "{:?}", quick.other);

    // A change of one table publishes a new build in which every other file is the previous
    // build's file: same inode, bytes and mtime.
    keep_rows(dir, "support_tickets", 400);
    build_ok(dir);
    let third = resolve(&out).unwrap();
    assert_ne!(third, first, "no new build was published");
    use std::os::unix::fs::MetadataExt;
    let m1 = check_tree(&first, None).unwrap();
    let m3 = check_tree(&third, None).unwrap();
    assert_eq!(m1.files.len(), 9);
    assert_eq!(m3.files.len(), 9);
    for f in &m3.files {
        let (a, b) = (
            fs::metadata(first.join(&f.path)).unwrap(),
            fs::metadata(third.join(&f.path)).unwrap(),
        );
        if f.table == "support_tickets" {
            assert_ne!(a.ino(), b.ino(), "{}", f.path);
        } else {
            assert_eq!(
                (a.ino(), a.mtime(), a.mtime_nsec()),
                (b.ino(), b.mtime(), b.mtime_nsec()),
                "{}",
                f.path
            );
        }
    }
}

/// What a reader thread saw.
#[derive(Default, Debug)]
struct Seen {
    rounds: usize,
    files: usize,
    bad: Vec<String>,
    pruned: usize,
    builds: HashSet<String>,
    ticket_rows: BTreeSet<u64>,
}

/// Run `builds` builds, each with a different number of support tickets, while `reader` runs in
/// a loop on another thread; returns what it saw and the ids of the builds.
fn builds_under_reader(
    dir: &Path,
    builds: usize,
    reader: impl Fn(&Path, &mut Seen) + Send + 'static,
) -> (Seen, Vec<String>) {
    build_ok(dir);
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let thread = {
        let (stop, seen, dir) = (stop.clone(), seen.clone(), dir.to_path_buf());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut s = seen.lock().unwrap();
                reader(&dir, &mut s);
            }
        })
    };
    let mut ids = Vec::new();
    for i in 0..builds {
        keep_rows(dir, "support_tickets", 480 - 40 * i);
        build_ok(dir);
        ids.push(
            resolve(&dir.join("public"))
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string(),
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (seen, ids)
}

/// A finished build's folder name, `20261129T154300.123Z` (not a `.partial` staging folder).
fn is_build_id(name: &str) -> bool {
    name.len() == 20
        && name.ends_with('Z')
        && name
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 'T' | 'Z' | '.'))
}

fn ticket_rows(m: &Manifest) -> u64 {
    m.files
        .iter()
        .find(|f| f.table == "support_tickets")
        .map(|f| f.rows)
        .unwrap_or(0)
}

#[test]
fn readers_resolving_the_symlink_once_see_whole_builds_while_builds_run() {
    let inst = instance(None);
    let (seen, ids) = builds_under_reader(inst.path(), 6, |dir, seen| {
        let out = dir.join("public");
        let root = match resolve(&out) {
            Ok(r) => r,
            Err(e) => {
                seen.bad.push(format!("readlink: {e}"));
                return;
            }
        };
        let id = root.file_name().unwrap().to_string_lossy().to_string();
        match check_tree(&root, Some(&id)) {
            Ok(m) => {
                seen.rounds += 1;
                seen.files += m.files.len();
                seen.ticket_rows.insert(ticket_rows(&m));
                seen.builds.insert(id);
            }
            // A published build pruned after keep_builds newer ones: the documented limit for a
            // slow reader (rsync reports vanished files), not a half-written or mixed tree.
            Err(_) if is_build_id(&id) && !root.exists() => seen.pruned += 1,
            Err(e) => seen.bad.push(format!("{id}: {e}")),
        }
    });
    eprintln!(
        "reader: {} rounds, {} files checked, {} builds seen of {}, ticket row counts {:?}, {} rounds on a pruned build",
        seen.rounds,
        seen.files,
        seen.builds.len(),
        ids.len() + 1,
        seen.ticket_rows,
        seen.pruned
    );
    assert!(
        seen.bad.is_empty(),
        "{} bad reads: {:?}",
        seen.bad.len(),
        seen.bad
    );
    assert!(
        seen.pruned <= seen.rounds / 10,
        "{} rounds on pruned builds",
        seen.pruned
    );
    assert!(seen.rounds >= 30, "only {} rounds", seen.rounds);
    assert_eq!(seen.files, seen.rounds * 9);
    assert!(
        seen.builds.len() >= 3,
        "reader saw builds {:?}",
        seen.builds
    );
    assert!(seen.ticket_rows.len() >= 3, "{:?}", seen.ticket_rows);
    assert!(seen
        .ticket_rows
        .is_subset(&(0..6).map(|i| 480 - 40 * i).chain([500]).collect()));
}

#[test]
fn the_documented_analyst_rsync_copies_one_whole_build_while_builds_run() {
    if !have("rsync") {
        return skip(
            "the_documented_analyst_rsync_copies_one_whole_build_while_builds_run",
            "rsync is not installed (apt-get install -y rsync; .ci/run does it)",
        );
    }
    let inst = instance(None);
    let (seen, ids) = builds_under_reader(inst.path(), 5, |dir, seen| {
        // docs/operations.md: build=$(ssh server readlink -f /srv/broker/public)
        //                     rsync -a --delete --checksum "server:$build/" ~/shop/
        let out = Command::new("readlink")
            .args(["-f", dir.join("public").to_str().unwrap()])
            .output()
            .unwrap();
        let build = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let copy = dir.join("shop");
        let rsync = Command::new("rsync")
            .args([
                "-a",
                "--delete",
                "--checksum",
                &format!("{build}/"),
                &format!("{}/", copy.display()),
            ])
            .output()
            .unwrap();
        let id = Path::new(&build)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if !rsync.status.success() {
            if is_build_id(&id) && !Path::new(&build).exists() {
                seen.pruned += 1;
            } else {
                seen.bad.push(format!("rsync: {}", text(&rsync)));
            }
            return;
        }
        match check_tree(&copy, Some(&id)) {
            Ok(m) => {
                seen.rounds += 1;
                seen.files += m.files.len();
                seen.ticket_rows.insert(ticket_rows(&m));
                seen.builds.insert(id);
            }
            Err(e) => seen.bad.push(format!("copy of {id}: {e}")),
        }
    });
    eprintln!(
        "analyst rsync: {} copies checked, {} files, {} builds copied of {}, {} runs on a pruned build",
        seen.rounds,
        seen.files,
        seen.builds.len(),
        ids.len() + 1,
        seen.pruned
    );
    assert!(
        seen.bad.is_empty(),
        "{} bad copies: {:?}",
        seen.bad.len(),
        seen.bad
    );
    assert!(
        seen.pruned <= seen.rounds,
        "{} runs on pruned builds",
        seen.pruned
    );
    assert!(seen.rounds >= 5, "only {} rounds", seen.rounds);
    assert!(seen.builds.len() >= 2, "copied builds {:?}", seen.builds);
}

/// Whether process `pid` is stopped (state `T` in /proc), waiting up to a second for a signal
/// to take effect; false when it exited.
fn stopped(pid: u32) -> bool {
    for _ in 0..1000 {
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        match stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next()) {
            Some('T') | Some('t') => return true,
            Some('Z') | Some('X') | None => return false,
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    false
}

/// Start `broker build` in the background and stop it (SIGSTOP) once it has created its staging
/// folder, so it holds the build lock with a build half done. Retries when the build ends first.
fn start_and_freeze(dir: &Path) -> Child {
    let builds = dir.join(".public.builds");
    for _ in 0..10 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_broker"))
            .args(["build", "-q", "--instance", dir.to_str().unwrap()])
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let staging = fs::read_dir(&builds).ok().is_some_and(|mut d| {
                d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".partial")))
            });
            if staging {
                signal(child.id(), "STOP");
                if stopped(child.id()) {
                    return child;
                }
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "build never started staging");
            std::thread::sleep(Duration::from_micros(500));
        }
        let _ = child.wait();
    }
    panic!("could not catch a build while it runs");
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -{sig} {pid}")])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {pid}");
}

fn lock_info(dir: &Path) -> Option<LockInfo> {
    serde_json::from_slice(&fs::read(dir.join("state/build.lock")).ok()?).ok()
}

fn partials(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir.join(".public.builds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_second_build_while_one_runs_exits_2_naming_the_running_build() {
    let inst = instance(None);
    let dir = inst.path();
    build_ok(dir);
    let before = snapshot(&dir.join("public"));
    let t0 = chrono::Utc::now() - chrono::Duration::seconds(1);
    let mut running = start_and_freeze(dir);
    let pid = running.id();
    let info = lock_info(dir).expect("the running build wrote its lock information");
    assert_eq!(info.pid, pid);
    assert_eq!(info.instance, "Demo Shop");
    let started = chrono::DateTime::parse_from_rfc3339(&info.started_at).unwrap();
    assert!(started >= t0 && started <= chrono::Utc::now(), "{started}");
    let staging = partials(dir);
    assert_eq!(staging.len(), 1);

    let second = build(dir);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    let instance_dir = std::fs::canonicalize(dir).unwrap();
    for want in [
        "another build of instance \"Demo Shop\"".to_string(),
        format!("PID {pid}, started {}", info.started_at),
        "is running".to_string(),
    ] {
        assert!(err.contains(&want), "{want:?} not in {err}");
    }
    assert!(
        err.contains(&instance_dir.display().to_string())
            || err.contains(&dir.display().to_string()),
        "instance folder not named: {err}"
    );
    let json = broker(&["build", "--json", "--instance", dir.to_str().unwrap()]);
    assert_eq!(json.status.code(), Some(2), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["status"], "locked");
    assert_eq!(v["running"]["pid"], pid);
    assert_eq!(v["running"]["started_at"], info.started_at.as_str());
    assert!(v["error"].as_str().unwrap().contains(&format!("PID {pid}")));
    // The refused builds touched nothing: the running build's staging and the published tree.
    assert_eq!(partials(dir), staging);
    assert_eq!(snapshot(&dir.join("public")), before);
    assert_eq!(lock_info(dir), Some(info));

    signal(pid, "CONT");
    assert_eq!(running.wait().unwrap().code(), Some(0));
    assert!(partials(dir).is_empty());
    assert_eq!(fs::read(dir.join("state/build.lock")).unwrap().len(), 0);
    check_tree(&resolve(&dir.join("public")).unwrap(), None).unwrap();
}

#[test]
fn a_killed_build_leaves_a_stale_lock_that_the_next_build_takes_over() {
    let inst = instance(None);
    let dir = inst.path();
    build_ok(dir);
    let mut killed = start_and_freeze(dir);
    let pid = killed.id();
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    let left = lock_info(dir).expect("a killed build leaves its lock information");
    assert_eq!(left.pid, pid);
    let err = build_ok(dir);
    let want = format!("took over a stale lock from PID {pid}");
    assert!(err.contains(&want), "{want:?} not in {err}");
    assert!(err.contains(&left.started_at), "{err}");
    // Released cleanly this time: the next build finds nothing stale.
    assert_eq!(fs::read(dir.join("state/build.lock")).unwrap().len(), 0);
    let err = build_ok(dir);
    assert!(!err.contains("stale"), "{err}");
}

#[test]
fn leftover_staging_of_killed_builds_is_removed_and_the_published_tree_kept() {
    let inst = instance(None);
    let dir = inst.path();
    build_ok(dir);
    let out = dir.join("public");
    let published = resolve(&out).unwrap();
    let before = snapshot(&out);
    // A real leftover: a build killed midway.
    keep_rows(dir, "support_tickets", 100);
    let mut killed = start_and_freeze(dir);
    killed.kill().unwrap();
    killed.wait().unwrap();
    // A fake one: staging with data, and the swap symlink of a build that died before its
    // rename.
    let fake = dir.join(".public.builds/20000101T000000.000Z.partial");
    fs::create_dir_all(fake.join("data/sales")).unwrap();
    fs::write(fake.join("data/sales/orders.parquet"), "half").unwrap();
    let swap = dir.join(".public.swap-20000101T000000.000Z");
    std::os::unix::fs::symlink(".public.builds/20000101T000000.000Z", &swap).unwrap();
    let left = partials(dir);
    assert_eq!(left.len(), 2, "{left:?}");
    assert_eq!(snapshot(&out), before, "the published tree changed");
    assert_eq!(resolve(&out).unwrap(), published);

    let err = build_ok(dir);
    assert!(partials(dir).is_empty(), "{:?}", partials(dir));
    assert!(fs::symlink_metadata(&swap).is_err(), "swap link left");
    for name in &left {
        assert!(
            err.contains(name.as_str()),
            "removal of {name} not logged: {err}"
        );
    }
    let now = resolve(&out).unwrap();
    assert_ne!(now, published);
    let m = check_tree(&now, now.file_name().and_then(|n| n.to_str())).unwrap();
    assert_eq!(ticket_rows(&m), 100);
    // The previous build is kept for readers still copying it, untouched.
    assert_eq!(snapshot(&published), before);
}

/// One line of an strace log: the syscall and its path arguments (`-y` shows a file descriptor's
/// path as `N</path>`).
struct Call {
    name: String,
    paths: Vec<String>,
}

fn parse_strace(log: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    for line in log.lines() {
        // "123 fsync(4</a/b>) = 0", "123 rename(\"/a\", \"/b\") = 0", "<... resumed>" lines
        // carry no new call.
        let rest = line
            .split_once(' ')
            .map(|(_, r)| r.trim_start())
            .unwrap_or("");
        let Some(open) = rest.find('(') else { continue };
        let name = &rest[..open];
        if name.starts_with('<') || name.starts_with('+') || name.contains(' ') {
            continue;
        }
        let args = &rest[open + 1..];
        let mut paths = Vec::new();
        let mut chars = args.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let close = match c {
                '"' => '"',
                '<' => '>',
                _ => continue,
            };
            if let Some(end) = args[i + 1..].find(close) {
                let path = &args[i + 1..i + 1 + end];
                if !path.starts_with("unfinished") && !path.starts_with("...") {
                    paths.push(path.to_string());
                }
                while chars.peek().is_some_and(|(j, _)| *j <= i + 1 + end) {
                    chars.next();
                }
            }
        }
        calls.push(Call {
            name: name.to_string(),
            paths,
        });
    }
    calls
}

fn traced_build(dir: &Path, log: &Path) {
    let out = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-o",
            log.to_str().unwrap(),
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,rmdir",
            env!("CARGO_BIN_EXE_broker"),
            "build",
            "-q",
            "--instance",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn publish_fsyncs_files_and_folders_before_the_rename_and_the_symlink_folder_after() {
    let can_trace = Command::new("strace")
        .args(["-f", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !can_trace {
        return skip(
            "publish_fsyncs_files_and_folders_before_the_rename_and_the_symlink_folder_after",
            "strace is missing or may not trace here (apt-get install -y strace; .ci/run does it)",
        );
    }
    // keep_builds 0: the second build prunes the first, after its swap is durable.
    let inst = instance(Some(0));
    let dir = fs::canonicalize(inst.path()).unwrap();
    let out = dir.join("public");
    let builds = dir.join(".public.builds");
    let mut checked_files = 0;
    // The previous build and the inodes of its files, by path in the tree.
    let mut previous: Option<(PathBuf, std::collections::HashMap<PathBuf, u64>)> = None;
    for round in 0..2 {
        if round == 1 {
            // A build that changes nothing publishes nothing: change one table.
            keep_rows(&dir, "support_tickets", 400);
        }
        let log = dir.join(format!("strace-{round}.log"));
        traced_build(&dir, &log);
        let calls = parse_strace(&fs::read_to_string(&log).unwrap());
        let root = resolve(&out).unwrap();
        let id = root.file_name().unwrap().to_str().unwrap().to_string();
        let staging = builds.join(format!("{id}.partial"));
        let s = |p: &Path| p.display().to_string();
        let at = |name: &str, paths: &[String]| {
            calls
                .iter()
                .position(|c| c.name.starts_with(name) && c.paths.ends_with(paths))
                .unwrap_or_else(|| panic!("no {name} {paths:?} in the trace"))
        };
        let fsynced_before = |path: &str, before: usize| {
            calls[..before]
                .iter()
                .any(|c| c.name == "fsync" && c.paths.first().is_some_and(|p| p == path))
        };
        let rename_root = at("rename", &[s(&staging), s(&root)]);
        let swap = at(
            "rename",
            &[s(&dir.join(format!(".public.swap-{id}"))), s(&out)],
        );
        let builds_synced = calls
            .iter()
            .position(|c| c.name == "fsync" && c.paths == [s(&builds)])
            .expect("builds folder fsynced");
        let parent_synced = calls
            .iter()
            .rposition(|c| c.name == "fsync" && c.paths == [s(&dir)])
            .expect("the symlink's folder fsynced");
        assert!(
            rename_root < builds_synced && builds_synced < swap,
            "{rename_root} {builds_synced} {swap}"
        );
        assert!(swap < parent_synced, "{swap} {parent_synced}");
        use std::os::unix::fs::MetadataExt;
        for e in walkdir::WalkDir::new(&root) {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(&root).unwrap();
            let staged = s(&staging.join(rel)).trim_end_matches('/').to_string();
            if e.file_type().is_dir() {
                assert!(
                    fsynced_before(&staged, rename_root),
                    "folder {staged} not fsynced"
                );
                continue;
            }
            // A file hard-linked from the previous build was made durable by that build.
            let linked = previous
                .as_ref()
                .is_some_and(|(_, inodes)| inodes.get(rel) == Some(&e.metadata().unwrap().ino()));
            if !linked {
                assert!(
                    fsynced_before(&staged, rename_root),
                    "file {staged} not fsynced"
                );
                checked_files += 1;
            }
        }
        if let Some((prev, _)) = &previous {
            assert!(!prev.exists(), "keep_builds 0 keeps no previous build");
            let first_removal = calls
                .iter()
                .position(|c| {
                    c.name.starts_with("unlink") && c.paths.iter().any(|p| p.starts_with(&s(prev)))
                })
                .expect("previous build removed");
            assert!(
                parent_synced < first_removal,
                "pruned before the swap was durable"
            );
        }
        let inodes = walkdir::WalkDir::new(&root)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(&root).unwrap().to_path_buf();
                (rel, e.metadata().unwrap().ino())
            })
            .collect();
        previous = Some((root, inodes));
        // The next build changes one table and keeps the others.
        keep_rows(&dir, "support_tickets", 300);
    }
    eprintln!("fsync order checked; {checked_files} new files fsynced before the rename");
    assert!(checked_files > 60, "{checked_files}");
}

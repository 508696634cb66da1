//! `broker init`: by flags against a fake Keboola project, and through its prompts on a
//! pseudo-terminal (util-linux `script`) for a folder of CSV files; each produced instance
//! builds.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use broker::testkit::keboola::{FakeKeboola, FakeTable};
use common::*;

const TOKEN: &str = "8631-412337-InitTestToken";

fn shop() -> Vec<FakeTable> {
    let mut orders = FakeTable::typed(
        "in.c-shop.orders",
        &[
            ("order_id", "INTEGER", None),
            ("amount", "NUMERIC", Some("12,2")),
        ],
    )
    .row(&[Some("1"), Some("9.90")], 1_748_900_000)
    .row(&[Some("2"), Some("0.10")], 1_748_900_001);
    orders.primary_key = vec!["order_id".into()];
    orders.description = Some("Orders of the web shop".into());
    orders.column_metadata = vec![(
        "amount".into(),
        "KBC.description".into(),
        "Order total in EUR".into(),
        "user".into(),
    )];
    let events = FakeTable::untyped("out.c-web.events", &["id", "kind"])
        .row(&[Some("e1"), Some("view")], 1_748_900_000);
    vec![orders, events]
}

fn init(dir: &std::path::Path, fake: &FakeKeboola) -> std::process::Output {
    broker(&[
        "init",
        "--instance",
        dir.to_str().unwrap(),
        "--name",
        "Acme: Data",
        "--domain",
        "acme.com,Acme.DE",
        "--source",
        "keboola",
        "--keboola-url",
        &fake.url,
        "--keboola-token",
        TOKEN,
        "--keboola-s3-endpoint",
        &fake.url,
        "--yes",
    ])
}

#[test]
fn init_by_flags_writes_a_keboola_instance_that_builds_and_a_rerun_adds_only_new_tables() {
    let fake = FakeKeboola::start(TOKEN, 8631, shop()).unwrap();
    let dir = broker::testkit::tempdir().unwrap();
    let d = dir.path();
    let out = init(d, &fake);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("project 8631 (Acme Analytics (test))"));

    let config = std::fs::read_to_string(d.join("config/instance.yaml")).unwrap();
    assert!(config.contains("type: keboola"), "{config}");
    assert!(config.contains("project_id: 8631"), "{config}");
    assert!(
        config.contains("token: ${KEBOOLA_STORAGE_TOKEN}"),
        "{config}"
    );
    assert!(!config.contains(TOKEN), "the token is only in .env");
    assert!(
        config.contains("\nauth:\n  allowed_domains: [acme.com, acme.de]\n"),
        "{config}"
    );
    let env = d.join(".env");
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        format!("KEBOOLA_STORAGE_TOKEN={TOKEN}\n")
    );
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let dd = std::fs::read_to_string(d.join("content/data_description.md")).unwrap();
    for want in [
        "id: in.c-shop.orders",
        "description: Orders of the web shop",
        "sync_strategy: incremental",
        "incremental_column: _timestamp",
        "description: Order total in EUR",
        "id: out.c-web.events",
        "sync_strategy: full_refresh",
        "folder: web",
    ] {
        assert!(dd.contains(want), "`{want}` in:\n{dd}");
    }
    let out = build(d);
    assert!(out.status.success(), "{}", text(&out));
    assert!(d.join("public/data/shop/orders.parquet").is_file());
    assert!(d.join("public/data/web/events.parquet").is_file());

    // Re-run: only the new table is added; .env and the config are left alone.
    std::fs::write(
        &env,
        "KEBOOLA_STORAGE_TOKEN=".to_string() + TOKEN + "\n# mine\n",
    )
    .unwrap();
    fake.state().tables.insert(
        "in.c-crm.leads".into(),
        FakeTable::untyped("in.c-crm.leads", &["lead"]).row(&[Some("x")], 1),
    );
    let out = init(d, &fake);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("added 1 tables"),
        "{}",
        text(&out)
    );
    let again = std::fs::read_to_string(d.join("content/data_description.md")).unwrap();
    assert!(again.starts_with(&dd));
    assert_eq!(again.matches("id: in.c-shop.orders").count(), 1);
    assert_eq!(again.matches("id: in.c-crm.leads").count(), 1);
    assert!(std::fs::read_to_string(&env).unwrap().contains("# mine"));
    assert_eq!(
        std::fs::read_to_string(d.join("config/instance.yaml")).unwrap(),
        config
    );
    let out = build(d);
    assert!(out.status.success(), "{}", text(&out));
    assert!(d.join("public/data/crm/leads.parquet").is_file());

    // A fresh instance beside an existing .env keeps that .env (no terminal to ask on).
    let other = broker::testkit::tempdir().unwrap();
    std::fs::write(other.path().join(".env"), "OTHER=1\n").unwrap();
    let out = init(other.path(), &fake);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(other.path().join(".env")).unwrap(),
        "OTHER=1\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("kept the existing"));

    // A wrong token stops init with Keboola's message.
    let bad = broker::testkit::tempdir().unwrap();
    let out = broker(&[
        "init",
        "--instance",
        bad.path().to_str().unwrap(),
        "--name",
        "x",
        "--source",
        "keboola",
        "--keboola-url",
        &fake.url,
        "--keboola-token",
        "nope",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("storage.tokenInvalid"),
        "{}",
        text(&out)
    );
    assert!(!bad.path().join("config/instance.yaml").exists());
}

#[test]
fn init_on_a_terminal_asks_its_questions_and_scans_csv_files_with_inferred_types() {
    let dir = broker::testkit::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("files")).unwrap();
    std::fs::write(
        d.join("files/Sales 2025.csv"),
        "id,amount,day,comment\n1,9.5,2025-01-02,hello\n2,10,2025-01-03,\n",
    )
    .unwrap();
    // `script` gives broker a pseudo-terminal; the answers are typed into it line by line.
    let cmd = format!(
        "{} init --instance {}",
        env!("CARGO_BIN_EXE_broker"),
        d.display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    for answer in ["Sales Desk", "acme.com", "csv", "files", "y"] {
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let screen = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", text(&out));
    for prompt in [
        "Instance name",
        "Company e-mail domain(s)",
        "Data source (keboola or csv) [keboola]",
        "Folder of CSV files [csv]",
        "1 CSV files found",
        "Run the first build now? (y/N)",
    ] {
        assert!(
            screen.contains(prompt),
            "`{prompt}` on the terminal:\n{screen}"
        );
    }
    let config = std::fs::read_to_string(d.join("config/instance.yaml")).unwrap();
    assert!(
        config.contains("name: Sales Desk") && config.contains("folder: files"),
        "{config}"
    );
    let dd = std::fs::read_to_string(d.join("content/data_description.md")).unwrap();
    for want in [
        "name: sales_2025",
        "file: Sales 2025.csv",
        "type: int64",
        "type: float64",
        "type: date",
        "type: string",
    ] {
        assert!(dd.contains(want), "`{want}` in:\n{dd}");
    }
    // The first build ran.
    assert!(
        d.join("public/data/tables/sales_2025.parquet").is_file(),
        "{screen}"
    );
}

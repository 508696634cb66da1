//! Config stage: `config/instance.yaml` of an instance folder, with `${VAR}` taken from the
//! environment or the instance's `.env` file. Every error names the file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::sample_data::SampleSize;

/// The validated configuration of one instance. Paths are absolute.
#[derive(Debug, Clone)]
pub struct Config {
    /// The instance folder (holds `config/`, `content/`).
    pub instance_dir: PathBuf,
    /// The `instance.yaml` that was read.
    pub file: PathBuf,
    /// Instance name shown on every page.
    pub name: String,
    /// Subtitle under the name (may be empty).
    pub subtitle: String,
    /// White-label: the logo and accent colours (`instance.logo`, `instance.accent`,
    /// `instance.accent_dark`), checked.
    pub brand: crate::site::brand::Brand,
    /// Where tables come from.
    pub data_source: DataSource,
    /// The published output tree (what the gate serves and analysts rsync); a symlink to the
    /// current build once published.
    pub output: PathBuf,
    /// Sync state, locks and other files not for analysts.
    pub state: PathBuf,
    /// A theme folder overriding templates and static files of the embedded default theme.
    pub theme: Option<PathBuf>,
    /// Published builds kept besides the current one (for readers still syncing an older tree).
    pub keep_builds: usize,
    /// Catalog grouping: folder order and labels.
    pub catalog: CatalogConfig,
    /// Where analysts copy the published tree from, as rsync's `host:/path` of `output`
    /// (`rsync_source` in instance.yaml); default `server:<output>`, with `server` to be
    /// replaced by the host's name. Shown in the table pages' copy commands.
    pub rsync_source: String,
    /// Caps on profiling every table (`profile: {sample_rows, time_budget_s}`); tables may
    /// override them.
    pub profile: crate::profile::ProfileSettings,
}

/// Where tables come from.
#[derive(Debug, Clone)]
pub enum DataSource {
    /// CSV files in a folder, one per table.
    Csv {
        /// The folder (absolute).
        folder: PathBuf,
        /// When set, the demo shop of this size and seed is generated into `folder` if it is
        /// missing or was generated with other settings (demo instances only).
        sample: Option<(SampleSize, u64)>,
    },
    /// A Keboola project through its Storage API (see [`crate::sync::keboola`]).
    Keboola(crate::sync::keboola::KeboolaSettings),
}

/// How the catalog groups tables.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// Folder keys in display order; folders not listed follow alphabetically.
    #[serde(default)]
    pub order: Vec<String>,
    /// Display label per folder key.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    instance: RawInstance,
    data_source: RawDataSource,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    theme: Option<String>,
    #[serde(default)]
    keep_builds: Option<usize>,
    #[serde(default)]
    catalog: CatalogConfig,
    #[serde(default)]
    profile: crate::profile::ProfileSettings,
    #[serde(default)]
    rsync_source: Option<String>,
    /// Sign-in settings of `gate` (read by `crate::gate::config`; `broker build` ignores them).
    #[serde(default)]
    #[allow(dead_code)]
    auth: Option<serde_yaml::Value>,
    /// `gate`'s server settings (workers, timeouts, connection cap; read by
    /// `crate::gate::config`; `broker build` ignores them).
    #[serde(default)]
    #[allow(dead_code)]
    gate: Option<serde_yaml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    name: String,
    #[serde(default)]
    subtitle: Option<String>,
    #[serde(default)]
    logo: Option<String>,
    #[serde(default)]
    accent: Option<String>,
    #[serde(default)]
    accent_dark: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataSource {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    csv: Option<RawCsv>,
    #[serde(default)]
    keboola: Option<RawKeboola>,
}

/// `data_source.keboola` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeboola {
    url: String,
    #[serde(default)]
    project_id: Option<u64>,
    token: String,
    #[serde(default)]
    s3_endpoint: Option<String>,
    #[serde(default)]
    gcs_endpoint: Option<String>,
    #[serde(default)]
    retry_attempts: Option<u32>,
    #[serde(default)]
    retry_base_ms: Option<u64>,
    #[serde(default)]
    job_timeout_s: Option<u64>,
    #[serde(default)]
    poll_max_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsv {
    folder: String,
    #[serde(default)]
    sample: Option<RawSample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSample {
    size: SampleSize,
    #[serde(default = "default_seed")]
    seed: u64,
}

fn default_seed() -> u64 {
    42
}

/// Parse a configuration file's `text` (after `${VAR}` interpolation) as `T`.
///
/// Errors: not YAML or not of `T`'s shape, as `<file>:<line>: <what>`.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, file: &Path) -> anyhow::Result<T> {
    serde_yaml::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(1);
        let msg = e.to_string();
        let msg = msg.rfind(" at line ").map(|i| &msg[..i]).unwrap_or(&msg);
        anyhow::anyhow!("{}:{line}: {msg}", file.display())
    })
}

/// The 1-based line of the first `key:` in `text` (1 when absent), for error messages.
pub fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(&format!("{key}:")))
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Replace every `${NAME}` in `text` with `vars[NAME]`. Lines starting with `#` are left alone.
/// Errors name `file`, the line and the key on that line, for a variable that is not set.
pub fn interpolate(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    file: &Path,
) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') || !line.contains("${") {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                bail!("{}:{}: `${{` without a closing `}}`", file.display(), n + 1);
            };
            let name = &after[..end];
            match vars(name) {
                Some(v) => out.push_str(&v),
                None => {
                    let key = line.split(':').next().unwrap_or("").trim();
                    bail!(
                        "{}:{}: key `{key}`: environment variable `{name}` is not set (set it in the environment or in the instance's .env)",
                        file.display(),
                        n + 1
                    );
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

impl CatalogConfig {
    /// `folders` in display order: those named in `order` first, in that order, then the rest
    /// alphabetically.
    pub fn ordered<'a>(&self, folders: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let mut all: Vec<&str> = folders.into_iter().collect();
        all.sort();
        all.dedup();
        all.sort_by_key(|f| self.order.iter().position(|o| o == f).unwrap_or(usize::MAX));
        all
    }

    /// The display label of `folder`: its `labels` entry, else the folder key itself.
    pub fn label<'a>(&'a self, folder: &'a str) -> &'a str {
        self.labels
            .get(folder)
            .map(String::as_str)
            .unwrap_or(folder)
    }
}

impl Config {
    /// Load `<instance_dir>/config/instance.yaml`.
    ///
    /// Errors: the file is missing or not YAML; unknown or missing keys; an unset `${VAR}`; an
    /// unsupported `data_source.type`. Each message names the file, the line and the key.
    pub fn load(instance_dir: &Path) -> anyhow::Result<Config> {
        let instance_dir = std::path::absolute(instance_dir)
            .with_context(|| format!("{}: not a usable folder", instance_dir.display()))?;
        let file = instance_dir.join("config").join("instance.yaml");
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "{}: cannot read the instance configuration (is {} an instance folder?)",
                file.display(),
                instance_dir.display()
            )
        })?;
        let dotenv = read_dotenv(&instance_dir.join(".env"))?;
        let lookup = |k: &str| std::env::var(k).ok().or_else(|| dotenv.get(k).cloned());
        let text = interpolate(&text, &lookup, &file)?;
        let raw: RawConfig = parse_yaml(&text, &file)?;
        let line_of = |key: &str| line_of(&text, key);
        if raw.instance.name.trim().is_empty() {
            bail!(
                "{}:{}: key `instance.name`: must not be empty",
                file.display(),
                line_of("name")
            );
        }
        let data_source = match raw.data_source.kind.as_str() {
            "csv" => {
                let Some(csv) = raw.data_source.csv else {
                    bail!(
                        "{}:{}: key `data_source.csv`: missing; a csv data source needs `csv: {{folder: ...}}`",
                        file.display(),
                        line_of("type")
                    );
                };
                DataSource::Csv {
                    folder: instance_dir.join(csv.folder),
                    sample: csv.sample.map(|s| (s.size, s.seed)),
                }
            }
            "keboola" => {
                let Some(k) = raw.data_source.keboola else {
                    bail!(
                        "{}:{}: key `data_source.keboola`: missing; a keboola data source needs `keboola: {{url: https://connection.keboola.com, project_id: 1234, token: ${{KEBOOLA_STORAGE_TOKEN}}}}`",
                        file.display(),
                        line_of("type")
                    );
                };
                let url = k.url.trim().trim_end_matches('/').to_string();
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    bail!(
                        "{}:{}: key `data_source.keboola.url`: `{url}` is not an http(s) URL (e.g. https://connection.keboola.com)",
                        file.display(),
                        line_of("url")
                    );
                }
                if k.token.trim().is_empty() {
                    bail!(
                        "{}:{}: key `data_source.keboola.token`: empty; set KEBOOLA_STORAGE_TOKEN in .env",
                        file.display(),
                        line_of("token")
                    );
                }
                DataSource::Keboola(crate::sync::keboola::KeboolaSettings {
                    url,
                    project_id: k.project_id,
                    token: k.token.trim().to_string(),
                    s3_endpoint: k.s3_endpoint,
                    gcs_endpoint: k.gcs_endpoint,
                    retry: crate::sync::keboola::client::RetryPolicy {
                        attempts: k.retry_attempts.unwrap_or(6).max(1),
                        base: std::time::Duration::from_millis(k.retry_base_ms.unwrap_or(1000)),
                    },
                    job_timeout: std::time::Duration::from_secs(k.job_timeout_s.unwrap_or(3600)),
                    poll_max: std::time::Duration::from_millis(k.poll_max_ms.unwrap_or(5000)),
                })
            }
            other => bail!(
                "{}:{}: key `data_source.type`: `{other}` is not supported yet (supported: csv, keboola)",
                file.display(),
                line_of("type")
            ),
        };
        let output = instance_dir.join(raw.output.as_deref().unwrap_or("public"));
        let brand = load_brand(&raw.instance, &instance_dir, &file, &line_of)?;
        Ok(Config {
            rsync_source: raw
                .rsync_source
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("server:{}", output.display())),
            output,
            name: raw.instance.name.trim().to_string(),
            brand,
            subtitle: raw.instance.subtitle.unwrap_or_default().trim().to_string(),
            data_source,
            state: instance_dir.join(raw.state.as_deref().unwrap_or("state")),
            theme: raw.theme.map(|t| instance_dir.join(t)),
            keep_builds: raw.keep_builds.unwrap_or(2),
            catalog: raw.catalog,
            profile: raw.profile,
            file,
            instance_dir,
        })
    }

    /// The instance's `content/` folder.
    pub fn content_dir(&self) -> PathBuf {
        self.instance_dir.join("content")
    }
}

/// Check `instance.logo`, `instance.accent` and `instance.accent_dark`.
fn load_brand(
    raw: &RawInstance,
    instance_dir: &Path,
    file: &Path,
    line_of: &dyn Fn(&str) -> usize,
) -> anyhow::Result<crate::site::brand::Brand> {
    use crate::site::brand::{parse_colour, sanitize_svg, Accent, Brand, Logo};
    let at = |key: &str| format!("{}:{}", file.display(), line_of(key));
    let accent = match (&raw.accent, &raw.accent_dark) {
        (None, None) => None,
        (None, Some(_)) => bail!(
            "{}: key `instance.accent_dark`: needs `instance.accent` too",
            at("accent_dark")
        ),
        (Some(light), dark) => {
            let light = parse_colour(&at("accent"), "instance.accent", light)?;
            let dark = dark
                .as_deref()
                .map(|d| parse_colour(&at("accent_dark"), "instance.accent_dark", d))
                .transpose()?;
            Some(Accent::new(light, dark))
        }
    };
    let logo = match raw.logo.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(value) => {
            let path = instance_dir.join(value);
            if path.is_file() {
                if !value.to_ascii_lowercase().ends_with(".svg") {
                    bail!(
                        "{}: key `instance.logo`: `{value}` is not an .svg file (a logo is an SVG file or a URL path like /static/logo.svg)",
                        at("logo")
                    );
                }
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "{}: key `instance.logo`: {}: cannot read as UTF-8 text",
                        at("logo"),
                        path.display()
                    )
                })?;
                let clean = sanitize_svg(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: key `instance.logo`: {}: not accepted as a logo: {e}",
                        at("logo"),
                        path.display()
                    )
                })?;
                Some(Logo::Svg {
                    source: path,
                    svg: clean.svg,
                    removed: clean.removed,
                })
            } else if value.starts_with('/')
                && !value.starts_with("//")
                && value.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'/' | b'.' | b'-' | b'_' | b'~' | b'%')
                })
            {
                Some(Logo::Url(value.to_string()))
            } else {
                bail!(
                    "{}: key `instance.logo`: `{value}`: no such file in the instance folder, and not a URL path on this site (like /static/logo.svg; network URLs are not allowed)",
                    at("logo")
                );
            }
        }
    };
    Ok(Brand { logo, accent })
}

/// The variables of a `.env` file (none when it does not exist).
///
/// Errors: the file cannot be read or is not valid `.env` syntax (message names the file).
pub fn read_dotenv(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    if !path.exists() {
        return Ok(vars);
    }
    for item in
        dotenvy::from_path_iter(path).with_context(|| format!("{}: cannot read", path.display()))?
    {
        let (k, v) = item.with_context(|| format!("{}: not a valid .env file", path.display()))?;
        vars.insert(k, v);
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_names_file_line_and_key() {
        let vars = |k: &str| (k == "A").then(|| "x".to_string());
        let f = Path::new("i.yaml");
        assert_eq!(
            interpolate("a: ${A}-${A}\n# ${B}\n", &vars, f).unwrap(),
            "a: x-x\n# ${B}\n"
        );
        let e = interpolate("a: 1\n  token: ${B}\n", &vars, f).unwrap_err();
        assert_eq!(
            e.to_string(),
            "i.yaml:2: key `token`: environment variable `B` is not set (set it in the environment or in the instance's .env)"
        );
    }

    #[test]
    fn catalog_order_then_alphabetical_and_labels() {
        let c = CatalogConfig {
            order: vec!["sales".into(), "crm".into()],
            labels: [("crm".to_string(), "Customers".to_string())].into(),
        };
        assert_eq!(
            c.ordered(["zeta", "crm", "alpha", "sales", "crm"]),
            vec!["sales", "crm", "alpha", "zeta"]
        );
        assert_eq!(c.label("crm"), "Customers");
        assert_eq!(c.label("alpha"), "alpha");
    }

    fn instance_with(yaml_instance: &str) -> crate::testkit::TempDir {
        let dir = crate::testkit::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/instance.yaml"),
            format!("instance:\n  name: X\n{yaml_instance}data_source:\n  type: csv\n  csv: {{folder: d}}\ntheme: acme\n"),
        )
        .unwrap();
        dir
    }

    #[test]
    fn brand_keys_are_checked() {
        use crate::site::brand::{Logo, Rgb};
        let dir = instance_with(
            "  accent: \"#0a7d5a\"\n  accent_dark: \"#7fd\"\n  logo: brand/logo.svg\n",
        );
        std::fs::create_dir_all(dir.path().join("brand")).unwrap();
        std::fs::write(
            dir.path().join("brand/logo.svg"),
            "<svg onload=\"x()\"><circle r=\"3\"/><script>x()</script></svg>",
        )
        .unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(c.theme, Some(dir.path().join("acme")));
        let accent = c.brand.accent.clone().unwrap();
        assert_eq!(accent.light, Rgb(0x0a, 0x7d, 0x5a));
        assert_eq!(accent.dark, Rgb(0x77, 0xff, 0xdd));
        match &c.brand.logo {
            Some(Logo::Svg { svg, removed, .. }) => {
                assert_eq!(
                    svg,
                    "<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"3\"/></svg>\n"
                );
                assert_eq!(removed, &["onload=\"…\" on <svg>", "<script>"]);
            }
            other => panic!("{other:?}"),
        }

        let dir = instance_with("  logo: /static/logo.svg\n");
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(c.brand.logo, Some(Logo::Url("/static/logo.svg".into())));
        assert!(c.brand.accent.is_none());

        for (yaml, needle) in [
            (
                "  accent: green\n",
                "instance.yaml:3: key `instance.accent`: `green` is not a colour",
            ),
            ("  accent: \"#12345\"\n", "`#12345` is not a colour"),
            (
                "  accent: \"#123\"\n  accent_dark: \"blue\"\n",
                "instance.yaml:4: key `instance.accent_dark`: `blue`",
            ),
            ("  accent_dark: \"#123\"\n", "needs `instance.accent`"),
            (
                "  logo: https://evil.example/logo.svg\n",
                "network URLs are not allowed",
            ),
            ("  logo: missing.svg\n", "`missing.svg`: no such file"),
            ("  logo: \"/x.svg\\\" onerror=\\\"y\"\n", "no such file"),
        ] {
            let dir = instance_with(yaml);
            let e = format!("{:#}", Config::load(dir.path()).unwrap_err());
            assert!(e.contains(needle), "{yaml}: {e}");
        }
        let dir = instance_with("  logo: logo.svg\n");
        std::fs::write(dir.path().join("logo.svg"), "<!DOCTYPE svg><svg/>").unwrap();
        let e = format!("{:#}", Config::load(dir.path()).unwrap_err());
        assert!(
            e.contains("logo.svg: not accepted as a logo: line 1: DOCTYPE"),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let dir = crate::testkit::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/instance.yaml"),
            "instance:\n  name: X\n  colour: red\ndata_source:\n  type: csv\n  csv: {folder: d}\n",
        )
        .unwrap();
        let e = Config::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("instance.yaml:3:") && e.contains("colour"),
            "{e}"
        );
    }
}

//! `gate tokens issue|revoke|list`.

use crate::gate::audit::AuditLog;
use crate::gate::config::GateConfig;
use crate::gate::store::{rfc3339, JsonFile};
use crate::gate::tokens::{self, TokensFile};
use crate::gate::users::normalize_email;

/// `gate tokens …`
#[derive(clap::Subcommand, Debug)]
pub enum TokensCmd {
    /// Issue a token for a user and print it (shown once).
    Issue {
        /// Email address the token acts as.
        email: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Days until it expires (default `auth.token_days`, 90).
        #[arg(long)]
        days: Option<u64>,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id (the 16 hex characters after `brk_`).
        id: String,
    },
    /// List tokens: id, address, name, issued, expires, last used.
    List {
        /// Only this address's tokens.
        email: Option<String>,
    },
}

/// Run a `gate tokens` subcommand.
///
/// Errors: a bad address or name, an unknown id, state files not writable.
pub fn run(config: &GateConfig, cmd: TokensCmd) -> anyhow::Result<()> {
    let store: JsonFile<TokensFile> = JsonFile::new(config.state_dir.join("tokens.json"));
    let audit = AuditLog::open(&config.audit_log)?;
    match cmd {
        TokensCmd::Issue { email, name, days } => {
            let email = normalize_email(&email).map_err(anyhow::Error::msg)?;
            let days = days.unwrap_or(config.token_days).clamp(1, 3650);
            let (id, token) = tokens::issue(&store, &email, &name, days)?;
            audit.log(
                "token_issued",
                serde_json::json!({"token": id, "email": email, "days": days, "by": "cli"}),
            );
            println!("{token}");
            eprintln!("token {id} for {email}, valid {days} days: shown once, store it now");
        }
        TokensCmd::Revoke { id } => {
            let id = id.trim().trim_start_matches("brk_");
            let id = id.split('_').next().unwrap_or(id);
            if !tokens::revoke(&store, id, None)? {
                anyhow::bail!("no token {id}");
            }
            audit.log(
                "token_revoked",
                serde_json::json!({"token": id, "by": "cli"}),
            );
            println!("revoked {id}");
        }
        TokensCmd::List { email } => {
            let email = email
                .map(|e| normalize_email(&e).map_err(anyhow::Error::msg))
                .transpose()?;
            let f = store.get()?;
            for (id, t) in &f.tokens {
                if email.as_ref().is_some_and(|e| *e != t.email) {
                    continue;
                }
                println!(
                    "{id}\t{}\t{}\t{}\t{}\t{}",
                    t.email,
                    t.name,
                    rfc3339(t.created),
                    rfc3339(t.expires),
                    t.last_used.map_or_else(|| "never".into(), rfc3339)
                );
            }
        }
    }
    Ok(())
}

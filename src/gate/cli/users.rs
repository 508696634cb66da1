//! `gate users add|remove|list|set-groups|link`.

use crate::gate::audit::AuditLog;
use crate::gate::config::GateConfig;
use crate::gate::links::{self, LinksFile, Purpose};
use crate::gate::server::SETUP_LINK_S;
use crate::gate::store::{now_s, JsonFile};
use crate::gate::users::{check_groups, normalize_email, User, UsersFile};

/// `gate users …`
#[derive(clap::Subcommand, Debug)]
pub enum UsersCmd {
    /// Add a user and print a password set-up link (24 hours, single use).
    Add {
        /// Email address.
        email: String,
        /// Groups, comma-separated (analyst, private, admin).
        #[arg(long, default_value = "analyst")]
        groups: String,
    },
    /// Remove a user (their sessions end at their next request).
    Remove {
        /// Email address.
        email: String,
    },
    /// List users: address, groups, whether a password is set.
    List,
    /// Replace a user's groups.
    SetGroups {
        /// Email address.
        email: String,
        /// Groups, comma-separated (analyst, private, admin).
        groups: String,
    },
    /// Print a new password set-up/reset link for a user (24 hours, single use).
    Link {
        /// Email address.
        email: String,
    },
}

/// Run a `gate users` subcommand.
///
/// Errors: a bad address or group, a missing or existing user, state files not writable.
pub fn run(config: &GateConfig, cmd: UsersCmd) -> anyhow::Result<()> {
    let users: JsonFile<UsersFile> = JsonFile::new(config.users_file.clone());
    let audit = AuditLog::open(&config.audit_log)?;
    let email_of = |e: &str| normalize_email(e).map_err(anyhow::Error::msg);
    match cmd {
        UsersCmd::Add { email, groups } => {
            let email = email_of(&email)?;
            let groups =
                check_groups(&[groups], &config.private_group).map_err(anyhow::Error::msg)?;
            users.update(|f| {
                if f.users.contains_key(&email) {
                    anyhow::bail!("{email} is already a user (use set-groups or link)");
                }
                f.users.insert(
                    email.clone(),
                    User {
                        groups: groups.clone(),
                        password_hash: None,
                        epoch: 0,
                        created: now_s(),
                    },
                );
                Ok(())
            })?;
            audit.log(
                "user_added",
                serde_json::json!({"email": email, "groups": groups, "by": "cli"}),
            );
            print_link(config, &email, 0)?;
        }
        UsersCmd::Remove { email } => {
            let email = email_of(&email)?;
            users.update(|f| {
                f.users
                    .remove(&email)
                    .map(|_| ())
                    .ok_or_else(|| anyhow::anyhow!("{email} is not a user"))
            })?;
            let _ = links::revoke_all(
                &JsonFile::<LinksFile>::new(config.state_dir.join("links.json")),
                &email,
            );
            audit.log(
                "user_removed",
                serde_json::json!({"email": email, "by": "cli"}),
            );
            println!("removed {email}");
        }
        UsersCmd::List => {
            let f = users.get()?;
            for (email, u) in &f.users {
                println!(
                    "{email}\t{}\t{}",
                    u.groups.join(","),
                    if u.password_hash.is_some() {
                        "password"
                    } else {
                        "no password"
                    }
                );
            }
        }
        UsersCmd::SetGroups { email, groups } => {
            let email = email_of(&email)?;
            let groups =
                check_groups(&[groups], &config.private_group).map_err(anyhow::Error::msg)?;
            users.update(|f| {
                let u = f
                    .users
                    .get_mut(&email)
                    .ok_or_else(|| anyhow::anyhow!("{email} is not a user (add them first)"))?;
                u.groups = groups.clone();
                Ok(())
            })?;
            audit.log(
                "groups_set",
                serde_json::json!({"email": email, "groups": groups, "by": "cli"}),
            );
            println!("{email}\t{}", groups.join(","));
        }
        UsersCmd::Link { email } => {
            let email = email_of(&email)?;
            let f = users.get()?;
            let u = f
                .users
                .get(&email)
                .ok_or_else(|| anyhow::anyhow!("{email} is not a user (add them first)"))?;
            print_link(config, &email, u.epoch)?;
        }
    }
    Ok(())
}

fn print_link(config: &GateConfig, email: &str, epoch: u64) -> anyhow::Result<()> {
    let store: JsonFile<LinksFile> = JsonFile::new(config.state_dir.join("links.json"));
    let token = links::issue(&store, email, Purpose::Password, SETUP_LINK_S, epoch, None)?;
    println!("{}/auth/password/set?token={token}", config.public_url);
    eprintln!("give this link to {email}: it sets their password, works once, for 24 hours");
    Ok(())
}

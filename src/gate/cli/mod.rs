//! The `gate` command line: `gate --config config/instance.yaml [--bind ADDR] [--dev]` serves;
//! `gate users …` and `gate tokens …` manage the users file and API tokens.

pub mod serve;
pub mod tokens;
pub mod users;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::gate::config::{Env, GateConfig};

/// Sign-in in front of the catalog built by `broker build`.
#[derive(Parser, Debug)]
#[command(name = "gate", version, about, long_about = None)]
pub struct Cli {
    /// The instance configuration (its `auth:` section and `output`).
    #[arg(long, global = true, default_value = "config/instance.yaml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub serve: serve::Args,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands; without one, `gate` serves.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage the users file (groups, password set-up links).
    #[command(subcommand)]
    Users(users::UsersCmd),
    /// Issue, revoke and list API tokens.
    #[command(subcommand)]
    Tokens(tokens::TokensCmd),
}

/// Run the command line; returns the exit code (0 ok, 1 refused/failed, 2 bad configuration).
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        None => serve::run(&cli.config, cli.serve),
        Some(Command::Users(c)) => with_config(&cli.config, |g| users::run(g, c)),
        Some(Command::Tokens(c)) => with_config(&cli.config, |g| tokens::run(g, c)),
    }
}

/// Load the configuration, then run `f`; errors are printed as `gate: error: …`.
fn with_config(path: &Path, f: impl FnOnce(&GateConfig) -> anyhow::Result<()>) -> i32 {
    let config = match Env::load(path).and_then(|env| GateConfig::load(path, &env)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gate: error: {e:#}");
            return 2;
        }
    };
    match f(&config) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("gate: error: {e:#}");
            1
        }
    }
}

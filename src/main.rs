//! The `broker` command line: parses arguments and hands each subcommand to `broker::cmd`.

use clap::{Parser, Subcommand};

/// A data broker for AI analysts: typed Parquet, profiles, metrics and a static catalog.
#[derive(Parser)]
#[command(name = "broker", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sync every table, profile it, run the metrics and publish the catalog site.
    Build(broker::cmd::build::Args),
    /// Check the data source: the configuration, the Keboola token and project, and that every
    /// declared table exists. Reads no table data.
    Doctor(broker::cmd::doctor::Args),
    /// Set up an instance: config, .env and data_description.md from a Keboola project or a
    /// folder of CSV files (prompts on a terminal; flags for scripts). Run again to add new tables.
    Init(broker::cmd::init::Args),
    /// Write the deterministic demo shop (9 tables of CSV) into a folder.
    SampleData(broker::cmd::sample_data::Args),
    /// Profile Parquet files (each PATH a file or a folder of files is one table) and print
    /// the profiles as JSON.
    Profile(broker::cmd::profile::Args),
    /// Serve the catalog on 127.0.0.1:8000, rebuild what an edit of content, config or theme
    /// needs, and reload open pages.
    Serve(broker::cmd::serve::Args),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Build(args) => broker::cmd::build::run(args),
        Command::Init(args) => broker::cmd::init::run(args),
        Command::Doctor(args) => broker::cmd::doctor::run(args),
        Command::SampleData(args) => broker::cmd::sample_data::run(args),
        Command::Profile(args) => broker::cmd::profile::run(args),
        Command::Serve(args) => broker::cmd::serve::run(args),
    };
    std::process::exit(code);
}

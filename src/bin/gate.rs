//! The `gate` binary: sign-in in front of the catalog (see `broker::gate`).

use clap::Parser;

fn main() {
    let cli = broker::gate::cli::Cli::parse();
    std::process::exit(broker::gate::cli::run(cli));
}

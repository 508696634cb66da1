//! One file per subcommand. Each exposes a clap `Args` struct and a `run` function that returns
//! the process exit code: 0 all went well, 1 some table or metric failed, 2 usage or configuration
//! error.

pub mod build;
pub mod doctor;
pub mod init;
pub mod profile;
pub mod sample_data;
pub mod serve;

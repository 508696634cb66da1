//! broker: a data broker for AI analysts.
//!
//! `broker build` runs the pipeline stages in order, each a module with one job:
//! [`config`] → [`content`] → [`sync`] → [`profile`] → [`metrics`] → [`site`] → [`publish`].
//! Data flows forward only; no stage reaches back.
//!
//! [`gate`] is the second binary's library: sign-in in front of the published tree.

pub mod cmd;
pub mod config;
pub mod content;
pub mod gate;
pub mod metrics;
pub mod profile;
pub mod publish;
pub mod report;
pub mod sample_data;
pub mod site;
pub mod state;
pub mod static_files;
pub mod sync;
pub mod testkit;

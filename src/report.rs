//! What a run tells its user: one plain line per event on stderr (fit for cron logs and
//! terminals alike), `-q` for errors only, `-v` for details; colour only on a terminal and never
//! when `NO_COLOR` is set.

use std::io::IsTerminal;

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Stage and table lines.
    Normal,
    /// Also details (timings per query, files linked).
    Verbose,
}

impl Verbosity {
    /// The verbosity of a command's `-q`/`--quiet` and `-v`/`--verbose` flags (normal when
    /// neither is set; clap makes them exclusive).
    pub fn from_flags(quiet: bool, verbose: bool) -> Verbosity {
        if quiet {
            Verbosity::Quiet
        } else if verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }
}

/// Writes progress lines to stderr.
#[derive(Debug, Clone)]
pub struct Reporter {
    verbosity: Verbosity,
    colour: bool,
    started: std::time::Instant,
}

impl Reporter {
    /// A reporter at `verbosity`; colour when stderr is a terminal and `NO_COLOR` is unset.
    pub fn new(verbosity: Verbosity) -> Reporter {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Reporter {
            verbosity,
            colour,
            started: std::time::Instant::now(),
        }
    }

    fn line(&self, tag: &str, code: &str, text: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        if self.colour {
            eprintln!("{secs:7.2}s \x1b[{code}m{tag:<5}\x1b[0m {text}");
        } else {
            eprintln!("{secs:7.2}s {tag:<5} {text}");
        }
    }

    /// A normal progress line.
    pub fn info(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.line("info", "36", text);
        }
    }

    /// A detail line, shown with `-v`.
    pub fn detail(&self, text: &str) {
        if self.verbosity >= Verbosity::Verbose {
            self.line("debug", "2", text);
        }
    }

    /// A warning: something the user should fix, the build goes on.
    pub fn warn(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.line("warn", "33", text);
        }
    }

    /// An error: always shown. Multi-line messages are indented under the first line.
    pub fn error(&self, text: &str) {
        let text = text.replace('\n', "\n               ");
        self.line("error", "31", &text);
    }
}

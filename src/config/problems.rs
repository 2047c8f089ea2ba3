//! Validation findings and the loading errors: each problem names its field path, what
//! is wrong and the fix.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use super::{KeyUse, CONFIG_ENV};

/// A finding of validation: the field path, what is wrong, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
    pub fix: String,
}

impl Problem {
    fn new(path: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if !self.fix.is_empty() {
            write!(f, "; fix: {}", self.fix)?;
        }
        Ok(())
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}; fix: pass the right file with --config/-c or {CONFIG_ENV}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config file {path} has {n} problem(s):\n{list}", n = problems.len(), list = bullet_list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn bullet_list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What validation found so far: errors, warnings, and how the command uses the key.
pub(super) struct Findings {
    pub(super) errors: Vec<Problem>,
    pub(super) warnings: Vec<Problem>,
    pub(super) key: KeyUse,
}

impl Findings {
    pub(super) fn error(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.errors.push(Problem::new(path, message, fix));
    }

    pub(super) fn warn(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.warnings.push(Problem::new(path, message, fix));
    }

    pub(super) fn range<T: PartialOrd + fmt::Display + Copy>(
        &mut self,
        path: &str,
        v: T,
        lo: T,
        hi: T,
        why: &str,
    ) {
        if v < lo || v > hi {
            self.error(
                path,
                format!("{v} is out of range {lo}..={hi}{why}"),
                format!("set {path} between {lo} and {hi}"),
            );
        }
    }
}

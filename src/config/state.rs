//! `[state]`: where the state file lives.

use std::path::PathBuf;

use serde::Deserialize;

use super::default;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    #[serde(default = "default::state_path")]
    pub path: PathBuf,
}

impl Default for RawState {
    fn default() -> Self {
        RawState {
            path: default::state_path(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateConfig {
    pub path: PathBuf,
}

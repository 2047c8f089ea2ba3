//! Records the git commit for `--version` (`bp-failover 0.1.0 (abc1234)`).
//!
//! Sets `BP_FAILOVER_GIT_COMMIT` from, in order: the same variable in the build
//! environment (for builds without `.git`, e.g. a container build given the commit as a
//! build argument), `git rev-parse --short HEAD`, or `unknown` (no git, no repository,
//! e.g. `cargo install` from a source tarball). Rebuilds only when HEAD moves: it watches
//! the HEAD file and the branch ref file git reports (worktrees included), and only files
//! that exist, since cargo treats a missing watched file as always changed.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Watches a file inside the git directory (`HEAD`, `refs/heads/main`, …) if it exists.
fn watch_git_path(dir: &str, name: &str) {
    let path = git(&[
        "-C",
        dir,
        "rev-parse",
        "--path-format=absolute",
        "--git-path",
        name,
    ])
    .map(std::path::PathBuf::from)
    // git before 2.31 has no --path-format: the path is then relative to `dir`.
    .or_else(|| git(&["-C", dir, "rev-parse", "--git-path", name]).map(|p| Path::new(dir).join(p)));
    if let Some(p) = path.filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BP_FAILOVER_GIT_COMMIT");
    let from_env = std::env::var("BP_FAILOVER_GIT_COMMIT")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        });
    let commit = from_env.or_else(|| {
        // Only trust git when this crate is the top of the repository: a crate vendored
        // inside another repository must not report that repository's commit.
        let manifest = std::env::var("CARGO_MANIFEST_DIR").ok()?;
        let top = git(&["-C", &manifest, "rev-parse", "--show-toplevel"])?;
        let same = std::fs::canonicalize(&top).ok()? == std::fs::canonicalize(&manifest).ok()?;
        if !same {
            return None;
        }
        watch_git_path(&manifest, "HEAD");
        if let Some(r) = git(&["-C", &manifest, "symbolic-ref", "-q", "HEAD"]) {
            watch_git_path(&manifest, &r);
        }
        watch_git_path(&manifest, "packed-refs");
        git(&["-C", &manifest, "rev-parse", "--short", "HEAD"])
    });
    println!(
        "cargo:rustc-env=BP_FAILOVER_GIT_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".into())
    );
}

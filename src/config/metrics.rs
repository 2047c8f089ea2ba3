//! `[metrics]`: the HTTP server for `/metrics` and `/healthz`. The validated form is the
//! metrics layer's own [`MetricsConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::{default, Findings};
pub use crate::metrics::MetricsConfig;

/// `[metrics]` as written. Without the section, no HTTP server runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub listen: String,
    #[serde(default = "default::healthz_max_age_secs")]
    pub healthz_max_age_secs: u64,
}

pub(super) fn validate_metrics(m: &RawMetrics, f: &mut Findings) -> Option<MetricsConfig> {
    let n0 = f.errors.len();
    f.range(
        "metrics.healthz_max_age_secs",
        m.healthz_max_age_secs,
        5,
        3_600,
        "",
    );
    let listen = match m.listen.trim().parse::<SocketAddr>() {
        Ok(addr) => {
            if !addr.ip().is_loopback() {
                f.warn(
                    "metrics.listen",
                    format!("{addr} is reachable from other hosts: anyone who can connect sees the producer's health, keys and endpoints (redacted)"),
                    "listen on 127.0.0.1 behind a reverse proxy, or firewall the port to your Prometheus",
                );
            }
            Some(addr)
        }
        Err(_) => {
            f.error(
                "metrics.listen",
                format!("{:?} is not an IP address and port", m.listen),
                "write e.g. \"127.0.0.1:9810\" (a host name is not accepted)",
            );
            None
        }
    };
    (f.errors.len() == n0).then(|| MetricsConfig {
        listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9810))),
        healthz_max_age: Duration::from_secs(m.healthz_max_age_secs),
    })
}

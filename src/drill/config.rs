//! A ready-to-use bp-failover config for a running simulated network: its endpoints,
//! chain id, our producer with the `failover` permission, the observer's key written to a
//! 0600 file, and every data center with its signing key and node API.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::antelope::{ChainId, Name, PrivateKey, PublicKey};
use crate::keyfile::{write_new_key_file, KeyFileError};
use crate::keyswitch::RegAction;
use crate::sim::network::Network;

/// What goes into the file; [`config_toml`] renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigParts {
    pub endpoints: Vec<String>,
    pub chain_id: ChainId,
    pub request_timeout_ms: u64,
    pub account: String,
    pub permission: String,
    pub key_file: PathBuf,
    pub action: RegAction,
    /// `(name, signing key, finalizer key, node API)`.
    pub datacenters: Vec<(String, PublicKey, Option<String>, Option<String>)>,
    pub state_path: PathBuf,
}

#[derive(Serialize)]
struct File<'a> {
    chain: ChainT<'a>,
    producer: ProducerT<'a>,
    datacenter: Vec<DcT<'a>>,
    state: StateT,
}

#[derive(Serialize)]
struct ChainT<'a> {
    endpoints: &'a [String],
    chain_id: String,
    request_timeout_ms: u64,
}

#[derive(Serialize)]
struct ProducerT<'a> {
    account: &'a str,
    permission: &'a str,
    key_file: String,
    action: &'static str,
}

#[derive(Serialize)]
struct DcT<'a> {
    name: &'a str,
    signing_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    finalizer_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api: Option<&'a str>,
}

#[derive(Serialize)]
struct StateT {
    path: String,
}

/// Renders the config file (TOML).
pub fn config_toml(p: &ConfigParts) -> String {
    let file = File {
        chain: ChainT {
            endpoints: &p.endpoints,
            chain_id: p.chain_id.to_string(),
            request_timeout_ms: p.request_timeout_ms,
        },
        producer: ProducerT {
            account: &p.account,
            permission: &p.permission,
            key_file: p.key_file.to_string_lossy().into_owned(),
            action: match p.action {
                RegAction::Regproducer => "regproducer",
                RegAction::Regproducer2 => "regproducer2",
            },
        },
        datacenter: p
            .datacenters
            .iter()
            .map(|(name, key, fin, api)| DcT {
                name,
                signing_key: key.to_k1_string(),
                finalizer_key: fin.as_deref(),
                api: api.as_deref(),
            })
            .collect(),
        state: StateT {
            path: p.state_path.to_string_lossy().into_owned(),
        },
    };
    // Plain strings, numbers and arrays of tables: serialization cannot fail.
    toml::to_string(&file).unwrap_or_default()
}

/// Options for [`render_config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOptions {
    /// Directory for `failover.key` (mode 0600) and `state.json`; must exist.
    pub dir: PathBuf,
    /// Indices of the endpoints to list (`None`: all).
    pub endpoints: Option<Vec<usize>>,
    pub action: RegAction,
    /// Also list each data center's finalizer key (the bot then adds `actfinkey`).
    pub finalizer_keys: bool,
    pub request_timeout_ms: u64,
    /// k-of-n mode: this observer's `[msig]` section; its own key
    /// ([`msig_observer_key`]) goes to `failover.key` instead of the observer key.
    pub msig: Option<MsigOptions>,
}

/// One observer's `[msig]` section (see [`ConfigOptions::msig`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsigOptions {
    /// This observer's account (it signs as `observer@active`).
    pub observer: Name,
    pub threshold: u32,
    /// Every observer's account, this one's included.
    pub observers: Vec<Name>,
}

/// The private key of simulated observer account `observer` (k-of-n mode), derived from
/// the chain's seed.
pub fn msig_observer_key(seed: &str, observer: Name) -> PrivateKey {
    crate::sim::chain::derive_key(seed, &format!("msig/{observer}"))
}

impl ConfigOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ConfigOptions {
            dir: dir.into(),
            endpoints: None,
            action: RegAction::Regproducer,
            finalizer_keys: false,
            request_timeout_ms: 1500,
            msig: None,
        }
    }
}

/// Writes the observer's private key to `dir/failover.key` (0600, never overwriting) and
/// returns the config for `net`.
pub fn render_config(net: &Network, opts: &ConfigOptions) -> Result<String, KeyFileError> {
    let key_file = opts.dir.join("failover.key");
    let (chain_id, account, permission, key, dcs) = net.with_chain(|c| {
        (
            c.chain_id(),
            c.our_producer().to_string(),
            c.spec().failover_permission.to_string(),
            match &opts.msig {
                Some(m) => msig_observer_key(&c.spec().seed, m.observer),
                None => c.observer_key().clone(),
            },
            c.datacenters()
                .iter()
                .map(|d| (d.name.clone(), d.public_key(), d.finalizer_key.clone()))
                .collect::<Vec<_>>(),
        )
    });
    write_key(&key_file, &key)?;
    let all = net.endpoint_urls();
    let endpoints = match &opts.endpoints {
        None => all,
        Some(idx) => idx.iter().filter_map(|i| all.get(*i).cloned()).collect(),
    };
    let nodes = net.node_urls();
    let datacenters = dcs
        .into_iter()
        .map(|(name, key, fin)| {
            let api = nodes
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, u)| u.clone());
            (name, key, opts.finalizer_keys.then_some(fin), api)
        })
        .collect();
    let text = config_toml(&ConfigParts {
        endpoints,
        chain_id,
        request_timeout_ms: opts.request_timeout_ms,
        account,
        permission,
        key_file,
        action: opts.action,
        datacenters,
        state_path: opts.dir.join("state.json"),
    });
    Ok(match &opts.msig {
        Some(m) => with_msig_section(&text, m),
        None => text,
    })
}

/// `text` with `[producer]`'s `key_file` line moved to a new `[msig]` section for `m`.
fn with_msig_section(text: &str, m: &MsigOptions) -> String {
    let mut key_line = String::new();
    let mut out = String::new();
    for line in text.lines() {
        if key_line.is_empty() && line.starts_with("key_file") {
            key_line = line.to_string();
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let observers: Vec<String> = m
        .observers
        .iter()
        .map(|o| format!("\"{o}@active\""))
        .collect();
    out.push_str(&format!(
        "\n[msig]\nobserver = \"{}@active\"\n{key_line}\nthreshold = {}\nobservers = [{}]\n",
        m.observer,
        m.threshold,
        observers.join(", ")
    ));
    out
}

fn write_key(path: &Path, key: &PrivateKey) -> Result<(), KeyFileError> {
    write_new_key_file(path, key)?;
    Ok(())
}

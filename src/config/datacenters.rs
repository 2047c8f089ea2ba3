//! `[[datacenter]]`: the data centers in failover order, each with its signing key.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::{Findings, RawConfig};
use crate::antelope::PublicKey;
use crate::api::url::EndpointUrl;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatacenter {
    pub name: String,
    pub signing_key: String,
    #[serde(default)]
    pub finalizer_key: Option<String>,
    #[serde(default)]
    pub api: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datacenter {
    pub name: String,
    pub signing_key: PublicKey,
    /// `PUB_BLS_…`, checked loosely (prefix and alphabet), kept as text.
    pub finalizer_key: Option<String>,
    pub api: Option<EndpointUrl>,
}

impl RawConfig {
    pub(super) fn validate_datacenters(&self, f: &mut Findings) -> Option<Vec<Datacenter>> {
        let n0 = f.errors.len();
        if self.datacenters.len() < 2 {
            f.error(
                "datacenter",
                format!(
                    "has {} entr{}; failover needs a primary and at least one backup",
                    self.datacenters.len(),
                    if self.datacenters.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    }
                ),
                "add [[datacenter]] tables in failover order, the primary first",
            );
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut keys: HashMap<PublicKey, usize> = HashMap::new();
        let mut fin_keys: HashMap<String, usize> = HashMap::new();
        let mut apis: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        for (i, d) in self.datacenters.iter().enumerate() {
            let at = |k: &str| format!("datacenter[{i}].{k}");
            let name_ok = !d.name.is_empty()
                && d.name.len() <= 64
                && d.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !name_ok {
                f.error(
                    at("name"),
                    format!("{:?} is not a valid data center name", d.name),
                    "use 1-64 letters, digits, '-', '_' or '.'",
                );
            } else if let Some(j) = names.insert(d.name.to_ascii_lowercase(), i) {
                f.error(
                    at("name"),
                    format!("{:?} repeats datacenter[{j}].name", d.name),
                    "give each data center a unique name",
                );
            }
            let key = match d.signing_key.parse::<PublicKey>() {
                Ok(k) if k.is_null() => {
                    f.error(
                        at("signing_key"),
                        "is the null key (what unregprod writes)",
                        "set the block signing key this data center's node holds",
                    );
                    None
                }
                Ok(k) => {
                    if let Some(j) = keys.insert(k, i) {
                        f.error(
                            at("signing_key"),
                            format!("is the same key as datacenter[{j}].signing_key"),
                            "give each data center its own signing key; a shared key lets two nodes sign the same slots (double production)",
                        );
                    }
                    Some(k)
                }
                Err(e) => {
                    f.error(at("signing_key"), e.to_string(), "copy the PUB_K1_… (or EOS…) public key of this data center's signature-provider");
                    None
                }
            };
            if let Some(fk) = &d.finalizer_key {
                match check_bls_key(fk) {
                    Ok(()) => {
                        if let Some(j) = fin_keys.insert(fk.clone(), i) {
                            f.error(
                                at("finalizer_key"),
                                format!("is the same key as datacenter[{j}].finalizer_key"),
                                "give each data center its own finalizer key; two nodes voting with one key can be seen as double voting",
                            );
                        }
                    }
                    Err(e) => f.error(
                        at("finalizer_key"),
                        e,
                        "copy the PUB_BLS_… key registered with regfinkey",
                    ),
                }
            }
            let api = match &d.api {
                None => None,
                Some(text) => match EndpointUrl::parse(text) {
                    Ok(u) => {
                        if !apis.insert(u.expose().to_string()) {
                            f.error(
                                at("api"),
                                "repeats another data center's api",
                                "point each data center's api at its own node",
                            );
                        }
                        Some(u)
                    }
                    Err(e) => {
                        f.error(at("api"), e.to_string(), "write the URL of this data center's own nodeos API, e.g. http://10.0.1.5:8888");
                        None
                    }
                },
            };
            if let Some(signing_key) = key {
                out.push(Datacenter {
                    name: d.name.clone(),
                    signing_key,
                    finalizer_key: d.finalizer_key.clone(),
                    api,
                });
            }
        }
        (f.errors.len() == n0).then_some(out)
    }
}

/// Loose check of a BLS finalizer key: `PUB_BLS_` + base64url (no padding) of plausible
/// length (a G1 point with checksum is 134 characters).
fn check_bls_key(k: &str) -> Result<(), String> {
    let Some(body) = k.strip_prefix("PUB_BLS_") else {
        return Err("does not start with PUB_BLS_".into());
    };
    if !body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("has characters outside base64url (A-Z a-z 0-9 - _)".into());
    }
    if !(100..=200).contains(&body.len()) {
        return Err(format!(
            "has {} characters after PUB_BLS_, expected about 134",
            body.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bls_keys_are_checked_loosely() {
        // A published test key from the eos-system-contracts finalizer key tests.
        let k = "PUB_BLS_9Pbv53DbC9EDGGPEZUrlKuMGeXYWHzIPfmn-Ncrxj7sOTiTEOYIkcCgBrvfKYiIG0BsiafG1dRK9MV40aGWKREE4rWHpiDLIkHR91huq9CEdeZHUb2bRXvcxs0RAa7oADXSTmw";
        assert_eq!(check_bls_key(k), Ok(()));
        assert!(check_bls_key(&k[1..]).unwrap_err().contains("PUB_BLS_"));
        assert!(check_bls_key("PUB_BLS_abc").unwrap_err().contains("134"));
        assert!(check_bls_key(&k.replace('-', "+"))
            .unwrap_err()
            .contains("base64url"));
    }
}

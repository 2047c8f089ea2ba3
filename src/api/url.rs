//! Endpoint URLs that may carry secrets.
//!
//! Paid or private API endpoints often put an access token in the URL: in the userinfo
//! (`https://user:token@host`), the query (`?apikey=…`) or the path (`/v1/KEY/`). An
//! [`EndpointUrl`] keeps the full URL for making requests but prints only the scheme, host
//! and port, with `/…` appended when anything else was there (as lighthouse's
//! `SensitiveUrl` does). `Display`, `Debug`, `Serialize` and every error built from it show
//! the redacted form; [`EndpointUrl::expose`] is the one way to the secret-bearing form.

use std::fmt;

use reqwest::Url;
use serde::{Serialize, Serializer};
use thiserror::Error;

/// Why an endpoint URL was refused. Never contains the URL itself (it may hold a token).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlError {
    #[error(
        "not a valid URL ({0}); expected e.g. https://api.example.org or http://127.0.0.1:8888"
    )]
    Parse(String),
    #[error("scheme {0:?} is not supported; use http:// or https://")]
    Scheme(String),
    #[error("the URL has no host; expected e.g. https://api.example.org")]
    NoHost,
    #[error("the URL has a #fragment; remove it")]
    Fragment,
}

/// An `http(s)` base URL of a nodeos API (without `/v1/chain/…`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EndpointUrl {
    url: Url,
    redacted: String,
}

impl EndpointUrl {
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        let url = Url::parse(text.trim()).map_err(|e| UrlError::Parse(e.to_string()))?;
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(UrlError::Scheme(other.to_string())),
        }
        let Some(host) = url.host_str() else {
            return Err(UrlError::NoHost);
        };
        if url.fragment().is_some() {
            return Err(UrlError::Fragment);
        }
        let mut redacted = format!("{}://{}", url.scheme(), host);
        if let Some(port) = url.port() {
            redacted.push_str(&format!(":{port}"));
        }
        if !url.path().trim_end_matches('/').is_empty()
            || url.query().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            redacted.push_str("/…");
        }
        Ok(EndpointUrl { url, redacted })
    }

    /// The printable form: scheme, host, port, and `/…` if the URL had more.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The full URL, secrets included. Use only to make a request, never to print.
    pub fn expose(&self) -> &Url {
        &self.url
    }

    /// True when the URL carries userinfo or a query (likely credentials).
    pub fn has_credentials(&self) -> bool {
        !self.url.username().is_empty()
            || self.url.password().is_some()
            || self.url.query().is_some()
    }

    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }

    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// True for a loopback host (127.0.0.0/8, ::1, localhost).
    pub fn is_loopback(&self) -> bool {
        let host = self.host().trim_start_matches('[').trim_end_matches(']');
        match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => host.eq_ignore_ascii_case("localhost"),
        }
    }

    /// `<base path>/v1/chain/<method>`, keeping the query (some providers authenticate
    /// with a query parameter).
    pub fn api_url(&self, api: &str, method: &str) -> Url {
        let mut url = self.url.clone();
        let path = format!(
            "{}/v1/{api}/{method}",
            self.url.path().trim_end_matches('/')
        );
        url.set_path(&path);
        url
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EndpointUrl({})", self.redacted)
    }
}

impl Serialize for EndpointUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let u = EndpointUrl::parse("https://user:s3cret@api.example.org:8443/eos/?apikey=TOKEN")
            .unwrap();
        for shown in [
            u.to_string(),
            format!("{u:?}"),
            serde_json::to_string(&u).unwrap(),
        ] {
            assert!(
                !shown.contains("s3cret") && !shown.contains("TOKEN") && !shown.contains("user"),
                "{shown}"
            );
            assert!(shown.contains("https://api.example.org:8443/…"), "{shown}");
        }
        assert!(u.has_credentials());
        assert_eq!(
            u.api_url("chain", "get_info").as_str(),
            "https://user:s3cret@api.example.org:8443/eos/v1/chain/get_info?apikey=TOKEN"
        );
    }

    #[test]
    fn plain_urls_print_as_is() {
        let u = EndpointUrl::parse("http://127.0.0.1:8888/").unwrap();
        assert_eq!(u.to_string(), "http://127.0.0.1:8888");
        assert!(u.is_loopback() && !u.is_https() && !u.has_credentials());
        assert_eq!(
            u.api_url("chain", "get_info").as_str(),
            "http://127.0.0.1:8888/v1/chain/get_info"
        );
        assert!(EndpointUrl::parse("http://[::1]:80").unwrap().is_loopback());
        assert!(!EndpointUrl::parse("https://eos.greymass.com")
            .unwrap()
            .is_loopback());
    }

    #[test]
    fn bad_urls_are_refused_without_echo() {
        for (bad, want) in [
            ("ftp://x.org", "scheme"),
            ("api.example.org", "not a valid URL"),
            ("https://h.org/#frag", "fragment"),
            ("unix:/run/nodeos.sock", "scheme"),
        ] {
            let e = EndpointUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
        let e = EndpointUrl::parse("https://tok:SECRET@")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SECRET"), "{e}");
    }
}

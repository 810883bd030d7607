//! Origins (`scheme://host:port`) and the allow-list of origins that the
//! guest may send requests to.

use http::Uri;
use std::collections::BTreeSet;

/// Returns the origin of an absolute `http` or `https` URI in the form
/// `scheme://host:port`: scheme and host lowercase, port always explicit.
///
/// Returns `None` for other schemes, URIs without a host, and URIs with user
/// information (`user@host`), which an allow-list entry never matches.
pub fn origin_of(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };

    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    let port = authority.port_u16().unwrap_or(default_port);
    Some(format!("{scheme}://{host}:{port}"))
}

/// Parses an allow-list entry such as `https://MyVault.vault.azure.net` into
/// its normalized origin. The entry may end in `/` but carry no other path,
/// query or fragment.
pub fn normalize_origin(entry: &str) -> Result<String, String> {
    let uri: Uri = entry
        .parse()
        .map_err(|_| format!("invalid outbound origin {entry:?}: not a valid URI"))?;
    let has_path = uri.path_and_query().is_some_and(|p| p.as_str() != "/");
    if has_path || entry.contains('#') {
        return Err(format!(
            "invalid outbound origin {entry:?}: expected scheme://host:port with no path"
        ));
    }
    origin_of(&uri).ok_or_else(|| {
        format!("invalid outbound origin {entry:?}: expected an http or https URI with a host")
    })
}

/// The set of origins that outbound requests may go to.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    origins: BTreeSet<String>,
}

impl AllowList {
    /// Builds the allow-list from entries, normalizing each. Fails on the
    /// first invalid entry.
    pub fn from_entries<I, S>(entries: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let origins = entries
            .into_iter()
            .map(|entry| normalize_origin(entry.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { origins })
    }

    /// Returns true when `origin`, as produced by [`origin_of`], is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.contains(origin)
    }

    /// Returns the number of distinct allowed origins.
    pub fn len(&self) -> usize {
        self.origins.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(uri: &str) -> Option<String> {
        origin_of(&uri.parse().unwrap())
    }

    #[test]
    fn origin_adds_default_ports() {
        assert_eq!(origin("http://127.0.0.1/x").as_deref(), Some("http://127.0.0.1:80"));
        assert_eq!(
            origin("https://myvault.vault.azure.net/secrets/a?api-version=7.4").as_deref(),
            Some("https://myvault.vault.azure.net:443")
        );
    }

    #[test]
    fn origin_lowercases_scheme_and_host() {
        assert_eq!(
            origin("HTTPS://MyVault.Vault.Azure.NET:443/").as_deref(),
            Some("https://myvault.vault.azure.net:443")
        );
    }

    #[test]
    fn origin_keeps_explicit_port() {
        assert_eq!(
            origin("http://127.0.0.1:10002/devstoreaccount1/Tokens()").as_deref(),
            Some("http://127.0.0.1:10002")
        );
        assert_eq!(origin("http://[::1]:8080/").as_deref(), Some("http://[::1]:8080"));
    }

    #[test]
    fn origin_rejects_userinfo_and_other_schemes() {
        assert_eq!(origin("http://user@127.0.0.1:10002/"), None);
        assert_eq!(origin("ftp://example.com/"), None);
        assert_eq!(origin("/relative/path"), None);
    }

    #[test]
    fn normalize_accepts_trailing_slash() {
        assert_eq!(
            normalize_origin("https://MyVault.vault.azure.net/"),
            Ok("https://myvault.vault.azure.net:443".to_owned())
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:10002"),
            Ok("http://127.0.0.1:10002".to_owned())
        );
    }

    #[test]
    fn normalize_rejects_paths_and_bad_uris() {
        assert_eq!(
            normalize_origin("https://example.com/path"),
            Err("invalid outbound origin \"https://example.com/path\": expected scheme://host:port with no path".to_owned())
        );
        assert!(normalize_origin("https://example.com?x=1").is_err());
        assert!(normalize_origin("not a uri").is_err());
        assert!(normalize_origin("example.com").is_err());
    }

    #[test]
    fn allow_list_matches_exact_origin_only() {
        let list = AllowList::from_entries([
            "http://127.0.0.1:10002",
            "https://myvault.vault.azure.net:443",
        ])
        .unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.allows("http://127.0.0.1:10002"));
        assert!(list.allows("https://myvault.vault.azure.net:443"));
        assert!(!list.allows("http://127.0.0.1:10000"));
        assert!(!list.allows("https://127.0.0.1:10002"));
        assert!(!list.allows("https://evil.vault.azure.net:443"));
        assert!(!list.allows("http://169.254.169.254:80"));
    }
}

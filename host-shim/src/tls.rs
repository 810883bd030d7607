//! The rustls client configuration for outbound requests: the webpki roots,
//! plus the certificates of an optional extra PEM CA file.

use anyhow::{Context, bail};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

/// Builds the client configuration that every outbound TLS connection uses.
///
/// Certificates are always verified. `extra_ca_file`, when given, adds its
/// certificates as trusted roots, for example a test server's own CA.
pub fn client_config(extra_ca_file: Option<&Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca_file {
        add_pem_file(&mut roots, path)?;
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("failed to configure TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The outbound client speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Adds every certificate in the PEM file at `path` to `roots`.
fn add_pem_file(roots: &mut RootCertStore, path: &Path) -> anyhow::Result<()> {
    let display = path.display();
    let certificates = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("failed to read extra CA file {display}"))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("invalid PEM in extra CA file {display}"))?;
    if certificates.is_empty() {
        bail!("extra CA file {display} contains no PEM certificates; pass a file with at least one CERTIFICATE block");
    }

    for certificate in certificates {
        roots
            .add(certificate)
            .with_context(|| format!("invalid certificate in extra CA file {display}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_is_rejected() {
        let error = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(
            format!("{error:#}").starts_with("failed to read extra CA file /nonexistent/ca.pem"),
            "{error:#}"
        );
    }

    #[test]
    fn ca_file_without_certificates_is_rejected() {
        let path = std::env::temp_dir().join(format!("sharedmfa-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = client_config(Some(&path)).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(format!("{error:#}").contains("contains no PEM certificates"), "{error:#}");
    }

    #[test]
    fn default_config_uses_webpki_roots() {
        assert!(client_config(None).is_ok());
    }
}

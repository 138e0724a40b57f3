//! HTTPS for `serve` (`[http.tls]`): the certificate chain and private key from PEM files,
//! served with rustls (aws-lc-rs, TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1 by ALPN).

use std::sync::Arc;

use anyhow::Context;
use hydrant_config::TlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The server's TLS configuration, or why the files cannot be used (naming them).
pub fn server_config(tls: &TlsConfig) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_file)
        .with_context(|| {
            format!(
                "cannot read `http.tls.cert_file` `{}`",
                tls.cert_file.display()
            )
        })?
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!(
                "`http.tls.cert_file` `{}` holds no valid PEM certificate",
                tls.cert_file.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "`http.tls.cert_file` `{}` holds no certificate",
            tls.cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).with_context(|| {
        format!(
            "`http.tls.key_file` `{}` holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
            tls.key_file.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up failed")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and the private key in [http.tls] do not go together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

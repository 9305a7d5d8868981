//! HTTPS for the local server (`serve --tls`): a self-signed certificate made on first start and kept in the data
//! directory, so that clients which only speak HTTPS (Esri's ArcGIS API for Python rewrites `http://` to
//! `https://`) reach rsvp-local with nothing in between. API Gateway terminates TLS in AWS; this stands in for it.
//!
//! The key and its certificate are one PEM file, `<data-dir>/tls.pem`, readable by its owner only. It is written
//! whole under a temporary name and linked into place, so a crash or a second server starting at the same moment
//! never leaves half a file or two different certificates.

use std::io::{self, Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The file that keeps the server's private key and self-signed certificate.
pub const TLS_FILE: &str = "tls.pem";
/// A PEM key and certificate are a few KiB; a file much larger is not one this server wrote.
const MAX_TLS_FILE_BYTES: u64 = 64 * 1024;

/// The TLS acceptor for the certificate kept in `dir`, made on first use for `host` (the `--host` the server
/// listens on) besides `localhost`, `127.0.0.1` and `::1`.
pub fn load_or_create(dir: &Path, host: &str) -> io::Result<TlsAcceptor> {
    let file = dir.join(TLS_FILE);
    let pem = match read(&file) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => match create(dir, &file, host) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read(&file),
            created => created,
        },
        read => read,
    }?;
    acceptor(&pem).map_err(|e| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}; delete it to make a new one", file.display()))
    })
}

fn read(file: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(file)?.take(MAX_TLS_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_TLS_FILE_BYTES {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{} is too large", file.display())));
    }
    Ok(bytes)
}

/// Makes a key and a self-signed certificate and writes them to `file`, failing with `AlreadyExists` if another
/// process made one first.
fn create(dir: &Path, file: &Path, host: &str) -> io::Result<Vec<u8>> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(str::to_owned).into();
    let host = host.trim_matches(|c| c == '[' || c == ']');
    if !host.is_empty() && !names.iter().any(|n| n == host) {
        names.push(host.to_owned());
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let pem = format!("{}{}", certified.signing_key.serialize_pem(), certified.cert.pem()).into_bytes();
    let tmp = dir.join(format!("{TLS_FILE}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = write_private(&tmp, &pem).and_then(|()| std::fs::hard_link(&tmp, file));
    // The temporary name goes either way; the linked file, if any, stays.
    std::fs::remove_file(&tmp).ok();
    written.map(|()| pem)
}

/// Writes a new file readable by its owner only.
fn write_private(file: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file)?;
    out.write_all(bytes)?;
    out.sync_all()
}

/// A server configuration for the key and certificates in `pem`, speaking HTTP/2 and HTTP/1.1.
fn acceptor(pem: &[u8]) -> Result<TlsAcceptor, String> {
    let certs = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("it holds no certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("its private key is not readable: {e}"))?;
    let mut config =
        ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key).map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_made_once_kept_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("rsvp-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        load_or_create(&dir, "127.0.0.1").unwrap();
        let first = std::fs::read(dir.join(TLS_FILE)).unwrap();
        load_or_create(&dir, "127.0.0.1").unwrap();
        assert_eq!(std::fs::read(dir.join(TLS_FILE)).unwrap(), first, "a restart keeps the certificate");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(TLS_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(Result::ok).collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        std::fs::write(dir.join(TLS_FILE), "not a certificate").unwrap();
        let error = load_or_create(&dir, "127.0.0.1").err().unwrap();
        assert!(error.to_string().contains("delete it"), "{error}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

//! The local server as a portal (`serve --portal-url URL`): its id and name are made on first start and kept in
//! `<data-dir>/portal.json`, and its signing key in `<data-dir>/portal-signing.key` (see [`rsvp::sign::LocalSigner`]),
//! so a restart is the same portal to every other portal that knows it.

use std::io;
use std::path::Path;

use rsvp::domain::collaboration::{Portal, PortalId, PortalUrl};
use serde::{Deserialize, Serialize};

/// The file that keeps the portal's identity.
pub const PORTAL_FILE: &str = "portal.json";

#[derive(Serialize, Deserialize)]
struct Identity {
    id: PortalId,
    name: String,
}

/// This data directory's portal at `url`: the identity kept there, or a new one (named after the URL's host).
pub fn load_or_create(dir: &Path, url: PortalUrl) -> io::Result<Portal> {
    let file = dir.join(PORTAL_FILE);
    let identity = match std::fs::read(&file) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| io::Error::other(format!("{}: {e}", file.display())))?
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let id = PortalId::parse("id", &uuid::Uuid::new_v4().to_string()).map_err(io::Error::other)?;
            let identity = Identity { id, name: format!("rsvp portal {}", url.host()) };
            let tmp = file.with_extension("tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(&identity).map_err(io::Error::other)?)?;
            std::fs::rename(&tmp, &file)?;
            identity
        }
        Err(e) => return Err(e),
    };
    Ok(Portal { id: identity.id, url, name: identity.name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_portal_keeps_its_identity_across_starts() {
        let dir = std::env::temp_dir().join(format!("rsvp-portal-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = PortalUrl::parse("url", "https://guest.example", false).unwrap();
        let first = load_or_create(&dir, url.clone()).unwrap();
        let again = load_or_create(&dir, url).unwrap();
        assert_eq!(first, again);
        assert_eq!(first.name, "rsvp portal guest.example");
        std::fs::remove_dir_all(&dir).ok();
    }
}

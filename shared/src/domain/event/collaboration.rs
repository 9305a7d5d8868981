//! The portal dialect's events. A portal keeps no history entries: its changes are read from the records
//! themselves, a host's [`CollaborationInvitation`] (created, refreshed, invalidated, imported: its status and its
//! expiry) and the [`Participant`]s either portal keeps (the host, written on a guest when it accepts; either,
//! removed).
//!
//! - The subject is always the collaboration invitation, so one invitation's events are in order on each portal.
//! - The tenant is the host portal's id: a collaboration has no tenant, and both portals know its host.
//! - A participant carries no version, so its changes are numbered by [`participant_version`].
//! - No nonce, its hash or seal, signature, key or file: a file with its nonce is a credential.

use serde_json::{Map, Value, json};

use super::{Base, Event, EventType, Subject, SubjectType};
use crate::domain::Timestamp;
use crate::domain::collaboration::{
    AccessMode, CollaborationInvitation, InvitationStatus, Participant, PortalId, Side, WorkspaceId,
};

/// The events raised by a change of a host's invitation `new` from `old` (`None`: it was just written).
pub fn of_collaboration_invitation(old: Option<&CollaborationInvitation>, new: &CollaborationInvitation) -> Vec<Event> {
    let kind = match (old.map(|o| o.status), new.status) {
        (None, InvitationStatus::Created) => EventType::CollaborationInvitationCreated,
        (Some(InvitationStatus::Created), InvitationStatus::Invalidated) => {
            EventType::CollaborationInvitationInvalidated
        }
        (Some(InvitationStatus::Created), InvitationStatus::Imported) => EventType::CollaborationInvitationImported,
        // A refresh keeps the status and gives the file a new nonce.
        (Some(InvitationStatus::Created), InvitationStatus::Created)
            if old.is_some_and(|o| o.nonce_hash != new.nonce_hash) =>
        {
            EventType::CollaborationInvitationRefreshed
        }
        _ => return Vec::new(),
    };
    let subject = Subject { kind: SubjectType::CollaborationInvitation, id: new.id.to_string() };
    let base = Base { subject: &subject, tenant: new.request.host_portal_id.as_str(), version: new.version };
    let mut data = Map::new();
    data.insert("collaborationId".into(), json!(new.collaboration_id));
    data.insert("collaborationName".into(), json!(new.request.collaboration_name));
    data.insert("guestPortalUrl".into(), json!(new.guest_portal_url));
    if let Some(id) = &new.guest_portal_id {
        data.insert("guestPortalId".into(), json!(id));
    }
    data.insert("expires".into(), json!(new.expiration.to_rfc3339()));
    data.insert("access".into(), access(&new.access));
    vec![base.event(kind, new.modified, new.status.as_str(), None, data, "")]
}

/// The event a participant's record raises as it is written (`removed: None`) or removed at `removed`: a host
/// recorded on a guest is the guest's acceptance; a host's record of a guest is written with the import, which
/// [`of_collaboration_invitation`] tells.
pub fn of_participant(participant: &Participant, removed: Option<Timestamp>) -> Vec<Event> {
    let (kind, at, state) = match removed {
        None if participant.side == Side::Host => {
            (EventType::CollaborationInvitationAccepted, participant.joined, "guest_accepted")
        }
        None => return Vec::new(),
        Some(at) => (EventType::CollaborationParticipantRemoved, at, "removed"),
    };
    let subject = Subject { kind: SubjectType::CollaborationInvitation, id: participant.invitation_id.to_string() };
    let tenant = host_of(participant);
    let base = Base { subject: &subject, tenant: tenant.as_str(), version: participant_version(participant, removed) };
    let mut data = Map::new();
    data.insert("collaborationId".into(), json!(participant.collaboration_id));
    data.insert("portalId".into(), json!(participant.portal.id));
    data.insert("portalUrl".into(), json!(participant.portal.url));
    data.insert("portalName".into(), json!(participant.portal.name));
    data.insert("side".into(), json!(participant.side));
    data.insert("access".into(), access(&participant.access));
    // Both portals record the other under the same invitation: the portal recorded tells their events apart.
    vec![base.event(kind, at, state, None, data, participant.portal.id.as_str())]
}

/// A participant's changes in order: its writing, then its removal, numbered from the time it joined, so a portal
/// that leaves and joins again numbers its second stay after its first.
pub fn participant_version(participant: &Participant, removed: Option<Timestamp>) -> u64 {
    let joined = u64::try_from(participant.joined.millis()).unwrap_or_default();
    joined.saturating_mul(2) + u64::from(removed.is_some())
}

/// The collaboration's host: the participant itself on a guest, as recorded with it on a host.
fn host_of(participant: &Participant) -> PortalId {
    match (&participant.side, &participant.host_portal_id) {
        (Side::Host, _) => participant.portal.id.clone(),
        (Side::Guest, Some(host)) => host.clone(),
        // Recorded before the host was kept with its guests: the guest is the best name left.
        (Side::Guest, None) => participant.portal.id.clone(),
    }
}

fn access(access: &[(WorkspaceId, AccessMode)]) -> Value {
    access.iter().map(|(id, mode)| json!({"workspaceId": id, "accessMode": mode.as_str()})).collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::Secret;
    use crate::domain::collaboration::{Collaboration, Contact, InvitationResponse, Portal, PortalUrl, Workspace};

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn portal(id: &str) -> Portal {
        let url = PortalUrl::parse("url", &format!("https://{id}.example/portal"), false).unwrap();
        Portal { id: PortalId::parse("id", id).unwrap(), url, name: format!("{id} portal") }
    }

    fn contact() -> Contact {
        Contact::parse("Ada", "Admin", "ada@host.example").unwrap()
    }

    fn issue(c: &Collaboration, at: Timestamp) -> (CollaborationInvitation, Secret) {
        let access = vec![(c.workspaces[0].id, AccessMode::Send)];
        let (request, nonce) =
            CollaborationInvitation::request(c, portal("guest").url, &access, "host-key".into(), at, 72).unwrap();
        let sealed = "sealed-nonce".to_owned();
        (CollaborationInvitation::issued(request, access, "signature".into(), &nonce, sealed), nonce)
    }

    fn response(invitation: &CollaborationInvitation, nonce: &Secret) -> InvitationResponse {
        InvitationResponse {
            invitation_id: invitation.id,
            collaboration_id: invitation.collaboration_id,
            nonce: nonce.expose().to_owned(),
            guest_portal_id: portal("guest").id,
            guest_portal_url: portal("guest").url,
            guest_portal_name: "guest portal".into(),
            public_key: "guest-key".into(),
            contact_firstname: "Gus".into(),
            contact_lastname: "Guest".into(),
            contact_email_address: "gus@guest.example".into(),
            created: T0.millis(),
        }
    }

    fn participant(invitation: &CollaborationInvitation, side: Side, host: Option<PortalId>) -> Participant {
        Participant {
            collaboration_id: invitation.collaboration_id,
            portal: portal(if side == Side::Host { "host" } else { "guest" }),
            side,
            public_key: "key".into(),
            contact: contact(),
            access: invitation.access.clone(),
            invitation_id: invitation.id,
            joined: T0,
            sealed_nonce: None,
            host_portal_id: host,
        }
    }

    /// A whole two-portal collaboration as both portals write it, with every event raised on the way (the host's
    /// and the guest's, in that order), and the nonces and seal that must never show.
    pub(in crate::domain::event) fn two_portals() -> (Vec<Event>, Vec<Event>, Vec<String>, Participant) {
        let workspace = Workspace::create("Maps", None).unwrap();
        let c = Collaboration::create(portal("host"), "Flood data", None, workspace, contact(), T0).unwrap();
        let (created, first) = issue(&c, T0);
        let mut host = of_collaboration_invitation(None, &created);
        let later = T0.plus_minutes(60);
        let (request, nonce) = created.refresh_request("host-key".into(), later).unwrap();
        let refreshed = created.refreshed(request, "signature-2".into(), &nonce, "sealed-2".into(), later);
        host.extend(of_collaboration_invitation(Some(&created), &refreshed));
        let imported = refreshed.import(&response(&refreshed, &nonce), later).unwrap();
        host.extend(of_collaboration_invitation(Some(&refreshed), &imported));
        let guest_record = participant(&imported, Side::Guest, Some(c.host.id.clone()));
        host.extend(of_participant(&guest_record, None));
        host.extend(of_participant(&guest_record, Some(later.plus_minutes(1))));
        let (other, _) = issue(&c, later);
        let invalidated = other.invalidate(later).unwrap();
        host.extend(of_collaboration_invitation(Some(&other), &invalidated));

        let host_record = participant(&imported, Side::Host, None);
        let mut guest = of_participant(&host_record, None);
        guest.extend(of_participant(&host_record, Some(later.plus_minutes(2))));
        let secrets = vec![
            first.expose().to_owned(),
            nonce.expose().to_owned(),
            "sealed".into(),
            "signature".into(),
            "host-key".into(),
            "guest-key".into(),
        ];
        (host, guest, secrets, host_record)
    }

    fn types(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|e| e.kind.as_str()).collect()
    }

    #[test]
    fn both_portals_raise_each_change_once_under_the_hosts_name_and_no_secret() {
        let (host, guest, secrets, host_record) = two_portals();
        assert_eq!(
            types(&host),
            [
                "collaboration.invitation.created",
                "collaboration.invitation.refreshed",
                "collaboration.invitation.imported",
                "collaboration.participant.removed",
                "collaboration.invitation.invalidated",
            ],
            "the host's record of its guest is written with the import and raises nothing of its own"
        );
        assert_eq!(types(&guest), ["collaboration.invitation.accepted", "collaboration.participant.removed"]);
        for event in host.iter().chain(&guest) {
            assert_eq!(event.tenant, "host", "{event:?}");
            assert_eq!(event.subject.kind, SubjectType::CollaborationInvitation);
        }
        assert_eq!(host[2].data["guestPortalId"], "guest");
        assert_eq!(host[1].time, T0.plus_minutes(60).to_rfc3339());
        assert_ne!(host[0].data["expires"], host[1].data["expires"], "a refresh moves the expiry");
        assert_eq!((guest[0].data["side"].clone(), guest[0].state), (json!("host"), "guest_accepted"));
        let mut ids: Vec<&str> = host.iter().chain(&guest).map(|e| e.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), host.len() + guest.len(), "every event its own id");
        assert_eq!(
            of_participant(&host_record, None),
            guest[..1],
            "the same change raises the same event, id included"
        );
        let text = serde_json::to_string(&(host, guest)).unwrap();
        for secret in secrets {
            assert!(!text.contains(&secret), "{secret} in {text}");
        }
    }

    #[test]
    fn a_participant_that_leaves_and_joins_again_numbers_its_second_stay_after_its_first() {
        let (created, _) = {
            let workspace = Workspace::create("Maps", None).unwrap();
            let c = Collaboration::create(portal("host"), "Flood data", None, workspace, contact(), T0).unwrap();
            issue(&c, T0)
        };
        let first = participant(&created, Side::Host, None);
        let mut second = first.clone();
        second.joined = T0.plus_minutes(5);
        let versions = [
            participant_version(&first, None),
            participant_version(&first, Some(T0.plus_minutes(1))),
            participant_version(&second, None),
            participant_version(&second, Some(T0.plus_minutes(6))),
        ];
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        // No change of a record that is no change: an unchanged or re-read invitation raises nothing.
        assert!(of_collaboration_invitation(Some(&created), &created).is_empty());
    }
}

//! `PortalStore`: this portal's collaborations, saved on the version read; their invitations, imported once with
//! their participant; and a guest's joining and leaving.

use rsvp::domain::collaboration::{
    AccessMode, Collaboration, CollaborationId, CollaborationInvitation, Contact, InvitationStatus, Participant,
    Portal, PortalId, PortalUrl, Side, Workspace,
};
use rsvp::store::{Store, StoreError};
use rsvp_tests::T0;

contract!(
    collaborations_are_saved_on_the_version_read_and_listed,
    an_invitation_is_imported_once_with_its_participant,
    a_guest_joins_once_and_leaves_with_what_it_knew,
);

fn portal(id: &str, url: &str) -> Portal {
    Portal {
        id: PortalId::parse("id", id).unwrap(),
        url: PortalUrl::parse("url", url, false).unwrap(),
        name: id.into(),
    }
}

fn contact() -> Contact {
    Contact::parse("Ada", "Admin", "ada@host.example").unwrap()
}

fn hosted(name: &str, at: rsvp::domain::Timestamp) -> Collaboration {
    let workspace = Workspace::create("Maps", None).unwrap();
    Collaboration::create(portal("host", "https://host.example"), name, None, workspace, contact(), at).unwrap()
}

fn participant(c: &Collaboration, id: &str, side: Side) -> Participant {
    Participant {
        collaboration_id: c.id,
        portal: portal(id, &format!("https://{id}.example")),
        side,
        public_key: "key".into(),
        contact: contact(),
        access: vec![(c.workspaces[0].id, AccessMode::Send)],
        invitation_id: rsvp::domain::collaboration::CollaborationInvitationId::new(),
        joined: T0,
        sealed_nonce: None,
        host_portal_id: (side == Side::Guest).then(|| c.host.id.clone()),
    }
}

fn invitation(c: &Collaboration) -> CollaborationInvitation {
    let access = vec![(c.workspaces[0].id, AccessMode::Send)];
    let guest = PortalUrl::parse("url", "https://guest.example", false).unwrap();
    let (request, nonce) = CollaborationInvitation::request(c, guest, &access, "key".into(), T0, 24).unwrap();
    CollaborationInvitation::issued(request, access, "sig".into(), &nonce, "sealed".into())
}

async fn collaborations_are_saved_on_the_version_read_and_listed(store: &dyn Store) {
    let first = hosted("First", T0);
    let second = hosted("Second", T0.plus_minutes(1));
    store.put_collaboration(&first, None).await.expect("create");
    assert_fails!(store.put_collaboration(&first, None).await, StoreError::Conflict);
    store.put_collaboration(&second, None).await.expect("create");
    let grown = first.add_workspace(Workspace::create("Layers", None).unwrap(), T0).unwrap();
    store.put_collaboration(&grown, Some(1)).await.expect("update on the version read");
    assert_fails!(store.put_collaboration(&grown, Some(1)).await, StoreError::Conflict);
    assert_eq!(store.get_collaboration(first.id).await.unwrap(), Some(grown.clone()));
    assert_eq!(store.get_collaboration(CollaborationId::new()).await.unwrap(), None);
    let listed: Vec<_> = store.list_collaborations().await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(listed, [first.id, second.id], "oldest first");
}

async fn an_invitation_is_imported_once_with_its_participant(store: &dyn Store) {
    let c = hosted("Ops", T0);
    store.put_collaboration(&c, None).await.unwrap();
    let inv = invitation(&c);
    store.create_collaboration_invitation(&inv).await.expect("create");
    assert_fails!(store.create_collaboration_invitation(&inv).await, StoreError::Conflict);
    assert_eq!(store.get_collaboration_invitation(c.id, inv.id).await.unwrap(), Some(inv.clone()));
    assert_eq!(store.get_collaboration_invitation(CollaborationId::new(), inv.id).await.unwrap(), None);

    let mut imported = inv.clone();
    imported.status = InvitationStatus::Imported;
    imported.version += 1;
    let guest = participant(&c, "guest", Side::Guest);
    // Two racing imports of one response: one wins, the other changes nothing.
    let (a, b) = tokio::join!(
        store.update_collaboration_invitation(&imported, inv.version, Some(&guest)),
        store.update_collaboration_invitation(&imported, inv.version, Some(&guest)),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one import: {a:?} {b:?}");
    assert_eq!(store.list_participants(c.id).await.unwrap(), std::slice::from_ref(&guest));
    assert_eq!(store.list_collaboration_invitations(c.id).await.unwrap(), std::slice::from_ref(&imported));
    assert_fails!(store.update_collaboration_invitation(&imported, inv.version, None).await, StoreError::Conflict);

    store.remove_participant(c.id, &guest.portal.id, T0).await.expect("remove");
    assert_fails!(store.remove_participant(c.id, &guest.portal.id, T0).await, StoreError::Conflict);
    assert!(store.list_participants(c.id).await.unwrap().is_empty());
}

async fn a_guest_joins_once_and_leaves_with_what_it_knew(store: &dyn Store) {
    let mut joined = hosted("Ops", T0);
    joined.side = Side::Guest;
    let host = participant(&joined, "host", Side::Host);
    store.join_collaboration(&joined, &host).await.expect("join");
    assert_fails!(store.join_collaboration(&joined, &host).await, StoreError::Conflict);
    assert_eq!(store.list_participants(joined.id).await.unwrap(), std::slice::from_ref(&host));
    store.leave_collaboration(&joined, std::slice::from_ref(&host), T0).await.expect("leave");
    assert_eq!(store.get_collaboration(joined.id).await.unwrap(), None);
    assert!(store.list_participants(joined.id).await.unwrap().is_empty());
    assert_fails!(store.leave_collaboration(&joined, &[host], T0).await, StoreError::Conflict);
}

//! What each API, public and page route's sample event must get: the [`Moment`] of the fixture world it is written
//! for, its status, and what the answer (or the store afterwards) must show.

use lambda_http::http::StatusCode;
use rsvp::domain::{
    CommunityId, MemberStatus, Secret, StoredState, UserId, UserInvitation, UserInvitationState, UserReadState,
    UserSettings,
};
use rsvp::routes::Route;
use rsvp::store::{CommunityStore, SuppressionStore, UserInvitationStore};

use crate::communities::{
    BOB_TOKEN, COMMUNITY, DOMAIN, INVITATION, MEMBER_INVITATION, Moment, OWNER_ADMIN, community_id, email,
    invitation_id, send, suppressed, tenant,
};
use crate::sample::{NOW, body_text, ids, json};
use crate::users::{
    JANE, JANE_CODE, JANE_INVITATION, OWNER_VALID_DAYS, jane_invitation_id, owner_admin, owner_settings,
    owner_user_invitations,
};

/// The moment each operation's sample event is written for, the status it must get, and what the answer (or the
/// store afterwards) must show.
pub(crate) async fn check(route: &Route) {
    let op = route.operation;
    let moment = match op {
        "create_community" | "create_community_invitation" | "invite_users" => Moment::BeforeInvitation,
        "list_tenant_accepted_invitations" => Moment::Accepted,
        _ => Moment::Invited,
    };
    let (response, store) = send(route, moment).await;
    let status = response.status();
    let body_text = body_text(&response);
    let expect = |wanted: StatusCode| assert_eq!(status, wanted, "{op}: unexpected status; body: {body_text}");
    match op {
        "create_community" => {
            expect(StatusCode::CREATED);
            let body = json(&response);
            assert_eq!(body["Name"], "Incident Response");
            assert_ne!(body["Id"], COMMUNITY, "a new community gets a new id");
            assert_eq!(body["Tenants"][0]["Id"], "tenant-owner");
            assert_eq!(body["Tenants"][0]["IsOwner"], true);
            let id = CommunityId::parse("Id", body["Id"].as_str().unwrap()).unwrap();
            assert!(store.get_community(id).await.unwrap().is_some(), "the community was stored");
        }
        "list_communities" => {
            expect(StatusCode::OK);
            assert_eq!(ids(&json(&response)), [COMMUNITY]);
        }
        "get_community" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["Id"], COMMUNITY);
            assert_eq!(body["Name"], "Shared Operations");
            assert_eq!(ids(&body["Tenants"]), ["tenant-member", "tenant-owner"]);
        }
        "update_community" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(
                (body["Id"].as_str(), body["Name"].as_str()),
                (Some(COMMUNITY), Some("Shared Operations Centre"))
            );
            assert_eq!(body["DisplayName"], "Shared Operations Centre");
            assert_eq!(body["ContactEmail"], "ops@owner.example", "a field left out keeps its value");
            assert_eq!(ids(&body["Tenants"]), ["tenant-member", "tenant-owner"]);
            let stored = store.get_community(community_id()).await.unwrap().unwrap();
            assert_eq!(stored.name, "Shared Operations Centre");
            assert!(stored.description.contains("post-mortems"));
        }
        "delete_community" => {
            // The fixture community still has tenant-member and Bob's pending invitation: refused, naming both.
            expect(StatusCode::CONFLICT);
            let reason = json(&response)["Reason"].as_str().unwrap_or_default().to_owned();
            assert!(reason.contains("tenant-member") && reason.contains(INVITATION), "{reason}");
            assert!(store.get_community(community_id()).await.unwrap().is_some(), "nothing was deleted");
        }
        "get_community_summary" => {
            expect(StatusCode::OK);
            assert_eq!(json(&response), serde_json::json!({"TotalStreams": 0, "StreamsContributed": 0}));
        }
        "search_community_streams" => {
            expect(StatusCode::OK);
            assert_eq!(json(&response), serde_json::json!([]));
        }
        "list_community_tenants" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(ids(&body), ["tenant-member", "tenant-owner"]);
            assert_eq!(body[1]["IsOwner"], true);
            assert_eq!(body[0]["Status"], "Active");
        }
        "remove_community_tenant" => {
            expect(StatusCode::NO_CONTENT);
            assert!(body_text.is_empty());
            assert!(store.get_membership(community_id(), &tenant("tenant-member")).await.unwrap().is_none());
            assert!(store.get_membership(community_id(), &tenant("tenant-owner")).await.unwrap().is_some());
        }
        "list_community_invitations" => {
            expect(StatusCode::OK);
            let body = json(&response);
            // Newest first: Bob's pending invitation, then the one tenant-member joined through.
            assert_eq!(ids(&body), [INVITATION, MEMBER_INVITATION]);
            assert_eq!(body[0]["State"], "InvitationCreated");
            assert_eq!(body[1]["State"], "InvitationCompleted");
        }
        "create_community_invitation" => {
            expect(StatusCode::CREATED);
            let body = json(&response);
            assert_eq!(body["InvitationRecipient"], "bob@guest.example");
            assert_eq!(body["State"], "InvitationCreated");
            assert_eq!(body["CommunityId"], COMMUNITY);
            // No PublicUrl configured: the link points at the API's own domain from the event.
            let url = body["InvitationUrl"].as_str().unwrap();
            assert!(
                url.starts_with(&format!("https://{DOMAIN}/invite/{}?token=", body["Id"].as_str().unwrap())),
                "{url}"
            );
        }
        "get_community_invitation" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["Id"], INVITATION);
            assert_eq!(body["InvitationRecipient"], "bob@guest.example");
            assert_eq!(body["State"], "InvitationCreated");
        }
        "delete_community_invitation" => {
            expect(StatusCode::NO_CONTENT);
            let stored = store.get_invitation(invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, StoredState::Deleted);
        }
        "get_invitation_details" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["CommunityId"], COMMUNITY);
            assert_eq!(body["CommunityName"], "Shared Operations");
            assert_eq!(body["InvitationState"], "InvitationCreated");
            assert_eq!(body["ContactEmail"], "ops@owner.example");
        }
        "process_invitation" => {
            // Accept notifies the community's administrators: 202.
            expect(StatusCode::ACCEPTED);
            let stored = store.get_invitation(invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, StoredState::Accepted);
            assert_eq!(stored.invited_tenant, Some(tenant("tenant-guest")));
            let joined = store.get_membership(community_id(), &tenant("tenant-guest")).await.unwrap().unwrap();
            assert_eq!(joined.status, MemberStatus::AwaitingConfirmation);
            assert_eq!(joined.contact_email, Some(email("ops@guest.example")));
        }
        "list_tenant_accepted_invitations" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(ids(&body), [INVITATION]);
            assert_eq!(body[0]["State"], "InvitationAccepted");
            assert_eq!(body[0]["InvitedTenantId"], "tenant-guest");
        }
        "show_invitation_page" => {
            expect(StatusCode::OK);
            let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok());
            assert_eq!(content_type, Some("text/html; charset=utf-8"));
            for text in
                ["Shared Operations", "tenant-owner", "Waiting for an answer", "2026-03-15 09:00 UTC", BOB_TOKEN]
            {
                assert!(body_text.contains(text), "{op}: the page shows {text}");
            }
        }
        "respond_to_invitation_page" => {
            expect(StatusCode::OK);
            assert!(body_text.contains(">Declined<") && !body_text.contains(BOB_TOKEN), "{body_text}");
            let stored = store.get_invitation(invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, StoredState::Declined);
            assert!(stored.history.last().unwrap().by_link_holder(), "recorded as done with the link");
        }
        "invite_users" => {
            // The tenant's settings allow it: Jane is invited, valid for the tenant's InvitedUserValidDays.
            expect(StatusCode::OK);
            assert_eq!(json(&response), serde_json::json!([JANE]), "the answer lists the addresses invited");
            let stored = owner_user_invitations(&store).await;
            assert_eq!(stored.len(), 1, "{stored:?}");
            let janes = &stored[0];
            assert_ne!(janes.id, jane_invitation_id(), "a new invitation gets a new id");
            assert_eq!(janes.recipient, email(JANE));
            assert_eq!(janes.read_state(NOW), UserReadState::Pending);
            assert_eq!(janes.message.as_deref(), Some("You should join this awesome app management platform."));
            assert_eq!(janes.inviter, UserId::parse("sub", OWNER_ADMIN).unwrap());
            assert_eq!(janes.expires, NOW.plus_days(OWNER_VALID_DAYS));
            assert!(janes.delivery.is_some(), "the invitation email waits in the outbox");
        }
        "list_user_invitations" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(ids(&body), [JANE_INVITATION]);
            assert_eq!(body[0]["EmailAddress"], JANE);
            assert_eq!(body[0]["State"], "Pending");
            assert_eq!(body[0]["InvitedBy"], "admin@owner.example");
            assert_eq!(body[0]["BusinessID"], "tenant-owner");
            assert_eq!(body[0]["Expires"], "2026-03-15T09:00:00Z");
            assert!(!body_text.contains(JANE_CODE.split_once('.').unwrap().1), "codes never appear in lists");
        }
        "revoke_user_invitation" => {
            expect(StatusCode::NO_CONTENT);
            assert!(body_text.is_empty());
            let stored = store.get_user_invitation(jane_invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, UserInvitationState::Revoked);
            assert_eq!(stored.history.last().map(|h| h.action.as_str()), Some("Revoke"));
            // Its (tenant, recipient) lock is released: Jane may be invited again.
            let (again, _) = UserInvitation::create(&owner_admin(), email(JANE), None, NOW, &owner_settings());
            store.create_user_invitations(&[again], NOW).await.expect("the address is free again");
        }
        "resend_user_invitation" => {
            // A day after it was sent, well past the cooldown: a new code, a new expiry, a new email.
            expect(StatusCode::ACCEPTED);
            let stored = store.get_user_invitation(jane_invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.read_state(NOW), UserReadState::Pending);
            assert!(!stored.code_matches(&Secret::presented(JANE_CODE)), "the old code no longer opens it");
            assert_eq!(stored.last_sent, NOW);
            assert_eq!(stored.expires, NOW.plus_days(OWNER_VALID_DAYS));
            assert_eq!(stored.delivery.map(|d| d.seq), Some(2), "a second email is owed");
        }
        "verify_invitation" => {
            // Public: the code alone opens the invitation; verifying uses nothing up.
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["EmailAddress"], JANE);
            assert_eq!(body["State"], "Pending");
            assert_eq!(body["InvitedBy"], "admin@owner.example");
            assert_eq!(body["BusinessID"], "tenant-owner");
            assert_eq!(body["BusinessName"], "Owner Corp");
            assert_eq!(body["Message"], "You should join this awesome app management platform.");
            assert_eq!(body["Expires"], "2026-03-15T09:00:00Z");
            let stored = store.get_user_invitation(jane_invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, UserInvitationState::Pending);
        }
        "accept_user_invitation" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["EmailAddress"], JANE);
            assert_eq!(body["FirstName"], "Jane");
            assert_eq!(body["LastName"], "Mead");
            assert_eq!(body["BusinessID"], "tenant-owner");
            assert_eq!(body["State"], "Accepted");
            let stored = store.get_user_invitation(jane_invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, UserInvitationState::Accepted);
            assert_eq!(stored.accepted, Some(NOW));
            assert_eq!((stored.first_name.as_deref(), stored.last_name.as_deref()), (Some("Jane"), Some("Mead")));
        }
        "get_business_settings" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["BusinessID"], "tenant-owner");
            let user = &body["UserSettings"];
            assert_eq!(user["InviteUnregisteredUsers"], "com.soa.feature.enabled");
            assert_eq!(user["InvitedUserValidDays"], OWNER_VALID_DAYS);
            assert_eq!(user["MaxInvitationsPerDay"], UserSettings::default().max_invitations_per_day);
            assert_eq!(body["SecuritySettings"]["InviteUnregisteredUsers"], "com.soa.feature.enabled");
            assert_eq!(body["SecuritySettings"]["AllowedEmailDomains"], serde_json::json!([]));
        }
        "update_user_settings" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["InviteUnregisteredUsers"], "com.soa.feature.enabled");
            assert_eq!(body["InvitedUserValidDays"], 7);
            let (stored, version) = store.get_user_settings(&tenant("tenant-owner")).await.unwrap().unwrap();
            let wanted = UserSettings { invited_user_valid_days: 7, ..owner_settings() };
            assert_eq!(stored, wanted, "only the settings the body names change");
            assert_eq!(version, 2, "saved over the fixture's version 1");
        }
        "lift_suppression" => {
            expect(StatusCode::NO_CONTENT);
            let address = suppressed().address;
            let left = store.suppressions(&tenant("tenant-owner"), &[&address]).await.unwrap();
            assert_eq!(left, [], "the address gets the tenant's mail again");
        }
        other => panic!("{other} has no expectation here: add its sample event's expected answer"),
    }
}

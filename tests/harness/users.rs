//! The platform users API (`/api/users/...`, `/api/businesses/...`): invitations of people to a tenant, the
//! tenant's settings, the codes their emails carry.

use reqwest::{Method, StatusCode};
use rsvp::domain::{DeliveryState, InvitationId, MailItem};
use serde_json::{Value, json};

use super::{Answer, PUBLIC_URL, TestApp, User};

/// Where platform invitations are sent and listed.
pub const INVITATIONS: &str = "/api/users/invitations";

impl TestApp {
    /// `invite_users` as `token`'s caller: `addresses`, with `message`.
    pub async fn invite_users(&self, token: &str, addresses: &[&str], message: &str) -> Answer {
        let body = json!({"EmailAddresses": addresses, "Message": message});
        self.call(Method::POST, INVITATIONS, Some(token), Some(body)).await
    }

    /// `who`'s tenant's user settings changed by `who` as its administrator.
    pub async fn put_user_settings(&self, who: User<'_>, body: Value) -> Answer {
        let path = format!("/api/businesses/{}/usersettings", who.0);
        self.call(Method::PUT, &path, Some(&self.admin(who)), Some(body)).await
    }

    /// `who`'s tenant's settings (`GET /api/businesses/{tenant}/settings{query}`), as `who` reads them as a member.
    pub async fn business_settings(&self, who: User<'_>, query: &str) -> Answer {
        let path = format!("/api/businesses/{}/settings{query}", who.0);
        self.call(Method::GET, &path, Some(&self.member(who)), None).await
    }

    /// `who`'s tenant lets its members invite (`InviteUnregisteredUsers`).
    pub async fn enable_inviting(&self, who: User<'_>) {
        let answer = self.put_user_settings(who, json!({"InviteUnregisteredUsers": "com.soa.feature.enabled"})).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }

    /// The platform invitations `token`'s caller sees, with `query` (`?State=Pending`, or "").
    pub async fn user_invitations(&self, token: &str, query: &str) -> Vec<Value> {
        let answer = self.call(Method::GET, &format!("{INVITATIONS}{query}"), Some(token), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body.as_array().expect("a list").clone()
    }

    /// `verifyInvitation` of `code`, posted as the form the reference sends.
    pub async fn verify_code(&self, code: &str) -> Answer {
        self.send(self.request(Method::POST, "/api/users/verifyInvitation").form(&[("validationCode", code)])).await
    }

    /// `signupUser` with `code`, as Jane Mead.
    pub async fn sign_up(&self, code: &str) -> Answer {
        let body = json!({"FirstName": "Jane", "LastName": "Mead"});
        self.call(Method::POST, &format!("/api/users/signupUser/{code}"), None, Some(body)).await
    }

    /// The first `count` emails to arrive (oldest first), after delivering what `admin`'s tenant's platform
    /// invitations owe where no mailer runs ([`super::Builder::deliver_into`]).
    pub async fn user_emails(&self, admin: User<'_>, count: usize) -> Vec<String> {
        if let Some(deliverer) = &self.deliverer {
            for item in self.user_invitations(&self.admin(admin), "").await {
                let id = InvitationId::parse("Id", item["Id"].as_str().expect("an Id")).expect("a GUID");
                let invitation = self.store.get_user_invitation(id).await.expect("read").expect("stored");
                if let Some(d) = invitation.delivery.filter(|d| d.state == DeliveryState::Pending) {
                    deliverer.deliver(MailItem::Platform(id), d.seq).await.expect("delivered");
                }
            }
        }
        self.outbox_messages(count).await
    }
}

/// The code a platform invitation email carries: the `token` of its landing link.
pub fn code_in(email: &str) -> String {
    let link = crate::eml::link(email, &format!("{PUBLIC_URL}/invite/"));
    super::communities::token_of(&link).to_owned()
}

//! The Communities API (`/api/v1-preview`): what its suites do again and again.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Answer, OWNER, TestApp};

/// Where the Communities API lives.
pub const BASE: &str = "/api/v1-preview";

impl TestApp {
    /// Creates a community from `body` as `token`'s caller, asserting the 201; its id.
    pub async fn create_community_as(&self, token: &str, body: Value) -> String {
        let answer = self.call(Method::POST, &format!("{BASE}/communities"), Some(token), Some(body)).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.id()
    }

    /// The owner's administrator creates `name` ("Shared work", contact `ops@owner.example`); its id.
    pub async fn create_community(&self, name: &str) -> String {
        let body = json!({"Name": name, "Description": "Shared work", "ContactEmail": "ops@owner.example"});
        self.create_community_as(&self.admin(OWNER), body).await
    }

    /// The owner's administrator invites `recipient` into `community`.
    pub async fn invite(&self, community: &str, recipient: &str) -> Answer {
        let path = format!("{BASE}/communities/{community}/invitations");
        self.call(Method::POST, &path, Some(&self.admin(OWNER)), Some(json!({"InvitationRecipient": recipient}))).await
    }

    /// [`TestApp::create_community`] `name`, then [`TestApp::invite`] `recipient` into it: the community's id and the
    /// invitation's create answer.
    pub async fn community_inviting(&self, name: &str, recipient: &str) -> (String, Answer) {
        let community = self.create_community(name).await;
        let created = self.invite(&community, recipient).await;
        (community, created)
    }

    /// `PUT communityinvitations/{invitation}` with `body` (an `Action`) as `token`'s caller.
    pub async fn process(&self, invitation: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PUT, &format!("{BASE}/communityinvitations/{invitation}"), Some(token), Some(body)).await
    }

    /// [`TestApp::process`] with the link's secret in the `Invitation-Token` header, as whoever holds the link
    /// sends it.
    pub async fn process_with_link(&self, invitation: &str, token: &str, secret: &str, body: Value) -> Answer {
        let request = self
            .request(Method::PUT, &format!("{BASE}/communityinvitations/{invitation}"))
            .bearer_auth(token)
            .header("Invitation-Token", secret)
            .json(&body);
        self.send(request).await
    }

    pub async fn get_invitation(&self, community: &str, invitation: &str, token: &str) -> Answer {
        let path = format!("{BASE}/communities/{community}/invitations/{invitation}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    /// What the owner sees of the community: its invitations and its tenants, as JSON.
    pub async fn owners_view(&self, community: &str) -> (Value, Value) {
        let owner = self.admin(OWNER);
        let invitations =
            self.call(Method::GET, &format!("{BASE}/communities/{community}/invitations"), Some(&owner), None).await;
        let tenants =
            self.call(Method::GET, &format!("{BASE}/communities/{community}/tenants"), Some(&owner), None).await;
        assert_eq!((invitations.status, tenants.status), (StatusCode::OK, StatusCode::OK));
        (invitations.body, tenants.body)
    }
}

impl Answer {
    /// The `Id` the body names.
    pub fn id(&self) -> String {
        self.body["Id"].as_str().unwrap_or_else(|| panic!("an Id in {}", self.body)).to_owned()
    }

    /// The secret of the `InvitationUrl` the body carries (a create's or a link-only Resend's answer).
    pub fn secret(&self) -> String {
        token_of(self.body["InvitationUrl"].as_str().expect("an InvitationUrl")).to_owned()
    }
}

/// The secret (or code) of an invitation link: its `token` parameter.
pub fn token_of(link: &str) -> &str {
    link.split_once("?token=").expect("a token in the link").1
}

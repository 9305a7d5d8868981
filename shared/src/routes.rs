//! The route table: every operation with its method and path. The local server serves exactly these, the tests
//! check that `template.yaml` declares exactly these (one function each), and each Lambda's `main` names its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::http::Answer;
use crate::http::request::request_id;
use crate::ops;

/// An operation's entry point, boxed so that every route has the same type.
pub type Handler = fn(Arc<App>, Request) -> Pin<Box<dyn Future<Output = Answer> + Send>>;

/// Whom a route serves, which decides how it is authorised and in what form it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The JSON API: behind API Gateway's JWT authorizer; errors are `ErrorResponse`s.
    Api,
    /// A public HTML page (the invitation landing page): no authorizer, the invitation's secret in the request is
    /// the credential; every answer, errors too, is an HTML page with the pages' security headers.
    Page,
    /// A JSON API route without the authorizer, for the person a platform invitation was sent to, who has no
    /// account yet: the invitation code in the request is the credential. Errors are `ErrorResponse`s.
    Public,
    /// A portal route (the ArcGIS dialect), behind the authorizer: errors are `{"error": {"code", "message",
    /// "details"}}`.
    Portal,
    /// A portal route anyone may read (the portal's own description): no authorizer, ArcGIS errors.
    PortalPublic,
}

/// One operation and where it is served.
#[derive(Clone, Copy)]
pub struct Route {
    /// The operation's name: its module in its dialect's folder of `ops`, and (with `-` for `_`) its function crate
    /// and sample event.
    pub operation: &'static str,
    pub method: &'static str,
    /// The path as API Gateway writes it, with `{name}` parameters.
    pub path: &'static str,
    /// Other spellings of `path` that clients send, served by the same function. The local server matches fixed
    /// segments regardless of their letter case (as AVEVA's API does), but API Gateway's route keys are
    /// case-sensitive, so each spelling a real client uses is one more route key of the function.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub handler: Handler,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.operation)
    }
}

impl Route {
    /// The methods the route answers: its own, and POST too for a portal route read with GET, because ArcGIS REST
    /// treats the two alike (Esri's clients POST reads whose parameters are long) and reads parameters from the
    /// query string and a form body either way.
    pub fn methods(&self) -> impl Iterator<Item = &'static str> + use<> {
        let also_post = matches!(self.kind, Kind::Portal | Kind::PortalPublic) && self.method == "GET";
        std::iter::once(self.method).chain(also_post.then_some("POST"))
    }

    /// The paths the route answers: its own, then its aliases.
    pub fn paths(&self) -> impl Iterator<Item = &'static str> + use<> {
        std::iter::once(self.path).chain(self.aliases.iter().copied())
    }

    /// Every `METHOD path` route key API Gateway sends to this route's function.
    pub fn route_keys(&self) -> Vec<(&'static str, &'static str)> {
        self.methods().flat_map(|method| self.paths().map(move |path| (method, path))).collect()
    }

    /// Whether the route answers `method` (any letter case).
    pub fn answers(&self, method: &str) -> bool {
        self.methods().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// Runs the operation and turns its error, if any, into the wire answer, logging one line for the request:
    /// its id, operation, status and latency; for a refusal, what kind it was; for a failure, its cause with
    /// anything shaped like an address or a secret masked ([`crate::http::redact`]). Never the request's body,
    /// headers or path (which carry tokens and invitation codes), nor the refusal's sentence (which can name the
    /// addresses a caller sent).
    ///
    /// Every answer, success or not, carries the request id in an `Operation-Id` header, as ADH's do; an error
    /// body's `OperationId` is the same id.
    pub async fn call(&self, app: Arc<App>, req: Request) -> Response<Body> {
        let operation_id = request_id(&req);
        let mut response = self.answer(app, req, &operation_id).await;
        if let Ok(value) = lambda_http::http::HeaderValue::from_str(&operation_id) {
            response.headers_mut().insert(crate::http::response::OPERATION_ID, value);
        }
        response
    }

    async fn answer(&self, app: Arc<App>, req: Request, operation_id: &str) -> Response<Body> {
        let started = std::time::Instant::now();
        let answer = (self.handler)(app, req).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                tracing::info!(operation = self.operation, operation_id, status, latency_ms, "answered");
                response
            }
            Err(error) => {
                let status = error.status().as_u16();
                let kind = error.kind();
                if status >= 500 {
                    let cause = crate::http::redact(&error.to_string());
                    tracing::error!(
                        operation = self.operation,
                        operation_id,
                        status,
                        latency_ms,
                        kind,
                        cause,
                        "failed"
                    );
                } else {
                    tracing::info!(operation = self.operation, operation_id, status, latency_ms, kind, "refused");
                }
                match self.kind {
                    Kind::Api | Kind::Public => error.into_response(operation_id),
                    Kind::Portal | Kind::PortalPublic => error.into_arcgis(operation_id),
                    Kind::Page => error.into_page(operation_id),
                }
            }
        }
    }
}

/// `NAME: "METHOD" "/path" | "/Alias" => portal::operation (Kind);`, the kind `Api` when none is named.
macro_rules! routes {
    (@kind) => { Kind::Api };
    (@kind $kind:ident) => { Kind::$kind };
    ($($konst:ident: $method:literal $path:literal $(| $alias:literal)* => $dialect:ident::$op:ident $(($kind:ident))?;)*) => {
        $(
            #[doc = concat!("`", $method, " ", $path, "`")]
            pub const $konst: Route = Route {
                operation: stringify!($op),
                method: $method,
                path: $path,
                aliases: &[$($alias),*],
                kind: routes!(@kind $($kind)?),
                handler: |app, req| Box::pin(ops::$dialect::$op::handle(app, req)),
            };
        )*
        /// Every route, in the order of the API reference.
        pub const ROUTES: &[Route] = &[$($konst),*];
    };
}

// The communities routes also answer ADH's spelling of their paths (what AVEVA's client library sends): the local
// server matches any letter case, and in AWS each spelling is one more route key of the function.
routes! {
    CREATE_COMMUNITY: "POST" "/api/v1-preview/communities" | "/api/v1-preview/Communities" => communities::create_community;
    LIST_COMMUNITIES: "GET" "/api/v1-preview/communities" | "/api/v1-preview/Communities" => communities::list_communities;
    GET_COMMUNITY: "GET" "/api/v1-preview/communities/{communityId}" | "/api/v1-preview/Communities/{communityId}" => communities::get_community;
    UPDATE_COMMUNITY: "PUT" "/api/v1-preview/communities/{communityId}" | "/api/v1-preview/Communities/{communityId}" => communities::update_community;
    DELETE_COMMUNITY: "DELETE" "/api/v1-preview/communities/{communityId}" | "/api/v1-preview/Communities/{communityId}" => communities::delete_community;
    GET_COMMUNITY_SUMMARY: "GET" "/api/v1-preview/communities/{communityId}/summary" | "/api/v1-preview/Communities/{communityId}/Summary" => communities::get_community_summary;
    SEARCH_COMMUNITY_STREAMS: "GET" "/api/v1-preview/search/communities/{communityId}/streams" | "/api/v1-preview/Search/Communities/{communityId}/Streams" => communities::search_community_streams;
    LIST_COMMUNITY_TENANTS: "GET" "/api/v1-preview/communities/{communityId}/tenants" | "/api/v1-preview/Communities/{communityId}/Tenants" => communities::list_community_tenants;
    REMOVE_COMMUNITY_TENANT: "DELETE" "/api/v1-preview/communities/{communityId}/tenants/{tenantId}" | "/api/v1-preview/Communities/{communityId}/Tenants/{tenantId}" => communities::remove_community_tenant;
    LIST_COMMUNITY_INVITATIONS: "GET" "/api/v1-preview/communities/{communityId}/invitations" | "/api/v1-preview/Communities/{communityId}/Invitations" => communities::list_community_invitations;
    CREATE_COMMUNITY_INVITATION: "POST" "/api/v1-preview/communities/{communityId}/invitations" | "/api/v1-preview/Communities/{communityId}/Invitations" => communities::create_community_invitation;
    GET_COMMUNITY_INVITATION: "GET" "/api/v1-preview/communities/{communityId}/invitations/{invitationId}" | "/api/v1-preview/Communities/{communityId}/Invitations/{invitationId}" => communities::get_community_invitation;
    DELETE_COMMUNITY_INVITATION: "DELETE" "/api/v1-preview/communities/{communityId}/invitations/{invitationId}" | "/api/v1-preview/Communities/{communityId}/Invitations/{invitationId}" => communities::delete_community_invitation;
    GET_INVITATION_DETAILS: "GET" "/api/v1-preview/communityinvitations/{invitationId}/details" | "/api/v1-preview/CommunityInvitations/{invitationId}/Details" => communities::get_invitation_details;
    PROCESS_INVITATION: "PUT" "/api/v1-preview/communityinvitations/{invitationId}" | "/api/v1-preview/CommunityInvitations/{invitationId}" => communities::process_invitation;
    LIST_TENANT_ACCEPTED_INVITATIONS: "GET" "/api/v1-preview/tenants/{tenantId}/communityinvitations" | "/api/v1-preview/Tenants/{tenantId}/CommunityInvitations" => communities::list_tenant_accepted_invitations;
    INVITE_USERS: "POST" "/api/users/invitations" => users::invite_users;
    GET_BUSINESS_SETTINGS: "GET" "/api/businesses/{businessId}/settings" => users::get_business_settings;
    UPDATE_USER_SETTINGS: "PUT" "/api/businesses/{businessId}/usersettings" => users::update_user_settings;
    LIFT_SUPPRESSION: "DELETE" "/api/businesses/{businessId}/suppressions/{emailAddress}" => users::lift_suppression;
    LIST_USER_INVITATIONS: "GET" "/api/users/invitations" => users::list_user_invitations;
    REVOKE_USER_INVITATION: "DELETE" "/api/users/invitations/{invitationId}" => users::revoke_user_invitation;
    RESEND_USER_INVITATION: "POST" "/api/users/invitations/{invitationId}/resend" => users::resend_user_invitation;
    VERIFY_INVITATION: "POST" "/api/users/verifyInvitation" => users::verify_invitation (Public);
    ACCEPT_USER_INVITATION: "POST" "/api/users/signupUser/{invitationCode}" => users::accept_user_invitation (Public);
    GET_PORTAL_SELF: "GET" "/sharing/rest/portals/{portalId}" => portal::get_portal_self (PortalPublic);
    CREATE_COLLABORATION: "POST" "/sharing/rest/portals/{portalId}/createCollaboration" => portal::create_collaboration (Portal);
    LIST_COLLABORATIONS: "GET" "/sharing/rest/portals/{portalId}/collaborations" => portal::list_collaborations (Portal);
    GET_COLLABORATION: "GET" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}" => portal::get_collaboration (Portal);
    ADD_WORKSPACE: "POST" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/addWorkspace" => portal::add_workspace (Portal);
    INVITE_PARTICIPANT: "POST" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/inviteParticipant" => portal::invite_participant (Portal);
    LIST_COLLABORATION_INVITATIONS: "GET" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/invitations" => portal::list_collaboration_invitations (Portal);
    GET_COLLABORATION_INVITATION: "GET" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/invitations/{invitationId}" => portal::get_collaboration_invitation (Portal);
    INVALIDATE_COLLABORATION_INVITATION: "POST" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/invitations/{invitationId}/invalidate" => portal::invalidate_collaboration_invitation (Portal);
    REFRESH_COLLABORATION_INVITATION: "POST" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/invitations/{invitationId}/refresh" => portal::refresh_collaboration_invitation (Portal);
    VALIDATE_COLLABORATION_INVITATION: "POST" "/sharing/rest/portals/{portalId}/validateCollaborationInvitation" => portal::validate_collaboration_invitation (Portal);
    ACCEPT_COLLABORATION_INVITATION: "POST" "/sharing/rest/portals/{portalId}/acceptCollaborationInvitation" => portal::accept_collaboration_invitation (Portal);
    EXPORT_INVITATION_RESPONSE: "POST" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/exportInvitationResponse" => portal::export_invitation_response (Portal);
    VALIDATE_INVITATION_RESPONSE: "POST" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/validateInvitationResponse" => portal::validate_invitation_response (Portal);
    IMPORT_INVITATION_RESPONSE: "POST" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/importInvitationResponse" => portal::import_invitation_response (Portal);
    LIST_PARTICIPANTS: "GET" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/participants" => portal::list_participants (Portal);
    REMOVE_PARTICIPANT: "POST" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/participants/{participantPortalId}/remove" => portal::remove_participant (Portal);
    REMOVE_PARTICIPATION: "POST" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/removeParticipation" => portal::remove_participation (Portal);
    GET_PORTAL_ROOT: "GET" "/sharing/rest" => portal::get_portal_root (PortalPublic);
    GET_PORTAL_INFO: "GET" "/sharing/rest/info" => portal::get_portal_info (PortalPublic);
    GET_PORTAL_USER: "GET" "/sharing/rest/community/users/{username}" => portal::get_portal_user (Portal);
    LIST_WORKSPACES: "GET" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/workspaces" => portal::list_workspaces (Portal);
    GET_WORKSPACE: "GET" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/workspaces/{workspaceId}" => portal::get_workspace (Portal);
    GET_PARTICIPANT: "GET" "/sharing/rest/portals/{portalId}/collaborations/{collaborationId}/participants/{participantPortalId}" => portal::get_participant (Portal);
    GET_PORTAL_ADMIN: "GET" "/portaladmin" => portal::get_portal_admin (Portal);
    PORTAL_NOT_FOUND: "ANY" "/sharing/rest/{proxy+}" => portal::portal_not_found (PortalPublic);
    SHOW_INVITATION_PAGE: "GET" "/invite/{invitationId}" => page::show_invitation_page (Page);
    RESPOND_TO_INVITATION_PAGE: "POST" "/invite/{invitationId}" => page::respond_to_invitation_page (Page);
}

/// Matches a concrete request path against a route path; on a match, the `{name}` parameters and their values.
/// Fixed segments match regardless of their ASCII letter case (`/Communities` is `/communities`), as AVEVA's routes
/// do; parameter values are kept as sent.
pub fn match_path(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut pattern_parts = pattern.trim_matches('/').split('/');
    let mut path_parts = path.trim_matches('/').split('/');
    loop {
        match (pattern_parts.next(), path_parts.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(v)) if p.starts_with('{') && p.ends_with('}') && !v.is_empty() => {
                params.push((p[1..p.len() - 1].to_owned(), v.to_owned()));
            }
            (Some(p), Some(v)) if p.eq_ignore_ascii_case(v) => {}
            _ => return None,
        }
    }
}

/// The route for `method` and `path`, with its path parameters.
pub fn find(method: &str, path: &str) -> Option<(&'static Route, Vec<(String, String)>)> {
    ROUTES.iter().filter(|r| r.answers(method)).find_map(|r| match_path(r.path, path).map(|params| (r, params)))
}

/// The greedy route (`{proxy+}`, as API Gateway writes it) whose prefix `path` lies under, with the rest of the
/// path as its `proxy` parameter. API Gateway tries such a route only when no other route matches; so does the
/// local server, after [`find`].
pub fn find_greedy(path: &str) -> Option<(&'static Route, Vec<(String, String)>)> {
    ROUTES.iter().find_map(|r| {
        let prefix = r.path.strip_suffix("/{proxy+}")?;
        let rest = path.strip_prefix(prefix)?.strip_prefix('/')?;
        (!rest.is_empty()).then(|| (r, vec![("proxy".to_owned(), rest.to_owned())]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_routes_are_unique() {
        let mut names: Vec<_> = ROUTES.iter().map(|r| r.operation).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ROUTES.len());
        let keys: Vec<_> = ROUTES.iter().flat_map(Route::route_keys).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "no route key is served twice");
    }

    #[test]
    fn no_request_path_is_claimed_by_two_routes() {
        // Matching ignores the letter case of fixed segments, and the first route that matches wins: two routes
        // that could match one request would leave the second unreachable for it.
        for (i, a) in ROUTES.iter().enumerate() {
            for b in ROUTES[i + 1..].iter().filter(|b| a.methods().any(|m| b.answers(m))) {
                for path in b.paths() {
                    let concrete = path.replace(['{', '}'], "");
                    assert!(match_path(a.path, &concrete).is_none(), "{a:?} claims {concrete}, a path of {b:?}");
                }
            }
        }
    }

    #[test]
    fn fixed_segments_match_in_any_letter_case_and_parameters_keep_theirs() {
        let (route, params) = find("get", "/API/V1-Preview/Communities/AbC/Tenants").unwrap();
        assert_eq!(route.operation, "list_community_tenants");
        assert_eq!(params, vec![("communityId".to_owned(), "AbC".to_owned())]);
    }

    #[test]
    fn portal_reads_answer_post_as_arcgis_rest_does_and_nothing_else_gains_a_method() {
        assert_eq!(GET_COLLABORATION.methods().collect::<Vec<_>>(), ["GET", "POST"]);
        assert_eq!(
            find("POST", "/sharing/rest/portals/self/collaborations/c1").unwrap().0.operation,
            "get_collaboration"
        );
        assert_eq!(CREATE_COLLABORATION.methods().collect::<Vec<_>>(), ["POST"]);
        assert_eq!(GET_COMMUNITY.methods().collect::<Vec<_>>(), ["GET"]);
        assert!(find("POST", "/api/v1-preview/communities/c1").is_none());
        assert_eq!(SHOW_INVITATION_PAGE.route_keys(), [("GET", "/invite/{invitationId}")]);
    }

    #[test]
    fn paths_match_with_parameters() {
        let (route, params) = find("PUT", "/api/v1-preview/communityinvitations/abc").unwrap();
        assert_eq!(route.operation, "process_invitation");
        assert_eq!(params, vec![("invitationId".to_owned(), "abc".to_owned())]);
        assert_eq!(find("GET", "/api/v1-preview/communities").unwrap().0.operation, "list_communities");
        assert!(find("PATCH", "/api/v1-preview/communities").is_none());
        assert!(find("GET", "/api/v1-preview/communities//tenants").is_none());
        assert!(find("GET", "/api/v1-preview/communities/a/b/c/d").is_none());
        let (page, _) = find("POST", "/invite/abc").unwrap();
        assert_eq!((page.operation, page.kind), ("respond_to_invitation_page", Kind::Page));
    }

    #[test]
    fn unknown_portal_paths_fall_to_the_greedy_route_only() {
        let (route, params) = find_greedy("/sharing/rest/content/items/abc").unwrap();
        assert_eq!(route.operation, "portal_not_found");
        assert_eq!(params, vec![("proxy".to_owned(), "content/items/abc".to_owned())]);
        assert!(find_greedy("/sharing/rest").is_none());
        assert!(find_greedy("/sharing/rest/").is_none());
        assert!(find_greedy("/sharing/restless/x").is_none());
        assert!(find_greedy("/api/v1-preview/nope").is_none());
        assert!(find("GET", "/sharing/rest/content/items/abc").is_none(), "find never takes the greedy route");
    }

    #[test]
    fn only_the_invitation_pages_the_code_holders_routes_and_the_portal_description_are_public() {
        let public: Vec<_> =
            ROUTES.iter().filter(|r| !matches!(r.kind, Kind::Api | Kind::Portal)).map(|r| r.path).collect();
        assert_eq!(
            public,
            [
                "/api/users/verifyInvitation",
                "/api/users/signupUser/{invitationCode}",
                "/sharing/rest/portals/{portalId}",
                "/sharing/rest",
                "/sharing/rest/info",
                "/sharing/rest/{proxy+}",
                "/invite/{invitationId}",
                "/invite/{invitationId}"
            ]
        );
    }
}

//! What the functions may do and who may call them: each function's IAM permissions against the table of what its
//! operation's code path needs, the portal's KMS signing key, and CORS.

use std::collections::BTreeSet;

use rsvp::routes::ROUTES;
use serde_json::{Value, json};

use crate::{function_id, reference, resources, template};

/// What each operation's code path asks of DynamoDB, from the `DynamoStore` methods it calls:
///
/// - `get_community`, `get_membership`, `get_invitation`, `get_user_invitation`, `get_user_settings`: `GetItem`;
/// - `list_members`: `Query` on the table; `list_tenant_communities`, `list_community_invitations`: `Query` on GSI1;
///   `list_accepted_invitations`: `Query` on GSI2; `list_user_invitations`: `Query` on GSI1 (a tenant's) or GSI2
///   (those one user sent);
/// - `get_communities`, and a membership read with its community or with an invitation
///   (`get_membership_and_community`, `get_membership_and_invitation`): `BatchGetItem`; `update_community`: a
///   conditional `UpdateItem`; `delete_community`: a transaction of two `Delete`s;
/// - `create_community`, `create_user_invitations`: a transaction of `Put`s (`PutItem`); `create_invitation`: the
///   same and an `Update` of the community's counters; `remove_member`: a `Delete` and that `Update`;
///   `put_user_settings`: a conditional `PutItem`;
/// - `apply`: a transaction that `Put`s the invitation, takes (`Put`) or releases (`Delete`) its lock, and joins
///   (`Put`), activates (`Update`) or removes (`Delete`) a membership, and moves the community's counters
///   (`Update`) when it opens or closes an invitation or adds or removes a tenant, as the transitions can; a
///   platform invitation's transition `Put`s it and takes (`Put`) or releases (`Delete`) its lock;
/// - the day's invitation count: a conditional `UpdateItem`; an `Idempotency-Key` record: claimed (`PutItem`),
///   answered (`UpdateItem`) or released (`DeleteItem`);
/// - the portal's: `get_collaboration`, `get_collaboration_invitation`: `GetItem`; `list_collaborations`: `Query` on
///   GSI1; `list_collaboration_invitations`, `list_participants`: `Query` on the table (the collaboration's
///   partition); `put_collaboration`, `create_collaboration_invitation`, `update_collaboration_invitation` (with the
///   participant an import adds), `join_collaboration`: transactions of `Put`s; `remove_participant`,
///   `leave_collaboration`: transactions of `Delete`s.
///
/// Transactions need only the item-level actions they contain; there is no separate TransactWriteItems permission.
/// Beside DynamoDB: sealing and unsealing with the outbox key (`kms:Encrypt`, `kms:Decrypt`), and the portal's
/// signer: `public_key` (`kms:GetPublicKey`, once per instance) and `sign` (`kms:Sign`) with the signing key.
pub(crate) fn permissions(operation: &str) -> BTreeSet<(String, &'static str)> {
    let set = |pairs: &[(&str, &'static str)]| pairs.iter().map(|(action, on)| ((*action).to_owned(), *on)).collect();
    match operation {
        "create_community" => set(&[("dynamodb:PutItem", "table")]),
        // The memberships from GSI1, then their communities, whose names can change.
        "list_communities" => set(&[("dynamodb:Query", "GSI1"), ("dynamodb:BatchGetItem", "table")]),
        "get_community" | "list_community_tenants" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:Query", "table")])
        }
        // The community is updated, then read back with its tenants.
        "update_community" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:UpdateItem", "table"),
            ("dynamodb:Query", "table"),
        ]),
        // The tenants (table) and the invitations (GSI1) are read to name what keeps it; the community and the
        // owner's membership are Deleted in one transaction.
        "delete_community" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:Query", "table"),
            ("dynamodb:Query", "GSI1"),
            ("dynamodb:DeleteItem", "table"),
        ]),
        // rsvp holds no streams: only the caller's membership and the community are read, in one BatchGetItem.
        "get_community_summary" | "search_community_streams" => set(&[("dynamodb:BatchGetItem", "table")]),
        // The membership is Deleted and the community's tenant counter Updated, in one transaction.
        "remove_community_tenant" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
        ]),
        "list_community_invitations" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:Query", "GSI1")]),
        // The invitation and its lock are both Puts, and the link secret is sealed for the outbox (KMS Encrypt);
        // the Idempotency-Key record is claimed and answered (Puts) or released (Delete), and the answer it keeps
        // is sealed, so a replay unseals it (KMS Decrypt).
        "create_community_invitation" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
            ("kms:Encrypt", "outbox key"),
            ("kms:Decrypt", "outbox key"),
        ]),
        // The caller's membership and the invitation, in one BatchGetItem.
        "get_community_invitation" => set(&[("dynamodb:BatchGetItem", "table")]),
        "get_invitation_details" => set(&[("dynamodb:GetItem", "table")]),
        // Delete releases the lock or removes a membership awaiting confirmation, and moves the counters.
        "delete_community_invitation" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
        ]),
        // Accept joins (Put) and releases the lock (Delete), Confirm activates (Update), Decline removes (Delete),
        // Resend reads the owner tenant's settings (the cooldown) and whether the recipient is suppressed in one
        // BatchGetItem, takes the lock (Put) and seals the new secret (KMS Encrypt).
        "process_invitation" => set(&[
            ("kms:Encrypt", "outbox key"),
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
        ]),
        "list_tenant_accepted_invitations" => set(&[("dynamodb:Query", "GSI2")]),
        // The page shows a community invitation (with its community) or a platform invitation.
        "show_invitation_page" => set(&[("dynamodb:GetItem", "table")]),
        // Decline from the page (either kind), or Accept (a platform invitation): the invitation is a Put, releasing
        // its lock a Delete; a community invitation's decline moves its community's counter (an Update).
        "respond_to_invitation_page" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
        ]),
        // Reads the tenant's settings, reserves the day's count (Update), writes the invitations and their locks
        // (Puts) and seals each code for the outbox (KMS Encrypt); its Idempotency-Key record as create's.
        "invite_users" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:UpdateItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("kms:Encrypt", "outbox key"),
        ]),
        "get_business_settings" => set(&[("dynamodb:GetItem", "table")]),
        // The settings are read, then Put conditionally on the version read.
        "update_user_settings" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table")]),
        // The suppression item is deleted; whether there was one is in DeleteItem's answer.
        "lift_suppression" => set(&[("dynamodb:DeleteItem", "table")]),
        // A tenant's invitations from GSI1 (for an administrator), those the caller sent from GSI2.
        "list_user_invitations" => set(&[("dynamodb:Query", "GSI1"), ("dynamodb:Query", "GSI2")]),
        // Revoke Puts the invitation and releases (Deletes) its lock.
        "revoke_user_invitation" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table"), ("dynamodb:DeleteItem", "table")])
        }
        // Resend reads the invitation and the settings, reserves its email on the day's counts (Updates), Puts the
        // invitation and takes (Puts) its lock, and seals the new code (KMS Encrypt).
        "resend_user_invitation" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:UpdateItem", "table"),
            ("kms:Encrypt", "outbox key"),
        ]),
        // The first check of a code Puts the invitation, conditionally on the version read.
        "verify_invitation" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table")]),
        // Accept Puts the invitation and releases (Deletes) its lock.
        "accept_user_invitation" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table"), ("dynamodb:DeleteItem", "table")])
        }
        // The portal's own description carries its public key; it reads no table.
        "get_portal_self" => set(&[("kms:GetPublicKey", "signing key")]),
        "create_collaboration" => set(&[("dynamodb:PutItem", "table")]),
        "list_collaborations" => set(&[("dynamodb:Query", "GSI1")]),
        // A response is checked against the invitation it answers: reads only.
        "get_collaboration" | "validate_invitation_response" => set(&[("dynamodb:GetItem", "table")]),
        // The collaboration (or invitation) is read, then Put conditionally on the version read; an import Puts
        // the participant it adds in the same transaction.
        "add_workspace" | "invalidate_collaboration_invitation" | "import_invitation_response" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table")])
        }
        // The file is signed with the portal's key (whose public half it carries), its nonce sealed to rebuild it.
        "invite_participant" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("kms:GetPublicKey", "signing key"),
            ("kms:Sign", "signing key"),
            ("kms:Encrypt", "outbox key"),
        ]),
        // The workspaces carry each participant's access, and a participant is looked for among them.
        "list_collaboration_invitations"
        | "list_participants"
        | "list_workspaces"
        | "get_workspace"
        | "get_participant" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:Query", "table")]),
        // The REST root, its info, the caller as a user, the empty administration root and the error for every other
        // path read nothing.
        "get_portal_root" | "get_portal_info" | "get_portal_user" | "get_portal_admin" | "portal_not_found" => set(&[]),
        // The file is rebuilt with its unsealed nonce.
        "get_collaboration_invitation" => set(&[("dynamodb:GetItem", "table"), ("kms:Decrypt", "outbox key")]),
        // A new nonce, sealed, in a file signed again; the request keeps the public key it carried.
        "refresh_collaboration_invitation" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("kms:Sign", "signing key"),
            ("kms:Encrypt", "outbox key"),
        ]),
        // It checks the file's signature with the key the file carries, in the function: nothing at all.
        "validate_collaboration_invitation" => set(&[]),
        // The joined collaboration and the host are Puts; the nonce is sealed for the response.
        "accept_collaboration_invitation" => set(&[("dynamodb:PutItem", "table"), ("kms:Encrypt", "outbox key")]),
        // The host participant's sealed nonce is unsealed and echoed in a response signed with the portal's key.
        "export_invitation_response" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:Query", "table"),
            ("kms:Decrypt", "outbox key"),
            ("kms:GetPublicKey", "signing key"),
            ("kms:Sign", "signing key"),
        ]),
        "remove_participant" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:DeleteItem", "table")]),
        // The guest's copy and the participants it knew are Deleted together.
        "remove_participation" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:Query", "table"), ("dynamodb:DeleteItem", "table")])
        }
        other => panic!("{other}: say which DynamoDB and KMS actions its code path needs"),
    }
}

/// The table, the index or the key a policy statement's `Resource` names; anything else fails the test.
pub(crate) fn resource_name(resource: &Value) -> &'static str {
    if *resource == json!({ "Fn::GetAtt": ["Table", "Arn"] }) {
        return "table";
    }
    if *resource == json!({ "Fn::GetAtt": ["OutboxKey", "Arn"] }) {
        return "outbox key";
    }
    if *resource == json!({ "Fn::GetAtt": ["PortalSigningKey", "Arn"] }) {
        return "signing key";
    }
    for index in ["GSI1", "GSI2", "GSI3"] {
        if *resource == json!({ "Fn::Sub": format!("${{Table.Arn}}/index/{index}") }) {
            return index;
        }
    }
    panic!("unexpected Resource {resource}: name the table, one of its indexes, the outbox key or the signing key")
}

/// Every (action, resource) a function's inline policies allow; each statement must be an Allow.
pub(crate) fn granted_to(function: &Value) -> BTreeSet<(String, String)> {
    let mut granted = BTreeSet::new();
    for policy in function["Policies"].as_array().expect("Policies") {
        for statement in policy["Statement"].as_array().expect("inline statements only") {
            assert_eq!(statement["Effect"], "Allow");
            for action in one_or_many(&statement["Action"]) {
                for resource in one_or_many(&statement["Resource"]) {
                    granted.insert((action.as_str().unwrap().to_owned(), resource.to_string()));
                }
            }
        }
    }
    granted
}

pub(crate) fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

#[test]
fn each_function_may_do_only_what_its_operation_does() {
    let t = template();
    for route in ROUTES {
        let id = function_id(route.operation);
        let properties = &resources(&t)[&id]["Properties"];
        // SAM makes each function's role from the basic execution policy (its logs), X-Ray's write-only policy
        // (its traces, Globals.Function.Tracing) and the statements below; a role of its own would escape this check.
        for key in ["Role", "PermissionsBoundary"] {
            assert!(properties.get(key).is_none(), "{id}: {key}");
        }
        // No Policies at all: the function may do nothing but log.
        let no_policies = Vec::new();
        let policies = match properties.get("Policies") {
            None => &no_policies,
            Some(policies) => policies.as_array().unwrap_or_else(|| panic!("{id}: Policies is a list")),
        };
        let mut granted = BTreeSet::new();
        for policy in policies {
            // Only inline statements: a SAM policy template or a managed policy grants more than is written here.
            let statements =
                policy["Statement"].as_array().unwrap_or_else(|| panic!("{id}: inline policy statements only"));
            for statement in statements {
                assert_eq!(statement["Effect"], "Allow", "{id}");
                assert!(statement.get("NotAction").is_none() && statement.get("NotResource").is_none(), "{id}");
                for action in one_or_many(&statement["Action"]) {
                    let action = action.as_str().unwrap();
                    assert!(!action.contains('*'), "{id}: {action} is a wildcard");
                    for resource in one_or_many(&statement["Resource"]) {
                        assert!(
                            granted.insert((action.to_owned(), resource_name(resource))),
                            "{id}: {action} granted twice"
                        );
                    }
                }
            }
        }
        assert_eq!(granted, permissions(route.operation), "{id}");
    }
}

/// The portal's signing key is an asymmetric P-256 key that signs and verifies only: its private half never leaves
/// KMS (the functions ask KMS to sign), the account administers it, and the functions' own policies say who may use
/// it (`each_function_may_do_only_what_its_operation_does`).
#[test]
fn the_portal_signs_with_a_kms_key_whose_private_half_never_leaves_kms() {
    let t = template();
    let key = &resources(&t)["PortalSigningKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    let p = &key["Properties"];
    // What `KmsSigner` asks for: ECDSA_SHA_256 with a P-256 key, whose GetPublicKey is a SubjectPublicKeyInfo.
    assert_eq!(p["KeySpec"], "ECC_NIST_P256");
    assert_eq!(p["KeyUsage"], "SIGN_VERIFY");
    assert!(p.get("EnableKeyRotation").is_none(), "KMS does not rotate asymmetric keys");
    // Other portals know this portal by its public key: deleting or replacing the stack keeps the key.
    assert_eq!(key["DeletionPolicy"], "Retain");
    assert_eq!(key["UpdateReplacePolicy"], "Retain");
    // The outbox key's policy: only the account, which grants use through the functions' IAM policies.
    assert_eq!(p["KeyPolicy"], resources(&t)["OutboxKey"]["Properties"]["KeyPolicy"]);
    let statements = p["KeyPolicy"]["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0]["Principal"],
        json!({ "AWS": { "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" } })
    );
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(env["RSVP_PORTAL_SIGNING_KEY_ID"], reference("PortalSigningKey"));
}

/// CORS is off unless origins are given; then it allows exactly those origins, the methods the routes use, the
/// headers the API reads and exposes the ones its answers carry for a browser, without credentials (bearer tokens
/// in a header, no cookies).
#[test]
fn cors_is_off_unless_origins_are_given_and_allows_only_the_apis_headers() {
    let t = template();
    let parameter = &t["Parameters"]["CorsAllowedOrigins"];
    // A String SAM substitutes, split by CloudFormation (a CommaDelimitedList would reach SAM's substitution as it is).
    assert_eq!(parameter["Type"], "String");
    let pattern = regex_lite::Regex::new(parameter["AllowedPattern"].as_str().unwrap()).unwrap();
    for origins in ["", "https://app.example.com", "https://app.example.com,http://localhost:3000"] {
        assert!(pattern.is_match(origins), "{origins}");
    }
    for origins in ["*", "https://app.example.com/", "app.example.com", "https://a.example.com, https://b.example.com"]
    {
        assert!(!pattern.is_match(origins), "{origins}");
    }
    assert_eq!(
        t["Conditions"]["HasCors"],
        json!({ "Fn::Not": [{ "Fn::Equals": [reference("CorsAllowedOrigins"), ""] }] })
    );
    let cors = &resources(&t)["HttpApi"]["Properties"]["CorsConfiguration"]["Fn::If"];
    assert_eq!(cors[0], "HasCors");
    assert_eq!(cors[2], reference("AWS::NoValue"), "no CORS configuration at all without origins");
    let c = &cors[1];
    assert_eq!(c["AllowOrigins"], json!({ "Fn::Split": [",", reference("CorsAllowedOrigins")] }));
    let set = |v: &Value| -> BTreeSet<String> {
        v.as_array().expect("a list").iter().map(|h| h.as_str().unwrap().to_ascii_lowercase()).collect()
    };
    let read = [
        "authorization",
        "content-type",
        rsvp::ops::idempotency::IDEMPOTENCY_KEY_HEADER,
        rsvp::ops::communities::INVITATION_TOKEN_HEADER,
        rsvp::http::token::ESRI_AUTHORIZATION,
    ];
    assert_eq!(set(&c["AllowHeaders"]), read.iter().map(|h| (*h).to_owned()).collect());
    let exposed = [rsvp::ops::idempotency::REPLAYED_HEADER, "retry-after", "link"];
    assert_eq!(set(&c["ExposeHeaders"]), exposed.iter().map(|h| (*h).to_owned()).collect());
    let methods: BTreeSet<String> = ROUTES
        .iter()
        .flat_map(|r| r.route_keys())
        .map(|(m, _)| m.to_ascii_lowercase())
        .filter(|m| m != "any")
        .collect();
    assert_eq!(set(&c["AllowMethods"]), methods);
    assert_eq!(c["AllowCredentials"], false);
    assert!(c["MaxAge"].as_i64().is_some_and(|s| (1..=7200).contains(&s)));
}

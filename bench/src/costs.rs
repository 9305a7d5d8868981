//! What each operation costs DynamoDB: every operation of the Communities API run once in-process through a
//! client that counts requests and sums consumed capacity ([`Counter`]), each email the handshake owes delivered as
//! the stream consumer would, and a list page costed again as other communities fill the table. Separate from the
//! timing of function processes because it needs no process, only the app and a counting client; `--costs-only`
//! runs just this.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_dynamodb::Client;
use rsvp::app::App;
use rsvp::domain::{InvitationId, MailItem};
use rsvp::mail::deliver::{Delivered, Deliverer};
use rsvp::mail::{MailError, Mailer, Message};
use rsvp::routes::{self, Route};
use serde_json::{Value, json};

use crate::counting::{Counter, Tally};
use crate::events::{Caller, GUEST, OWNER, event};
use crate::fixtures::{
    app, call, client, create_community, create_invitation, expect, get_invitation, id_of, list_invitations,
};
use crate::raw::{Item, seed_other_communities};
use crate::say;
use crate::stats::Summary;

/// The app over a client that counts: each operation is costed by what the counter took while it ran.
pub struct Counted {
    pub app: Arc<App>,
    pub counter: Counter,
}

impl Counted {
    pub fn new(endpoint: &str, table: &str) -> Self {
        let counter = Counter::default();
        let app = app(client(endpoint, Some(&counter)), table);
        Counted { app, counter }
    }
}

/// One operation's cost, measured in-process through the counting client.
pub struct Cost {
    pub operation: String,
    /// The status it answered; 0 for an email delivered, which has none.
    pub status: u16,
    pub tally: Tally,
}

async fn costed(counted: &Counted, label: &str, route: &Route, event: &Value) -> Result<(Cost, Value), String> {
    let Counted { app, counter } = counted;
    counter.take();
    let (status, body) = call(app, route, event).await?;
    let tally = counter.take();
    if status >= 400 {
        return Err(format!("{label} answered {status}: {body}"));
    }
    Ok((Cost { operation: label.to_owned(), status, tally }, body))
}

/// Takes any email for a message id: the bench measures what delivering costs DynamoDB, not a mail service.
struct Discard;

#[async_trait::async_trait]
impl Mailer for Discard {
    async fn send(&self, _: &Message) -> Result<String, MailError> {
        Ok("bench".to_owned())
    }
}

/// Delivers the email the invitation `id` owes, as the stream consumer does (claim, send, outcome), costed.
async fn delivered(counted: &Counted, label: &str, id: &str) -> Result<Cost, String> {
    let Counted { app, counter } = counted;
    let id = InvitationId::parse("invitation", id).map_err(|e| e.to_string())?;
    let seq = app
        .store
        .get_invitation(id)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|i| i.delivery)
        .map(|d| d.seq)
        .ok_or_else(|| format!("{label}: the invitation owes no email"))?;
    let deliverer = Deliverer {
        store: Arc::clone(&app.store),
        sealer: Arc::clone(&app.sealer),
        mailer: Arc::new(Discard),
        clock: Arc::clone(&app.clock),
    };
    counter.take();
    let outcome = deliverer.deliver(MailItem::Community(id), seq).await;
    let tally = counter.take();
    match outcome {
        Ok(Delivered::Sent(_)) => Ok(Cost { operation: label.to_owned(), status: 0, tally }),
        other => Err(format!("{label}: {other:?}")),
    }
}

/// Every operation of the Communities API once, in an order in which each succeeds, with each email the handshake
/// owes delivered (as the stream consumer would) before the next step, so each step meets the item it would.
pub async fn every_operation(counted: &Counted) -> Result<Vec<Cost>, String> {
    let mut costs = Vec::new();
    let guest: &Caller = &GUEST;
    let (c, body) = costed(counted, "create_community", &routes::CREATE_COMMUNITY, &create_community("Costs")).await?;
    costs.push(c);
    let community = id_of(&body)?;
    let cid = community.as_str();
    let steps: Vec<(&str, &Route, Value)> = vec![
        (
            "get_community",
            &routes::GET_COMMUNITY,
            event(&routes::GET_COMMUNITY, &[("communityId", cid)], &[], None, &OWNER),
        ),
        (
            "list_communities",
            &routes::LIST_COMMUNITIES,
            event(&routes::LIST_COMMUNITIES, &[], &[("count", "20")], None, &OWNER),
        ),
    ];
    for (label, route, e) in steps {
        costs.push(costed(counted, label, route, &e).await?.0);
    }
    let (c, body) = costed(
        counted,
        "create_community_invitation",
        &routes::CREATE_COMMUNITY_INVITATION,
        &create_invitation(cid, guest.email),
    )
    .await?;
    costs.push(c);
    let invitation = id_of(&body)?;
    let iid = invitation.as_str();
    costs.push(delivered(counted, "deliver the invitation email", iid).await?);
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    let confirm = json!({"Action": "Confirm"});
    let steps: Vec<(&str, &Route, Value)> = vec![
        ("get_community_invitation", &routes::GET_COMMUNITY_INVITATION, get_invitation(cid, iid)),
        ("list_community_invitations", &routes::LIST_COMMUNITY_INVITATIONS, list_invitations(cid)),
        (
            "get_invitation_details",
            &routes::GET_INVITATION_DETAILS,
            event(&routes::GET_INVITATION_DETAILS, &[("invitationId", iid)], &[], None, guest),
        ),
        (
            "process_invitation (Accept)",
            &routes::PROCESS_INVITATION,
            event(&routes::PROCESS_INVITATION, &[("invitationId", iid)], &[], Some(&accept), guest),
        ),
        (
            "list_tenant_accepted_invitations",
            &routes::LIST_TENANT_ACCEPTED_INVITATIONS,
            event(
                &routes::LIST_TENANT_ACCEPTED_INVITATIONS,
                &[("tenantId", guest.tenant)],
                &[("count", "20")],
                None,
                guest,
            ),
        ),
        (
            "process_invitation (Confirm)",
            &routes::PROCESS_INVITATION,
            event(&routes::PROCESS_INVITATION, &[("invitationId", iid)], &[], Some(&confirm), &OWNER),
        ),
        (
            "list_community_tenants",
            &routes::LIST_COMMUNITY_TENANTS,
            event(&routes::LIST_COMMUNITY_TENANTS, &[("communityId", cid)], &[("count", "50")], None, &OWNER),
        ),
        (
            "remove_community_tenant",
            &routes::REMOVE_COMMUNITY_TENANT,
            event(
                &routes::REMOVE_COMMUNITY_TENANT,
                &[("communityId", cid), ("tenantId", guest.tenant)],
                &[],
                None,
                &OWNER,
            ),
        ),
    ];
    for (label, route, e) in steps {
        costs.push(costed(counted, label, route, &e).await?.0);
        match label {
            "process_invitation (Accept)" => costs.push(delivered(counted, "deliver the Accepted notice", iid).await?),
            "process_invitation (Confirm)" => {
                costs.push(delivered(counted, "deliver the Confirmed notice", iid).await?);
            }
            _ => {}
        }
    }
    let other = id_of(
        &expect(
            &counted.app,
            &routes::CREATE_COMMUNITY_INVITATION,
            &create_invitation(cid, "carol@guest.example"),
            201,
        )
        .await?,
    )?;
    let e = event(
        &routes::DELETE_COMMUNITY_INVITATION,
        &[("communityId", cid), ("invitationId", &other)],
        &[],
        None,
        &OWNER,
    );
    costs.push(costed(counted, "delete_community_invitation", &routes::DELETE_COMMUNITY_INVITATION, &e).await?.0);
    Ok(costs)
}

/// The requests and capacity of each operation, and of the handshake (create → Accept → Confirm) they add up to.
pub fn costs_table(w: &mut String, costs: &[Cost]) {
    let _ = writeln!(w, "| operation | status | requests | calls | capacity units |\n|---|---:|---:|---|---:|");
    for c in costs {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            c.operation,
            if c.status == 0 { "—".to_owned() } else { c.status.to_string() },
            c.tally.requests,
            c.tally.operations_text(),
            capacity_text(&c.tally)
        );
    }
    let units = handshake_units(costs);
    let _ = writeln!(
        w,
        "\nA full handshake (create_community_invitation + Accept + Confirm): **{}** capacity units.",
        units.map_or_else(|| "not reported".to_owned(), |u| format!("{u:.1}"))
    );
}

/// The capacity units of create_community_invitation, Accept and Confirm together.
pub fn handshake_units(costs: &[Cost]) -> Option<f64> {
    HANDSHAKE
        .iter()
        .map(|op| costs.iter().find(|c| c.operation == *op).and_then(|c| c.tally.capacity))
        .sum::<Option<f64>>()
}

/// The operations of one community handshake.
const HANDSHAKE: [&str; 3] =
    ["create_community_invitation", "process_invitation (Accept)", "process_invitation (Confirm)"];

pub fn capacity_text(t: &Tally) -> String {
    t.capacity.map_or_else(|| "not reported".to_owned(), |c| format!("{c:.1}"))
}

/// The fixture community's first list page once other communities' invitations reach `size`: what it cost, how
/// many items it returned, and its in-process latency over 50 calls.
pub struct Growth {
    pub size: usize,
    pub cost: Cost,
    pub items: usize,
    pub times: Summary,
}

/// The list page of `community` at each of `sizes` (ascending), seeding other communities (copies of `template`)
/// up to each size first; costed through `counted`, timed through `plain`.
pub async fn list_page_growth(
    sizes: &[usize],
    counted: &Counted,
    plain: &Arc<App>,
    client: &Client,
    table: &str,
    template: &Item,
    community: &str,
) -> Result<Vec<Growth>, String> {
    let list_event = list_invitations(community);
    let mut growth = Vec::new();
    let mut seeded = 0;
    for &size in sizes {
        say(&format!("seeding other communities up to {size} invitations"));
        seed_other_communities(client, table, template, size - seeded).await?;
        seeded = size;
        let (cost, body) =
            costed(counted, "list_community_invitations", &routes::LIST_COMMUNITY_INVITATIONS, &list_event).await?;
        let items = body.as_array().map_or(0, Vec::len);
        let mut times = Vec::new();
        for _ in 0..50 {
            let start = Instant::now();
            expect(plain, &routes::LIST_COMMUNITY_INVITATIONS, &list_event, 200).await?;
            times.push(start.elapsed());
        }
        growth.push(Growth { size, cost, items, times: Summary::of(&times).ok_or("no samples")? });
    }
    Ok(growth)
}

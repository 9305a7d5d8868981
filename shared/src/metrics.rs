//! CloudWatch metrics, counted from the events every change raises ([`crate::domain::event`]) as they are
//! published: invitations created, accepted and declined, and emails sent, failed, bounced and complained of, per
//! dialect (`communities`, `users`, `portals`). Counting from the published events counts each change exactly
//! once — a replayed stream record publishes nothing, so it counts nothing — and keeps the request paths free of
//! metric code.
//!
//! They are written as CloudWatch's Embedded Metric Format: one JSON line on stdout per dialect of a published
//! batch, which CloudWatch Logs turns into metrics without an API call. The only dimension is the dialect: a
//! tenant dimension would make one metric per tenant (cost without bound) and put tenant ids into metrics.

use serde_json::{Map, Value, json};

use crate::domain::event::{Event, EventType, SubjectType};

/// The metrics' namespace when `RSVP_METRICS_NAMESPACE` names none.
pub const DEFAULT_NAMESPACE: &str = "rsvp";

/// Every metric counted, as the template's dashboard shows them.
pub const METRICS: &[&str] = &[
    "InvitationsCreated",
    "InvitationsAccepted",
    "InvitationsDeclined",
    "EmailsSent",
    "EmailsFailed",
    "EmailsBounced",
    "EmailsComplained",
];

/// Every dialect, the metrics' one dimension.
pub const DIALECTS: &[&str] = &["communities", "users", "portals"];

/// The metric an event counts towards, if any.
fn metric(kind: EventType) -> Option<&'static str> {
    use EventType::*;
    Some(match kind {
        CommunityInvitationCreated | UserInvitationCreated | CollaborationInvitationCreated => "InvitationsCreated",
        CommunityInvitationAccepted | UserInvitationAccepted | CollaborationInvitationAccepted => "InvitationsAccepted",
        CommunityInvitationDeclined | UserInvitationDeclined => "InvitationsDeclined",
        EmailSent => "EmailsSent",
        EmailFailed => "EmailsFailed",
        EmailBounced => "EmailsBounced",
        EmailComplained => "EmailsComplained",
        _ => return None,
    })
}

/// The dialect an event's subject belongs to: the metrics' one dimension.
fn dialect(subject: SubjectType) -> &'static str {
    match subject {
        SubjectType::CommunityInvitation => "communities",
        SubjectType::UserInvitation => "users",
        SubjectType::CollaborationInvitation => "portals",
    }
}

/// The Embedded Metric Format lines that count `events` at `now_millis` in `namespace`: one per dialect that has
/// a counted event, each with every metric it counts. None when nothing is counted.
pub fn lines(events: &[Event], namespace: &str, now_millis: i64) -> Vec<String> {
    let mut by_dialect: Vec<(&'static str, Map<String, Value>)> = Vec::new();
    for event in events {
        let Some(name) = metric(event.kind) else { continue };
        let dialect = dialect(event.subject.kind);
        let at = match by_dialect.iter().position(|(d, _)| *d == dialect) {
            Some(at) => at,
            None => {
                by_dialect.push((dialect, Map::new()));
                by_dialect.len() - 1
            }
        };
        let counts = &mut by_dialect[at].1;
        let count = counts.get(name).and_then(Value::as_u64).unwrap_or(0) + 1;
        counts.insert(name.to_owned(), json!(count));
    }
    by_dialect
        .into_iter()
        .map(|(dialect, counts)| {
            let metrics: Vec<Value> = counts.keys().map(|name| json!({"Name": name, "Unit": "Count"})).collect();
            let mut line = counts;
            line.insert("Dialect".into(), json!(dialect));
            line.insert(
                "_aws".into(),
                json!({
                    "Timestamp": now_millis,
                    "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [["Dialect"]], "Metrics": metrics}],
                }),
            );
            Value::Object(line).to_string()
        })
        .collect()
}

/// Writes the lines counting `events` to stdout, where the Lambda runtime hands them to CloudWatch Logs.
pub fn emit(events: &[Event], namespace: &str, now_millis: i64) {
    for line in lines(events, namespace, now_millis) {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Subject;

    fn event(kind: EventType, subject: SubjectType) -> Event {
        Event {
            id: "evt_1".into(),
            kind,
            time: "2026-12-03T10:00:00.000Z".into(),
            tenant: "tenant-secret-name".into(),
            subject: Subject { kind: subject, id: "7c9e6679-7425-40de-944b-e07fc1f90ae7".into() },
            state: "Pending",
            actor: None,
            data: Map::new(),
        }
    }

    #[test]
    fn each_dialect_gets_one_line_in_the_embedded_metric_format_without_a_tenant() {
        let events = [
            event(EventType::CommunityInvitationCreated, SubjectType::CommunityInvitation),
            event(EventType::EmailSent, SubjectType::CommunityInvitation),
            event(EventType::UserInvitationCreated, SubjectType::UserInvitation),
            event(EventType::UserInvitationCreated, SubjectType::UserInvitation),
            event(EventType::UserInvitationVerified, SubjectType::UserInvitation),
        ];
        let lines: Vec<Value> =
            lines(&events, "rsvp/prod", 1_790_000_000_000).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0],
            json!({
                "_aws": {"Timestamp": 1_790_000_000_000_i64, "CloudWatchMetrics": [{
                    "Namespace": "rsvp/prod", "Dimensions": [["Dialect"]],
                    "Metrics": [{"Name": "EmailsSent", "Unit": "Count"}, {"Name": "InvitationsCreated", "Unit": "Count"}]
                }]},
                "Dialect": "communities", "EmailsSent": 1, "InvitationsCreated": 1
            })
        );
        assert_eq!(lines[1]["Dialect"], "users");
        assert_eq!(lines[1]["InvitationsCreated"], 2);
        assert!(lines[1].get("UserInvitationVerified").is_none(), "not counted: {}", lines[1]);
        for line in &lines {
            // Every metric named in the directive has its value at the root, as the format requires.
            for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap() {
                assert!(line[m["Name"].as_str().unwrap()].is_u64(), "{line}");
            }
            assert!(!line.to_string().contains("tenant-secret-name"), "no tenant in a metric");
        }
        assert!(
            super::lines(&[event(EventType::UserInvitationResent, SubjectType::UserInvitation)], "r", 0).is_empty()
        );
    }
}

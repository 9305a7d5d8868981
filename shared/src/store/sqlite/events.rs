//! The events each write raises ([`crate::domain::event`]), kept in the write's own transaction: the local
//! server's stand-in for the DynamoDB stream and `PublishEventsFunction`. A write and its events commit together
//! or not at all, so a killed server loses none and invents none; the local publisher (`rsvp-local`'s `events`)
//! hands each to its outlets in order and deletes it once every outlet has it.

use rusqlite::{Transaction, params};

use super::rows::sql;
use crate::domain::event::Event;
use crate::store::StoreResult;

/// Where the local publisher sends events; each keeps its own progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outlet {
    /// `events.jsonl` in the data folder.
    File,
    /// The `--webhook` receiver.
    Webhook,
}

impl Outlet {
    fn column(self) -> &'static str {
        match self {
            Self::File => "written",
            Self::Webhook => "hooked",
        }
    }
}

/// The events table's queries, for the plan test: each walks an index in order.
pub(super) const UNWRITTEN: &str = "SELECT seq, item FROM events WHERE written = 0 ORDER BY seq LIMIT ?1";
pub(super) const UNHOOKED: &str = "SELECT seq, item FROM events WHERE hooked = 0 ORDER BY seq LIMIT ?1";

/// Keeps `events` for the publisher. An event already kept (the same id: the same change) is kept once.
pub(super) fn record(tx: &Transaction<'_>, events: &[Event]) -> StoreResult<()> {
    for event in events {
        let item = serde_json::to_string(event).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        tx.prepare_cached("INSERT OR IGNORE INTO events (id, item) VALUES (?1, ?2)")
            .map_err(sql)?
            .execute(params![event.id, item])
            .map_err(sql)?;
    }
    Ok(())
}

/// The oldest `limit` events `outlet` has not had: (sequence, the event's JSON).
pub(super) fn pending(tx: &Transaction<'_>, outlet: Outlet, limit: u32) -> StoreResult<Vec<(i64, String)>> {
    let query = match outlet {
        Outlet::File => UNWRITTEN,
        Outlet::Webhook => UNHOOKED,
    };
    let mut statement = tx.prepare_cached(query).map_err(sql)?;
    let rows = statement.query_map([limit], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql)?;
    rows.collect::<Result<_, _>>().map_err(sql)
}

/// Records that `outlets` have event `seq`, and forgets the events every outlet has.
pub(super) fn done(tx: &Transaction<'_>, outlets: &[Outlet], seq: i64) -> StoreResult<()> {
    for outlet in outlets {
        let column = outlet.column();
        tx.execute(&format!("UPDATE events SET {column} = 1 WHERE seq = ?1"), [seq]).map_err(sql)?;
    }
    tx.execute("DELETE FROM events WHERE seq = ?1 AND written = 1 AND hooked = 1", [seq]).map_err(sql)?;
    Ok(())
}

//! The [`SuppressionStore`] port: one row per (tenant, address hash).

use async_trait::async_trait;
use rusqlite::{Transaction, params};

use super::SqliteStore;
use super::rows::{json, one, sql};
use crate::domain::fate::Suppression;
use crate::domain::{Email, RecipientHash, TenantId, UserSettings};
use crate::store::{StoreResult, SuppressionStore};

fn scope(tenant: &TenantId, address: &Email) -> String {
    format!("{tenant}/{}", RecipientHash::of(address).as_str())
}

#[async_trait]
impl SuppressionStore for SqliteStore {
    async fn suppress(&self, suppression: &Suppression) -> StoreResult<()> {
        let (scope, item) = (scope(&suppression.tenant, &suppression.address), json(suppression)?);
        self.write(move |tx| {
            tx.execute("INSERT OR REPLACE INTO suppressions (scope, item) VALUES (?1, ?2)", params![scope, item])
                .map_err(sql)?;
            Ok(())
        })
        .await
    }

    async fn suppressions(&self, tenant: &TenantId, addresses: &[&Email]) -> StoreResult<Vec<Suppression>> {
        let scopes: Vec<String> = addresses.iter().map(|a| scope(tenant, a)).collect();
        self.read(move |tx| suppressed(tx, scopes)).await
    }

    async fn settings_and_suppressions(
        &self,
        tenant: &TenantId,
        addresses: &[&Email],
    ) -> StoreResult<(Option<(UserSettings, u64)>, Vec<Suppression>)> {
        let scopes: Vec<String> = addresses.iter().map(|a| scope(tenant, a)).collect();
        let tenant = tenant.clone();
        self.read(move |tx| Ok((super::platform::settings(tx, &tenant)?, suppressed(tx, scopes)?))).await
    }

    async fn lift_suppression(&self, tenant: &TenantId, address: &Email) -> StoreResult<bool> {
        let scope = scope(tenant, address);
        self.write(move |tx| Ok(tx.execute("DELETE FROM suppressions WHERE scope = ?1", [scope]).map_err(sql)? > 0))
            .await
    }
}

fn suppressed(tx: &Transaction<'_>, scopes: Vec<String>) -> StoreResult<Vec<Suppression>> {
    let mut found = Vec::new();
    for scope in scopes {
        found.extend(one::<Suppression>(tx, "SELECT item FROM suppressions WHERE scope = ?1", [scope])?);
    }
    Ok(found)
}

//! The [`SuppressionStore`] port in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::fate::Suppression;
use crate::domain::{Email, RecipientHash, TenantId, UserSettings};
use crate::store::{StoreResult, SuppressionStore};

fn key(tenant: &TenantId, address: &Email) -> String {
    format!("{tenant}/{}", RecipientHash::of(address).as_str())
}

#[async_trait]
impl SuppressionStore for MemoryStore {
    async fn suppress(&self, suppression: &Suppression) -> StoreResult<()> {
        self.write(|s| {
            s.suppressions.insert(key(&suppression.tenant, &suppression.address), suppression.clone());
            Ok(())
        })
    }

    async fn suppressions(&self, tenant: &TenantId, addresses: &[&Email]) -> StoreResult<Vec<Suppression>> {
        self.read(|s| addresses.iter().filter_map(|a| s.suppressions.get(&key(tenant, a)).cloned()).collect())
    }

    async fn lift_suppression(&self, tenant: &TenantId, address: &Email) -> StoreResult<bool> {
        self.write(|s| Ok(s.suppressions.remove(&key(tenant, address)).is_some()))
    }

    async fn settings_and_suppressions(
        &self,
        tenant: &TenantId,
        addresses: &[&Email],
    ) -> StoreResult<(Option<(UserSettings, u64)>, Vec<Suppression>)> {
        self.read(|s| {
            let suppressed = addresses.iter().filter_map(|a| s.suppressions.get(&key(tenant, a)).cloned()).collect();
            (s.user_settings.get(tenant.as_str()).cloned(), suppressed)
        })
    }
}

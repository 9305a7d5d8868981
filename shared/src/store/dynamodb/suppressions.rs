//! The [`SuppressionStore`] port: one item per (tenant, address hash) under the tenant
//! (`PK = TENANT#<tenant>`, `SK = SUPPRESSED#<hash>`), so no key carries the address; no index sees it.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::keys::{decode, encode, s, tenant_pk};
use super::platform::{SETTINGS_SK, StoredSettings};
use super::{DynamoStore, unavailable};
use crate::domain::fate::Suppression;
use crate::domain::{Email, RecipientHash, TenantId, UserSettings};
use crate::store::{StoreResult, SuppressionStore};

fn sk(address: &Email) -> String {
    format!("SUPPRESSED#{}", RecipientHash::of(address).as_str())
}

#[async_trait]
impl SuppressionStore for DynamoStore {
    async fn suppress(&self, suppression: &Suppression) -> StoreResult<()> {
        let keys = [("PK", tenant_pk(&suppression.tenant)), ("SK", sk(&suppression.address))];
        let item = encode(suppression, &keys)?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn suppressions(&self, tenant: &TenantId, addresses: &[&Email]) -> StoreResult<Vec<Suppression>> {
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let keys = addresses
            .iter()
            .map(|a| HashMap::from([("PK".to_owned(), s(tenant_pk(tenant))), ("SK".to_owned(), s(sk(a)))]))
            .collect();
        self.batch_get(keys).await?.into_iter().map(decode).collect()
    }

    async fn settings_and_suppressions(
        &self,
        tenant: &TenantId,
        addresses: &[&Email],
    ) -> StoreResult<(Option<(UserSettings, u64)>, Vec<Suppression>)> {
        let key = |sk: String| HashMap::from([("PK".to_owned(), s(tenant_pk(tenant))), ("SK".to_owned(), s(sk))]);
        let keys = std::iter::once(key(SETTINGS_SK.to_owned())).chain(addresses.iter().map(|a| key(sk(a)))).collect();
        let (mut settings, mut suppressed) = (None, Vec::new());
        for item in self.batch_get(keys).await? {
            if item.get("SK").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk == SETTINGS_SK) {
                let stored: StoredSettings = decode(item)?;
                settings = Some((stored.settings, stored.version));
            } else {
                suppressed.push(decode(item)?);
            }
        }
        Ok((settings, suppressed))
    }

    async fn lift_suppression(&self, tenant: &TenantId, address: &Email) -> StoreResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(sk(address)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}

//! DynamoDB called directly with the SDK, not through rsvp: the requests each timed operation stands for, which
//! its warm latency is set beside ([`Baseline`]), and the bulk seeding of other communities' invitations that the
//! list page is costed against as the table grows. Separate because these mirror the store's item layout by hand
//! (keys, conditions, the lock and counter of a create), which nothing else in the bench needs to know.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, PutRequest, TransactWriteItem, Update, WriteRequest,
};

use crate::fixtures::Fixture;

/// A stored item, as the SDK gives and takes it.
pub type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A consistent read of `keys`, as the store makes it for a membership with its community or invitation.
fn batch_get(table: &str, keys: &[(String, &str)]) -> Result<HashMap<String, KeysAndAttributes>, String> {
    let keys = keys.iter().map(|(pk, sk)| Item::from([("PK".to_owned(), s(pk.clone())), ("SK".to_owned(), s(*sk))]));
    let wanted = KeysAndAttributes::builder().set_keys(Some(keys.collect())).consistent_read(true).build();
    Ok(HashMap::from([(table.to_owned(), wanted.map_err(|e| e.to_string())?)]))
}

fn sdk_error(e: impl std::error::Error) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
}

/// The stored item of `invitation`, to copy as the template of seeded and raw-written ones.
pub async fn invitation_item(client: &Client, table: &str, invitation: &str) -> Result<Item, String> {
    let out = client
        .get_item()
        .table_name(table)
        .key("PK", s(format!("INVITATION#{invitation}")))
        .key("SK", s("#INVITATION"))
        .send()
        .await
        .map_err(sdk_error)?;
    out.item.ok_or_else(|| "the fixture invitation is not stored".into())
}

/// A copy of `template` as a new invitation of `community`, issued at `millis`.
fn invitation_like(template: &Item, community: &str, millis: u64) -> Item {
    let id = uuid::Uuid::new_v4().to_string();
    let mut item = template.clone();
    item.insert("PK".into(), s(format!("INVITATION#{id}")));
    item.insert("id".into(), s(id.clone()));
    item.insert("community_id".into(), s(community));
    item.insert("GSI1PK".into(), s(format!("COMMUNITY#{community}#INVITATIONS")));
    item.insert("GSI1SK".into(), s(format!("{millis:015}#{id}")));
    item
}

/// Writes `count` invitations of other communities (25 to a community, one BatchWriteItem each, 16 at a time).
pub async fn seed_other_communities(client: &Client, table: &str, template: &Item, count: usize) -> Result<(), String> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut left = count;
    while left > 0 {
        let n = left.min(25);
        left -= n;
        while tasks.len() >= 16 {
            tasks.join_next().await.ok_or("no task")?.map_err(|e| e.to_string())??;
        }
        let (client, table, template) = (client.clone(), table.to_owned(), template.clone());
        tasks.spawn(async move {
            let community = uuid::Uuid::new_v4().to_string();
            let mut requests: Vec<WriteRequest> = (0..n)
                .map(|i| {
                    let item = invitation_like(&template, &community, 1_700_000_000_000 + i as u64);
                    let put = PutRequest::builder().set_item(Some(item)).build().map_err(|e| e.to_string())?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, String>>()?;
            while !requests.is_empty() {
                let out = client.batch_write_item().request_items(&table, requests).send().await.map_err(sdk_error)?;
                requests = out.unprocessed_items.and_then(|mut u| u.remove(&table)).unwrap_or_default();
                if !requests.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Ok::<(), String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// The DynamoDB request(s) each timed operation makes on the fixture, made directly by the bench: what the warm
/// latency of each function is set beside.
pub struct Baseline<'a> {
    client: &'a Client,
    table: &'a str,
    community: &'a str,
    /// The fixture invitation's stored item, which each raw create copies.
    template: &'a Item,
    /// The key of the owner's membership of the fixture community, which every operation reads first.
    owner_member: (String, &'static str),
    /// The membership with the invitation.
    get_keys: HashMap<String, KeysAndAttributes>,
    /// The membership with the community.
    community_keys: HashMap<String, KeysAndAttributes>,
    /// The owner's settings and the recipient's suppression (none), under the owner tenant's key.
    settings_keys: HashMap<String, KeysAndAttributes>,
}

impl<'a> Baseline<'a> {
    pub fn new(client: &'a Client, table: &'a str, fx: &'a Fixture, template: &'a Item) -> Result<Self, String> {
        let owner_member = (format!("COMMUNITY#{}", fx.community), "TENANT#tenant-owner");
        let get_keys =
            batch_get(table, &[owner_member.clone(), (format!("INVITATION#{}", fx.invitation), "#INVITATION")])?;
        let community_keys =
            batch_get(table, &[owner_member.clone(), (format!("COMMUNITY#{}", fx.community), "#COMMUNITY")])?;
        let settings_keys = batch_get(
            table,
            &[
                ("TENANT#tenant-owner".to_owned(), "#USERSETTINGS"),
                ("TENANT#tenant-owner".to_owned(), "SUPPRESSED#raw"),
            ],
        )?;
        Ok(Self {
            client,
            table,
            community: &fx.community,
            template,
            owner_member,
            get_keys,
            community_keys,
            settings_keys,
        })
    }

    /// get_community_invitation's request: BatchGetItem of the membership and the invitation.
    pub async fn get(&self) -> Result<(), String> {
        self.client
            .batch_get_item()
            .set_request_items(Some(self.get_keys.clone()))
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error)
    }

    /// create_community_invitation's requests, the `i`th time: the membership with the community, the owner's
    /// settings with the recipient's suppression, the day's two counts, and the transaction that writes the
    /// invitation with its lock and moves the community's counter.
    pub async fn create(&self, i: usize) -> Result<(), String> {
        let (plain, table) = (self.client, self.table);
        plain.batch_get_item().set_request_items(Some(self.community_keys.clone())).send().await.map_err(sdk_error)?;
        // The owner tenant's settings (its mail budget) with the address's suppression, then the day's counts
        // it and the address draw on.
        plain.batch_get_item().set_request_items(Some(self.settings_keys.clone())).send().await.map_err(sdk_error)?;
        for counter in [format!("RAWCOUNT#{i}"), format!("RAWRECIPIENT#{i}")] {
            plain
                .update_item()
                .table_name(table)
                .key("PK", s("TENANT#tenant-owner"))
                .key("SK", s(counter))
                .update_expression("ADD #n :one")
                .condition_expression("attribute_not_exists(#n) OR #n < :cap")
                .expression_attribute_names("#n", "count")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":cap", AttributeValue::N("1000000".into()))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let item = invitation_like(self.template, self.community, 1_800_000_000_000 + i as u64);
        let lock: Item = [
            ("PK".to_owned(), s(format!("LOCK#{}#raw-{i}@guest.example", uuid::Uuid::new_v4()))),
            ("SK".to_owned(), s("#LOCK")),
            ("invitation".to_owned(), item["id"].clone()),
            ("expires".to_owned(), AttributeValue::N("1800000000000".into())),
            ("ttl".to_owned(), AttributeValue::N("1800000000".into())),
        ]
        .into_iter()
        .collect();
        let put = |item: Item, condition: &str| -> Result<TransactWriteItem, String> {
            let put = Put::builder().table_name(table).set_item(Some(item)).condition_expression(condition);
            Ok(TransactWriteItem::builder().put(put.build().map_err(|e| e.to_string())?).build())
        };
        // The community's counter of open invitations moves in the same transaction.
        let count = Update::builder()
            .table_name(table)
            .key("PK", s(format!("COMMUNITY#{}", self.community)))
            .key("SK", s("#COMMUNITY"))
            .update_expression("ADD #open :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#open", "open_invitations")
            .expression_attribute_values(":one", AttributeValue::N("0".into()))
            .build()
            .map_err(|e| e.to_string())?;
        let mut items = vec![
            put(item, "attribute_not_exists(PK)")?,
            put(lock, "attribute_not_exists(PK) OR invitation = :id OR expires <= :at")?,
            TransactWriteItem::builder().update(count).build(),
        ];
        // The lock's condition names values; give them as the store does.
        if let Some(TransactWriteItem { put: Some(p), .. }) = items.get_mut(1) {
            p.expression_attribute_values = Some(
                [(":id".to_owned(), s("none")), (":at".to_owned(), AttributeValue::N("1700000000000".into()))]
                    .into_iter()
                    .collect(),
            );
        }
        plain.transact_write_items().set_transact_items(Some(items)).send().await.map(|_| ()).map_err(sdk_error)
    }

    /// list_community_invitations' requests: GetItem of the membership alongside a Query of the first page.
    pub async fn list(&self) -> Result<(), String> {
        let (plain, table, owner_member) = (self.client, self.table, &self.owner_member);
        let member = plain
            .get_item()
            .table_name(table)
            .key("PK", s(owner_member.0.clone()))
            .key("SK", s(owner_member.1))
            .consistent_read(true)
            .send();
        let page = plain
            .query()
            .table_name(table)
            .index_name("GSI1")
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "GSI1PK")
            .expression_attribute_values(":pk", s(format!("COMMUNITY#{}#INVITATIONS", self.community)))
            .scan_index_forward(false)
            .limit(21)
            .send();
        let (member, page) = tokio::join!(member, page);
        member.map_err(sdk_error)?;
        page.map(|_| ()).map_err(sdk_error)
    }
}

//! Counts the DynamoDB requests a client makes and sums the capacity DynamoDB says they consumed: an SDK
//! interceptor that sets `ReturnConsumedCapacity=INDEXES` on every request and reads `ConsumedCapacity` back, the
//! table's and each index's share included.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    transact_get_items::{TransactGetItemsInput, TransactGetItemsOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};

/// What a series of requests cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// HTTP requests sent (retries included).
    pub requests: u32,
    /// The operations that answered, in order (`GetItem`, `TransactWriteItems`, ...), with the units each consumed
    /// and where (the table, each index) when it touched an index.
    pub operations: Vec<(&'static str, Option<f64>, String)>,
    /// Capacity units DynamoDB reported, summed; `None` if it reported none.
    pub capacity: Option<f64>,
}

impl Tally {
    /// `TransactGetItems (4) + Query (0.5)` style summary of the operations and their units.
    pub fn operations_text(&self) -> String {
        if self.operations.is_empty() {
            return "—".to_owned();
        }
        let text = |(name, units, parts): &(&str, Option<f64>, String)| match units {
            Some(units) if parts.is_empty() => format!("{name} ({units})"),
            Some(units) => format!("{name} ({units}: {parts})"),
            None => (*name).to_owned(),
        };
        self.operations.iter().map(text).collect::<Vec<_>>().join(" + ")
    }

    /// Records one operation and the capacity it reported.
    fn add(&mut self, name: &'static str, capacity: &[ConsumedCapacity]) {
        let units = capacity.iter().filter_map(|c| c.capacity_units).reduce(|a, b| a + b);
        if let Some(units) = units {
            *self.capacity.get_or_insert(0.0) += units;
        }
        // Where the units went, when an index had a share: `table 6, GSI1 2`.
        let mut parts = Vec::new();
        for c in capacity {
            let mut indexes: Vec<_> = c.global_secondary_indexes().map(|m| m.iter().collect()).unwrap_or_default();
            indexes.sort_by(|a, b| a.0.cmp(b.0));
            let indexes: Vec<_> = indexes.into_iter().filter_map(|(n, i)| Some((n, i.capacity_units?))).collect();
            if indexes.iter().any(|(_, u)| *u > 0.0) {
                parts.push(format!("table {}", c.table().and_then(|t| t.capacity_units).unwrap_or(0.0)));
                parts.extend(indexes.into_iter().filter(|(_, u)| *u > 0.0).map(|(n, u)| format!("{n} {u}")));
            }
        }
        self.operations.push((name, units, parts.join(", ")));
    }
}

#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<Mutex<Tally>>);

impl Counter {
    /// The tally so far, and a fresh start.
    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

macro_rules! each_input {
    ($input:expr, $i:ident => $body:expr, $($t:ty),+) => {
        $( if let Some($i) = $input.downcast_mut::<$t>() { $body; } )+
    };
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "rsvp-bench request counter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        each_input!(input, i => i.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes),
            GetItemInput, PutItemInput, DeleteItemInput, UpdateItemInput, QueryInput, BatchGetItemInput,
            TransactGetItemsInput, TransactWriteItemsInput);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).requests += 1;
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            // A service error (e.g. a failed condition) still was a request; DynamoDB reports no capacity with it.
            return Ok(());
        };
        let mut tally = self.0.lock().unwrap_or_else(|e| e.into_inner());
        macro_rules! one {
            ($($t:ty => $name:literal),+) => {
                $( if let Some(o) = output.downcast_ref::<$t>() {
                    tally.add($name, o.consumed_capacity.as_slice());
                    return Ok(());
                } )+
            };
        }
        macro_rules! many {
            ($($t:ty => $name:literal),+) => {
                $( if let Some(o) = output.downcast_ref::<$t>() {
                    tally.add($name, o.consumed_capacity.as_deref().unwrap_or_default());
                    return Ok(());
                } )+
            };
        }
        one!(GetItemOutput => "GetItem", PutItemOutput => "PutItem", DeleteItemOutput => "DeleteItem",
            UpdateItemOutput => "UpdateItem", QueryOutput => "Query");
        many!(BatchGetItemOutput => "BatchGetItem", TransactGetItemsOutput => "TransactGetItems",
            TransactWriteItemsOutput => "TransactWriteItems");
        tally.operations.push(("other", None, String::new()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_summed_and_absent_when_unreported() {
        let mut t = Tally::default();
        t.add("Query", &[]);
        assert_eq!(t.capacity, None);
        t.add("TransactGetItems", &[ConsumedCapacity::builder().capacity_units(2.0).build()]);
        t.add(
            "GetItem",
            &[ConsumedCapacity::builder().capacity_units(0.5).build(), ConsumedCapacity::builder().build()],
        );
        assert_eq!(t.capacity, Some(2.5));
        assert_eq!(t.operations_text(), "Query + TransactGetItems (2) + GetItem (0.5)");
    }
}

//! Amazon SES v1 `SendEmail`: the sender (a verified identity) and the configuration set come from the
//! environment (`RSVP_MAIL_FROM`, `RSVP_SES_CONFIGURATION_SET`); each message carries the tags that let SES's later
//! records find its delivery ([`super::fate`]).

use async_trait::async_trait;
use aws_sdk_ses::error::DisplayErrorContext;
use aws_sdk_ses::types::{Body, Content, Destination, Message as SesMessage, MessageTag};

use super::{MailError, Mailer, Message};

pub struct SesMailer {
    client: aws_sdk_ses::Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: aws_sdk_ses::Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        Self { client, from: from.into(), configuration_set }
    }
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| MailError(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, message: &Message) -> Result<String, MailError> {
        let body = Body::builder().text(content(&message.text)?).html(content(&message.html)?).build();
        // The tags come back in SES's Delivery, Bounce and Complaint records (`super::fate`).
        let tags = message
            .tags
            .iter()
            .map(|(name, value)| MessageTag::builder().name(*name).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| MailError(e.to_string()))?;
        let out = self
            .client
            .send_email()
            .source(super::mailbox(message.from_name.as_deref(), &self.from))
            .destination(Destination::builder().set_to_addresses(Some(message.to.clone())).build())
            .message(SesMessage::builder().subject(content(&message.subject)?).body(body).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| MailError(format!("SES SendEmail failed: {}", DisplayErrorContext(e))))?;
        Ok(out.message_id)
    }
}

//! # rsvp
//!
//! The core of rsvp, an invitations service for multi-tenant products that runs as one AWS Lambda function per
//! operation. Every function crate is a few lines that call [`lambda::run`] with its [`routes::Route`]; everything
//! else lives here.
//!
//! | module | what it holds |
//! |---|---|
//! | [`domain`] | pure types and rules, no I/O. Per dialect: `community` and `community_invitation` (the handshake, [`domain::CommunityInvitation`]), `user_invitation` and `settings` ([`domain::UserInvitation`], the tenant's [`domain::UserSettings`]), [`domain::collaboration`] (`ids`, `invitation`, `files`). Shared: `lifetime` (expiry and history), [`domain::InvitationOptions`] (what a product chooses per invitation), [`domain::outbox`], [`domain::event`], [`domain::fate`], ids, secrets, idempotency records, the clock |
//! | [`ops`] | one module per operation (parse, authorise, decide, persist, answer), in a folder per dialect: [`ops::communities`], [`ops::users`], [`ops::portal`], and [`ops::page`] for the landing page both emailed dialects link to; `ops` itself holds only what they share (the caller, links, the tenant's settings, the mail budget, [`ops::idempotency`]) |
//! | [`fault`] | telling a deployment's own fault (a missing table or key, a refused permission, no credentials) from an outage: a 500 "misconfigured", never a 503 that invites retries |
//! | [`http`] | the API Gateway edge: caller identity from JWT claims, parsing with limits, the one error type and its wire form |
//! | [`store`] | one port per aggregate ([`store::CommunityStore`], [`store::UserInvitationStore`], [`store::OutboxStore`], [`store::IdempotencyStore`], [`store::PortalStore`]; [`store::Store`] is all five) with three adapters, each split into a module per aggregate: DynamoDB ([`store::dynamodb`]), SQLite for the local server, and in memory for tests ([`store::memory`]) |
//! | [`routes`] | the route table, read by the local server, the tests and the template check |
//! | `authorizer` | the portal routes' Lambda authorizer (feature `authorizer`): bearer tokens from every place Esri's clients put them, verified against the issuer's keys |
//! | [`app`] | the shared state and configuration built once per cold start |
//! | [`i18n`] | the words of emails and landing pages in each language (Fluent files in `shared/locales/`), and how an invitation's language is chosen |
//! | [`lambda`] | the Lambda entry points (HTTP operations, the stream consumers that send email and publish events, and the email sweep) |
//! | [`mail`] | invitation emails: templates, SES and `.eml` mailers, the outbox consumer and its sweep |
//! | [`metrics`] | CloudWatch metrics (Embedded Metric Format) counted from the published events, per dialect |
//! | [`publish`] | the events every change raises ([`domain::event`], `docs/events/`): the stream consumer that publishes each once, in order, and its EventBridge sink (feature `eventbridge`) |
//! | [`seal`] | sealing link secrets for the outbox (KMS in AWS, AES-GCM locally) |
//! | [`portal_keys`] | the port that fetches another portal's published key (over HTTPS with the feature `portal-keys`), which pins the files' signers |
//! | [`sign`] | signing portal-to-portal collaboration invitation files (ECDSA P-256: KMS in AWS, a key file locally) |
//!
//! ## Words
//!
//! - **Dialect**: one of the three invitation APIs over the one core: communities (`/api/v1-preview`, AVEVA Data
//!   Hub's), platform users (`/api/users`, `/api/businesses`) and portals (`/sharing/rest/portals`, Esri ArcGIS
//!   Enterprise's collaborations). Each has its own error form ([`http::ApiError::into_response`],
//!   [`http::ApiError::into_arcgis`]).
//! - **Reference API**: the published API a dialect reproduces field for field, so its
//!   vendor's client works unchanged; rsvp's additions never change a reference shape.
//! - **Route kind** ([`routes::Kind`]): how a route is guarded and errs (`Api`, `Public`, `Page`, `Portal`,
//!   `PortalPublic`).
//! - **Secret, code**: what a community and a platform invitation's link carry; shown once, stored as a hash
//!   ([`domain::Secret`]), sealed while an email waits to carry it ([`seal`]).
//! - **Delivery**: an email recorded on its invitation in the write that owes it ([`domain::outbox`]).
//! - **Bundle**: the one binary every deployed function runs, told which by its Handler
//!   ([`lambda::run_function`]).
//!
//! ## Rules that hold everywhere
//!
//! - The caller is who API Gateway's JWT authorizer says (`requestContext.authorizer.jwt.claims`), or on the
//!   portal routes their own Lambda authorizer (`requestContext.authorizer.lambda`, the `authorizer` module),
//!   nothing else. The only routes without either are the invitation landing page's ([`routes::Kind::Page`]) and
//!   the two a person invited to the platform uses before they have an account ([`routes::Kind::Public`]), where
//!   the invitation's secret in the request is the credential.
//! - Another tenant's community, invitation or settings answer exactly as missing ones do (404).
//! - Invitation secrets are 32 random bytes, shown once, stored only as a SHA-256 hash, compared in constant time.
//!   The email that carries one gets it sealed ([`seal`]), never in clear, and the seal is dropped once sent.
//! - An email is recorded on the invitation in the same write as the change that owes it, and sent from the
//!   table's stream: no change without its email, no email without its change ([`mail::deliver`]); what the stream
//!   leaves owed (a sender that died, a record out of retries), a scheduled sweep sends ([`mail::sweep`]).
//! - Expiry is decided from the stored timestamp on every read and every conditional write, never from whether
//!   DynamoDB's TTL has removed the item yet.
//! - Every state change is a conditional write on the version that was read: of two racing changes one wins and
//!   the other gets a 409. Counted limits (a tenant's invitations per day) are one atomic conditional add, so
//!   racing requests can never pass them.
//! - A request either completes or changes nothing: an invite_users request with one bad address creates no
//!   invitation, and its invitations and their locks are written in one transaction.

pub mod app;
#[cfg(feature = "authorizer")]
pub mod authorizer;
pub mod domain;
pub mod fault;
pub mod http;
pub mod i18n;
pub mod lambda;
pub mod mail;
pub mod metrics;
pub mod ops;
pub mod portal_keys;
pub mod publish;
pub mod routes;
pub mod seal;
pub mod sign;
pub mod store;

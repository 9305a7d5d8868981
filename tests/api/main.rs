//! The HTTP API through a running local server (`rsvp-local`'s server in front of the operations, as API Gateway is
//! in AWS), one module per suite, all on the harness of `rsvp_tests::harness`.
//!
//! | module | what it tests |
//! |---|---|
//! | [`communities`] | the Communities API (ADH's dialect): the handshake, refusals, invitations, communities |
//! | [`platform_users`] | the platform users API: inviting people to a tenant, the tenant's settings, sign-up |
//! | [`portals`] | two portals (ArcGIS's dialect) collaborating over HTTPS, and every attack on their files |
//! | [`landing_page`] | the invitation landing page over HTTP, and in chromium |
//! | [`authorization`] | every route behind the authorizer, called by five callers |
//! | [`hardening`] | outages, the log, races of many requests, the mail budgets |
//!
//! Run through `scripts/test -p rsvp-tests --test api`, which starts DynamoDB Local, moto and chromium.

mod authorization;
mod communities;
mod hardening;
mod landing_page;
mod platform_users;
mod portals;

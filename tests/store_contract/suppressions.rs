//! `SuppressionStore`: the addresses a tenant's mail no longer goes to. A suppression is the tenant's own, found
//! whatever the address's case, replaced by a later one, and lifted once.

use rsvp::domain::InvitationId;
use rsvp::domain::fate::Suppression;
use rsvp::store::Store;
use rsvp_tests::{T0, email, tenant};

contract!(a_suppression_is_the_tenants_own_found_in_any_case_and_lifted_once,);

fn suppression(tenant_id: &str, address: &str, reason: &str) -> Suppression {
    Suppression {
        tenant: tenant(tenant_id),
        address: email(address),
        reason: reason.into(),
        diagnostic: Some("smtp; 550 5.1.1 user unknown".into()),
        at: T0,
        invitation: InvitationId::new(),
    }
}

async fn a_suppression_is_the_tenants_own_found_in_any_case_and_lifted_once(store: &dyn Store) {
    let (bob, ann) = (email("bob@x.example"), email("ann@x.example"));
    let owner = tenant("owner");
    assert_eq!(store.suppressions(&owner, &[&bob, &ann]).await.unwrap(), []);
    let bounced = suppression("owner", "Bob@X.example", "bounced");
    store.suppress(&bounced).await.unwrap();
    assert_eq!(
        store.suppressions(&owner, &[&bob, &ann]).await.unwrap(),
        std::slice::from_ref(&bounced),
        "found in any case"
    );
    assert_eq!(store.suppressions(&tenant("other"), &[&bob]).await.unwrap(), [], "another tenant's mail still goes");
    let complained = suppression("owner", "bob@x.example", "complained");
    store.suppress(&complained).await.unwrap();
    assert_eq!(store.suppressions(&owner, &[&bob]).await.unwrap(), [complained], "a later one replaces it");

    assert!(!store.lift_suppression(&tenant("other"), &bob).await.unwrap(), "not another tenant's to lift");
    assert!(store.lift_suppression(&owner, &email("BOB@x.example")).await.unwrap());
    assert!(!store.lift_suppression(&owner, &bob).await.unwrap(), "lifted once");
    assert_eq!(store.suppressions(&owner, &[&bob]).await.unwrap(), []);
}

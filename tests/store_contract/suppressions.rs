//! `SuppressionStore`: the addresses a tenant's mail no longer goes to. A suppression is the tenant's own, found
//! whatever the address's case, replaced by a later one, and lifted once; read with the tenant's settings, it is
//! what each read alone answers.

use rsvp::domain::InvitationId;
use rsvp::domain::fate::Suppression;
use rsvp::store::Store;
use rsvp_tests::{T0, email, tenant};

contract!(
    a_suppression_is_the_tenants_own_found_in_any_case_and_lifted_once,
    the_settings_and_suppressions_are_read_together_as_each_alone,
);

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

async fn the_settings_and_suppressions_are_read_together_as_each_alone(store: &dyn Store) {
    let (bob, ann) = (email("bob@x.example"), email("ann@x.example"));
    let owner = tenant("owner");
    assert_eq!(store.settings_and_suppressions(&owner, &[&bob]).await.unwrap(), (None, vec![]), "nothing saved");
    let bounced = suppression("owner", "bob@x.example", "bounced");
    store.suppress(&bounced).await.unwrap();
    store.suppress(&suppression("other", "ann@x.example", "complained")).await.unwrap();
    let (settings, suppressed) = store.settings_and_suppressions(&owner, &[&bob, &ann]).await.unwrap();
    assert_eq!((settings, suppressed), (None, vec![bounced.clone()]), "the tenant's own only");

    let saved = rsvp::domain::UserSettings { invite_unregistered_users: true, ..Default::default() };
    store.put_user_settings(&owner, &saved, None).await.unwrap();
    let together = store.settings_and_suppressions(&owner, &[&bob, &ann]).await.unwrap();
    let alone =
        (store.get_user_settings(&owner).await.unwrap(), store.suppressions(&owner, &[&bob, &ann]).await.unwrap());
    assert_eq!(together, alone);
    assert_eq!(together, (Some((saved, 1)), vec![bounced]));
    assert_eq!(store.settings_and_suppressions(&owner, &[]).await.unwrap().1, [], "no address, no suppression");
}

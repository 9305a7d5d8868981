//! `CommunityStore`: its four lists (a community's members and invitations, a tenant's communities and accepted
//! invitations) page through every item exactly once, and refuse cursors that are no position in them.

use rsvp::domain::{CommunityId, InvitationId, TenantId};
use rsvp::store::{Cursor, Page, PageRequest, Store, StoreError, StoreResult};
use rsvp_tests::{T0, admin, first_page, page_after};

use crate::{accept, admin_email, confirm, invite, join, joining, new_community};

contract!(paging_walks_every_item_exactly_once, malformed_cursors_are_refused);

/// One of the store's four lists, its items reduced to what identifies them.
#[derive(Clone, Copy)]
enum Listing<'a> {
    Members(CommunityId),
    TenantCommunities(&'a TenantId),
    CommunityInvitations(CommunityId),
    Accepted(&'a TenantId),
}

async fn list(store: &dyn Store, listing: Listing<'_>, req: &PageRequest) -> StoreResult<Page<String>> {
    fn keep<T>(page: Page<T>, key: impl Fn(&T) -> String) -> Page<String> {
        Page { items: page.items.iter().map(key).collect(), next: page.next }
    }
    Ok(match listing {
        Listing::Members(c) => keep(store.list_members(c, req).await?, |m| m.tenant.to_string()),
        Listing::TenantCommunities(t) => {
            keep(store.list_tenant_communities(t, req).await?, |m| m.community_id.to_string())
        }
        Listing::CommunityInvitations(c) => keep(store.list_community_invitations(c, req).await?, |i| i.id.to_string()),
        Listing::Accepted(t) => keep(store.list_accepted_invitations(t, req).await?, |i| i.id.to_string()),
    })
}

/// Asserts that every way of paging through `listing` shows `expected` (in that order) exactly once.
async fn assert_pages(store: &dyn Store, listing: Listing<'_>, expected: &[String]) {
    let n = expected.len();
    assert_eq!(n, 7, "the paging walk is written for seven items");
    for count in 1..=n as u32 + 1 {
        let mut seen: Vec<String> = Vec::new();
        let mut req = first_page(count);
        loop {
            let page = list(store, listing, &req).await.expect("list");
            assert!(page.items.len() <= count as usize);
            seen.extend(page.items.iter().cloned());
            assert!(seen.len() <= n, "count {count}: more items than there are: {seen:?}");
            match page.next {
                Some(cursor) => {
                    assert_eq!(page.items.len(), count as usize, "count {count}: a page before the last is full");
                    req = page_after(&cursor, count);
                }
                None => break,
            }
        }
        assert_eq!(seen, expected, "count {count}: every item once, in order");
    }

    let page = |skip: u32, count: u32, after: Option<&Cursor>| PageRequest { skip, count, after: after.cloned() };
    let read = async |req: PageRequest| list(store, listing, &req).await.expect("list");
    let p = read(page(2, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[2..5], true));
    let p = read(page(4, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[4..7], false), "the last item ends the list");
    let p = read(page(5, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[5..], false));
    let p = read(page(7, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&[][..], false));
    let p = read(page(1_000, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&[][..], false));
    // `skip` counts from the cursor.
    let cursor = read(page(0, 3, None)).await.next.expect("more after the first three");
    let p = read(page(1, 2, Some(&cursor))).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[4..6], true));
    let p = read(page(2, 5, Some(&cursor))).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[5..], false));
}

async fn paging_walks_every_item_exactly_once(store: &dyn Store) {
    let guest = admin("guest");
    // Seven communities invite the guest; issue and acceptance times tie in places, so ids break the ties.
    let minutes = [0, 1, 1, 2, 3, 3, 3];
    let mut accepted = Vec::new();
    for (i, m) in minutes.into_iter().enumerate() {
        let owner = admin(&format!("owner-{i}"));
        let (c, _) = new_community(store, &owner, &format!("Community {i}"), T0).await;
        let inv = invite(store, &c, &owner, &admin_email("guest"), T0.plus_minutes(m)).await;
        let t = accept(&c, &inv, &guest, T0.plus_minutes(10 + m));
        store.apply(&t).await.unwrap();
        accepted.push((c, owner, t));
    }
    // Newest first, ties by id, descending: what the zero-padded "time#id" sort value gives.
    let mut newest_first: Vec<(i64, String)> =
        accepted.iter().map(|(_, _, t)| (t.invitation.issued.millis(), t.invitation.id.to_string())).collect();
    newest_first.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = newest_first.into_iter().map(|(_, id)| id).collect();
    assert_pages(store, Listing::Accepted(&guest.tenant), &expected).await;

    for (c, owner, t) in &accepted {
        store.apply(&confirm(c, &t.invitation, owner, T0.plus_minutes(30))).await.unwrap();
    }
    let mut newest_first: Vec<(i64, String)> =
        accepted.iter().map(|(c, _, t)| (joining(t).joined.millis(), c.id.to_string())).collect();
    newest_first.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = newest_first.into_iter().map(|(_, id)| id).collect();
    assert_pages(store, Listing::TenantCommunities(&guest.tenant), &expected).await;

    // Seven members of one community (the owner and six guests), and seven of its invitations.
    let (c, owner, _) = &accepted[0];
    let mut tenants = vec![owner.tenant.to_string(), guest.tenant.to_string()];
    let mut invitations = vec![(accepted[0].2.invitation.issued.millis(), accepted[0].2.invitation.id.to_string())];
    for (i, name) in ["m-4", "m-1", "m-5", "m-3", "m-2"].into_iter().enumerate() {
        let inv = join(store, c, owner, &admin(name), T0.plus_minutes(minutes[i]), i % 2 == 0).await;
        tenants.push(name.to_owned());
        invitations.push((inv.issued.millis(), inv.id.to_string()));
    }
    tenants.sort();
    assert_pages(store, Listing::Members(c.id), &tenants).await;
    let pending = invite(store, c, owner, "pending@x.example.com", T0.plus_minutes(3)).await;
    invitations.push((pending.issued.millis(), pending.id.to_string()));
    invitations.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = invitations.into_iter().map(|(_, id)| id).collect();
    assert_pages(store, Listing::CommunityInvitations(c.id), &expected).await;
}

async fn malformed_cursors_are_refused(store: &dyn Store) {
    let guest = admin("guest");
    let owner = admin("owner");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let (other, _) = new_community(store, &owner, "Other", T0).await;
    // One item in each list: an Active membership, an invitation of `c`, an accepted invitation (to `other`).
    join(store, &c, &owner, &guest, T0, true).await;
    join(store, &other, &owner, &guest, T0, false).await;
    let uuid = InvitationId::new().to_string();
    let with = |sort: String| PageRequest { skip: 0, count: 5, after: Some(Cursor { sort }) };

    let time_ordered = [
        Listing::TenantCommunities(&guest.tenant),
        Listing::CommunityInvitations(c.id),
        Listing::Accepted(&guest.tenant),
    ];
    let bad_time_cursors = [
        String::new(),
        "garbage".to_owned(),
        "#".to_owned(),
        format!("{}#{uuid}", T0.millis()),         // not zero-padded to 15 digits
        format!("0{:015}#{uuid}", T0.millis()),    // 16 digits
        format!("{:015}", T0.millis()),            // no id
        format!("{:015}#", T0.millis()),           // empty id
        format!("{:015}#not-a-guid", T0.millis()), // id is not a GUID
        format!("00000000000000x#{uuid}"),         // not digits
        format!("-{:014}#{uuid}", T0.millis()),    // negative
        "guest".to_owned(),                        // a members cursor
    ];
    for listing in time_ordered {
        for sort in &bad_time_cursors {
            let result = list(store, listing, &with(sort.clone())).await;
            assert!(matches!(result, Err(StoreError::InvalidCursor)), "cursor {sort:?}: {result:?}");
        }
        // A well-formed position is accepted even if no item is there: it is only a place in the order.
        let page = list(store, listing, &with(format!("{:015}#{uuid}", 0))).await.expect("a well-formed cursor");
        assert_eq!(page, Page { items: vec![], next: None }, "nothing sorts before time zero");
        let page = list(store, listing, &with(format!("{:015}#{uuid}", 999_999_999_999_999_i64))).await;
        assert_eq!(page.expect("a well-formed cursor").items.len(), 1, "everything sorts before the far future");
    }

    let members = Listing::Members(c.id);
    let bad_tenant_cursors = [
        String::new(),
        "a#b".to_owned(),
        "has space".to_owned(),
        "x".repeat(65),
        format!("{:015}#{uuid}", T0.millis()),
    ];
    for sort in bad_tenant_cursors {
        assert_fails!(list(store, members, &with(sort)).await, StoreError::InvalidCursor);
    }
    // Any valid tenant id is a position: "h" sorts between "guest" and "owner".
    assert_eq!(
        list(store, members, &with("h".into())).await.expect("a valid tenant"),
        Page { items: vec!["owner".into()], next: None }
    );
    assert_eq!(
        list(store, members, &with("zzz".into())).await.expect("a valid tenant"),
        Page { items: vec![], next: None }
    );
}

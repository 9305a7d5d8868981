//! The portals' keys: fetched over HTTPS only (bounded in size and time), pinned once seen, and for a portal that
//! cannot be reached, taken only with its fingerprint.

use reqwest::StatusCode;
use rsvp::domain::collaboration::PortalUrl;
use rsvp::portal_keys::HttpPortalKeys;
use rsvp_tests::harness::portal::Tls;
use serde_json::{Value, json};

use super::{Pair, dynamodb, memory, signed_part};

rsvp_tests::against_both_stores!(a_pinned_key_never_changes, an_unreachable_portal_needs_its_fingerprint,);

/// A TLS server on loopback (with the tests' certificate) that answers every request with `answer` (after reading
/// the request head), or never answers when it is `None`: its `https://127.0.0.1:<port>` URL.
async fn answering(tls: &Tls, answer: Option<Vec<u8>>) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let acceptor = rsvp_local::tls::load_or_create(&tls.dir, "127.0.0.1").expect("the certificate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, answer) = (acceptor.clone(), answer.clone());
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(socket).await else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                match answer {
                    Some(answer) => {
                        let _ = stream.write_all(&answer).await;
                        let _ = stream.shutdown().await;
                    }
                    None => tokio::time::sleep(std::time::Duration::from_secs(30)).await,
                }
            });
        }
    });
    url
}

/// Once a portal's key is pinned, a file from that portal URL with another key is refused, even when the portal
/// now publishes that key: a second response from a guest whose key changed, a new invitation (or a refreshed
/// file) from a host whose key changed.
async fn a_pinned_key_never_changes(Pair { host, guest, .. }: Pair) {
    let (first, maps, layers) = host.collaboration().await;
    let file = host.invite(&first, &guest.portal_url, &maps, &layers).await.text;
    guest.accept(&file).await.assert_success();
    host.import(&first, &guest.export(&first).await.text).await.assert_success();

    // The guest's key changes: its next response is refused by the host that pinned the old one.
    guest.signer.rotate();
    let (second, maps2, layers2) = host.collaboration().await;
    let file2 = host.invite(&second, &guest.portal_url, &maps2, &layers2).await.text;
    guest.accept(&file2).await.assert_success();
    let response2 = guest.export(&second).await.text;
    let new_key = [("guestKeyFingerprint", guest.fingerprint().await)];
    let new_key: Vec<(&str, &str)> = new_key.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for extra in [&[][..], &new_key] {
        host.refuses_response(&second, &response2, extra, StatusCode::CONFLICT, "was pinned").await;
    }

    // The host's key changes: its new invitation is refused by the guest that pinned the old one, and so is a
    // refreshed file of one the guest joined.
    host.signer.rotate();
    let (third, maps3, layers3) = host.collaboration().await;
    let file3 = host.invite(&third, &guest.portal_url, &maps3, &layers3).await.text;
    guest.refuses(&file3, &[], StatusCode::CONFLICT, "was pinned").await;
    let host_new = host.fingerprint().await;
    guest.refuses(&file3, &[("hostKeyFingerprint", &host_new)], StatusCode::CONFLICT, "was pinned").await;
    let listed = host.get(&format!("/collaborations/{second}/invitations")).await;
    let id = listed.body["collaborationInvitations"][0]["id"].as_str().expect("an invitation").to_owned();
    let refreshed = host.post(&format!("/collaborations/{second}/invitations/{id}/refresh"), &[]).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let carried = signed_part::<Value>(&refreshed.text, "invitationRequest")["publicKey"].clone();
    let published = host.described().await.body["publicKey"].clone();
    assert_eq!(carried, published, "a refreshed file carries the key that signed it");
    guest.validate(&refreshed.text, &[]).await.assert_portal_error(StatusCode::CONFLICT, "already takes part");
    guest.accept(&refreshed.text).await.assert_portal_error(StatusCode::CONFLICT, "already takes part");
}

/// A portal that cannot be reached: its files are refused with a 400 unless the administrator passes the key's
/// fingerprint; a wrong one is refused; the key is then pinned as if published. On the guest (an unreachable
/// host) and on the host (an unreachable guest).
async fn an_unreachable_portal_needs_its_fingerprint(Pair { host, guest, more }: Pair) {
    // A host whose URL nothing answers (the test reaches it at another address).
    let ghost_url = format!("https://127.0.0.1:{}", rsvp_tests::closed_port());
    let ghost = more.start_at(Some(&ghost_url)).await;
    let (collaboration, maps, layers) = ghost.collaboration().await;
    let file = ghost.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;
    guest.refuses(&file, &[], StatusCode::BAD_REQUEST, "could not be reached").await;
    let other = host.fingerprint().await;
    guest.refuses(&file, &[("hostKeyFingerprint", &other)], StatusCode::BAD_REQUEST, "is not the fingerprint").await;
    let right = ghost.fingerprint().await;
    let with_right = [("hostKeyFingerprint", right.as_str())];
    let valid = guest.validate(&file, &with_right).await;
    valid.assert_success();
    assert_eq!(valid.body["hostKeyFingerprint"], json!(right));
    guest.accept_with(&file, &with_right).await.assert_success();
    let on_guest = guest.participants(&collaboration).await;
    assert_eq!(
        (&on_guest[0]["portalInfo"]["url"], &on_guest[0]["collaborationRole"]),
        (&json!(ghost_url), &json!("Host"))
    );
    // Pinned: the same URL with another key is refused, fingerprint or not.
    ghost.signer.rotate();
    let (next, maps2, layers2) = ghost.collaboration().await;
    let file2 = ghost.invite(&next, &guest.portal_url, &maps2, &layers2).await.text;
    let rotated = ghost.fingerprint().await;
    guest.refuses(&file2, &[("hostKeyFingerprint", &rotated)], StatusCode::CONFLICT, "was pinned").await;

    // A guest whose URL nothing answers: the host needs its fingerprint to import its response.
    let far_url = format!("https://127.0.0.1:{}", rsvp_tests::closed_port());
    let far = more.start_at(Some(&far_url)).await;
    let (hosted, maps3, layers3) = host.collaboration().await;
    let invitation = host.invite(&hosted, &far_url, &maps3, &layers3).await.text;
    far.accept(&invitation).await.assert_success();
    let response = far.export(&hosted).await.text;
    host.refuses_response(&hosted, &response, &[], StatusCode::BAD_REQUEST, "could not be reached").await;
    let other = guest.fingerprint().await;
    let wrong = [("guestKeyFingerprint", other.as_str())];
    host.refuses_response(&hosted, &response, &wrong, StatusCode::BAD_REQUEST, "is not the fingerprint").await;
    let right = far.fingerprint().await;
    let with_right = [("guestKeyFingerprint", right.as_str())];
    let valid = host.validate_response(&hosted, &response, &with_right).await;
    valid.assert_success();
    assert_eq!(valid.body["guestKeyFingerprint"], json!(right));
    host.import_with(&hosted, &response, &with_right).await.assert_success();
    let guests = host.guests(&hosted).await;
    assert_eq!((guests.len(), &guests[0]["portalInfo"]["url"]), (1, &json!(far_url)));
}

/// The fetch of another portal's key (the real `HttpPortalKeys`, as the portal functions and rsvp-local use it)
/// reads a description over HTTPS, and refuses a redirect to `http://`, a plain-HTTP portal, an answer over
/// 64 KiB, and a portal that does not answer within 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_fetch_is_https_only_bounded_in_size_and_time() {
    use rsvp::portal_keys::PortalKeys as _;
    let tls = Tls::new();
    let keys = HttpPortalKeys::with_extra_roots(&tls.pem).expect("the fetcher");
    let url = |u: &str| PortalUrl::parse("url", u, true).expect("a URL");
    let reply = |status: &str, headers: &str, body: &str| {
        format!("HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
            .into_bytes()
    };

    let good =
        answering(&tls, Some(reply("200 OK", "content-type: application/json\r\n", r#"{"publicKey":"AAAA"}"#))).await;
    assert_eq!(keys.published_key(&url(&good)).await, Ok("AAAA".to_owned()), "the test server answers");

    let plain = good.replacen("https://", "http://", 1);
    let refused = keys.published_key(&url(&plain)).await.expect_err("a plain-HTTP portal");
    assert!(refused.0.contains("could not be reached"), "{refused}");

    let to_http =
        answering(&tls, Some(reply("302 Found", &format!("location: {plain}/sharing/rest/portals/self\r\n"), "")))
            .await;
    let refused = keys.published_key(&url(&to_http)).await.expect_err("a redirect to http");
    assert!(refused.0.contains("answered 302"), "{refused}");

    let huge = format!(r#"{{"publicKey":"AAAA","padding":"{}"}}"#, "x".repeat(100 * 1024));
    let oversized = answering(&tls, Some(reply("200 OK", "", &huge))).await;
    let refused = keys.published_key(&url(&oversized)).await.expect_err("an answer over 64 KiB");
    assert!(refused.0.contains("larger than"), "{refused}");

    let silent = answering(&tls, None).await;
    let started = std::time::Instant::now();
    let refused = keys.published_key(&url(&silent)).await.expect_err("a portal that never answers");
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(7), "gave up after {waited:?}: {refused}");
    assert!(refused.0.contains("could not be reached"), "{refused}");
}

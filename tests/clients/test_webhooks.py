"""rsvp-local's events, as a product receives them: `events.jsonl` in the data folder and `--webhook` POSTs, the
signatures checked by the Standard Webhooks project's own library (`standardwebhooks` from PyPI), an
implementation independent of rsvp's.

The receiver refuses the first two POSTs it gets (a 500, then a 503), as a receiver mid-deploy would: every event
must still arrive once, in order, each signature valid.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

OWNER = ("tenant-owner", "admin@owner.example")
GUEST = ("tenant-guest", "bob@guest.example")
JANE = "jane@people.example"
ADMIN = "TenantAdministrator"

HANDSHAKE = ["community.invitation.created", "community.invitation.accepted", "community.invitation.confirmed"]
SIGN_UP = ["user.invitation.created", "user.invitation.verified", "user.invitation.accepted"]
# Each state change that owes an email (the invitation, the Accepted and Confirmed notices, Jane's code) is sent.
SENT = 4
WAIT_SECONDS = 30


class Receiver:
    """A webhook receiver on 127.0.0.1 that refuses its first `refuse` POSTs and checks every signature."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.attempts = 0
        self.events: list[dict] = []
        self.bad: list[str] = []
        self.secret: str | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                with receiver.lock:
                    receiver.attempts += 1
                    refused = receiver.attempts <= receiver.refuse
                    if not refused:
                        try:
                            event = Webhook(receiver.secret or "").verify(body, dict(self.headers))
                            receiver.events.append(event)
                        except (WebhookVerificationError, ValueError) as error:
                            receiver.bad.append(f"{error}: {body[:200]}")
                self.send_response((500, 503)[receiver.attempts - 1] if refused else 204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rsvp"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def request(server, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def until(what, seconds: float = WAIT_SECONDS, why=lambda: ""):
    """`what()` once it is truthy, polling; fails the test after `seconds`, saying `why()`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up waiting after {seconds} s. {why()}")


def handshake_and_sign_up(server) -> tuple[str, str]:
    """A community handshake and a platform sign-up over the API, as the products do them; their subjects' ids."""
    owner = server.token(*OWNER, ADMIN)
    guest = server.token(*GUEST, ADMIN)
    status, body = request(server, "POST", "/api/v1-preview/Communities", owner, {"Name": "Partners"})
    assert status == 201, body
    community = json.loads(body)["Id"]
    status, body = request(server, "POST", f"/api/v1-preview/Communities/{community}/Invitations", owner,
                           {"InvitationRecipient": GUEST[1]})
    assert status == 201, body
    invitation = json.loads(body)["Id"]
    # The guest accepts from the email, as a person would: an invitation answered before its email went out
    # withdraws the email, and there would be one email.sent fewer.
    until(lambda: server.lines(f"mail to {GUEST[1]}"))
    status, body = request(server, "PUT", f"/api/v1-preview/CommunityInvitations/{invitation}", guest,
                           {"Action": "Accept", "ContactEmail": "ops@guest.example"})
    assert status == 202, body
    status, body = request(server, "PUT", f"/api/v1-preview/CommunityInvitations/{invitation}", owner,
                           {"Action": "Confirm"})
    assert status == 202, body

    status, body = request(server, "PUT", f"/api/businesses/{OWNER[0]}/usersettings", owner,
                           {"InviteUnregisteredUsers": "com.soa.feature.enabled"})
    assert status == 200, body
    status, body = request(server, "POST", "/api/users/invitations", owner,
                           {"EmailAddresses": [JANE], "Message": "Welcome aboard"})
    assert (status, json.loads(body)) == (200, [JANE])
    line = until(lambda: server.lines(f"mail to {JANE}"))[0]
    code = re.search(r"token=([A-Za-z0-9_.~-]+)", line).group(1)
    # The person checks the code twice before signing up: the first check is an event, the second nothing.
    for _ in range(2):
        form = urllib.request.Request(server.url + "/api/users/verifyInvitation", method="POST",
                                      data=urllib.parse.urlencode({"validationCode": code}).encode())
        with urllib.request.urlopen(form, timeout=10) as answer:
            assert answer.status == 200
    status, body = request(server, "POST", f"/api/users/signupUser/{code}", None,
                           {"FirstName": "Jane", "LastName": "Mead"})
    assert status == 200, body
    user = json.loads(request(server, "GET", "/api/users/invitations", owner)[1])[0]["Id"]
    return invitation, user


def check(events: list[dict], invitation: str, user: str) -> None:
    """Exactly the scenarios' events, each once, state changes in order per subject, nothing secret."""
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), f"an event arrived twice: {ids}"
    of = lambda subject: [e["type"] for e in events if e["subject"]["id"] == subject and e["type"] != "email.sent"]
    assert of(invitation) == HANDSHAKE
    assert of(user) == SIGN_UP
    sent = [e for e in events if e["type"] == "email.sent"]
    assert len(sent) == SENT, sent
    assert sorted(e["data"]["kind"] for e in sent) == ["Accepted", "Confirmed", "Invitation", "Invitation"]
    assert len(events) == len(HANDSHAKE) + len(SIGN_UP) + SENT
    text = json.dumps(events)
    assert "token=" not in text and "/invite/" not in text and "Welcome aboard" not in text


def test_events_go_to_the_file_and_the_signed_webhook_once_each_in_order(rsvp_server):
    receiver = Receiver(refuse=2)
    try:
        server = rsvp_server("--webhook", receiver.url)
        secret_file = server.data_dir / "webhook-secret"
        receiver.secret = secret_file.read_text().strip()
        assert receiver.secret.startswith("whsec_") and receiver.secret not in "\n".join(server.output)
        assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
        invitation, user = handshake_and_sign_up(server)
        wanted = len(HANDSHAKE) + len(SIGN_UP) + SENT

        until(lambda: len(receiver.events) >= wanted,
              why=lambda: f"received {[e['type'] for e in receiver.events]}; the server said {server.lines('webhook')}")
        time.sleep(1)  # anything more would arrive now, and fail the counts below
        assert receiver.bad == [], receiver.bad
        assert receiver.attempts == wanted + 2, "two refused, then each event once"
        check(receiver.events, invitation, user)

        lines = until(lambda: (lambda l: l if len(l) >= wanted else None)(
            (server.data_dir / "events.jsonl").read_text().splitlines()))
        from_file = [json.loads(line) for line in lines]
        check(from_file, invitation, user)
        assert [e["id"] for e in from_file] == [e["id"] for e in receiver.events], "the same events, in one order"
    finally:
        receiver.stop()

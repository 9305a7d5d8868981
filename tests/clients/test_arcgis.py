"""Esri's ArcGIS API for Python (`arcgis`) against two rsvp-local portals over HTTPS.

Everything goes through the client's own objects and methods: `GIS(...)`, `gis.admin.collaborations` and the
`Collaboration` objects it hands out. Nothing here builds a request by hand. Both servers run `--tls` (the client
only speaks HTTPS) with one self-signed certificate, hence `verify_cert=False`; each portal is at its own
`https://127.0.0.1:<port>` and fetches the other's published key there (`rsvp_portals` in conftest.py).

The host portal creates a collaboration, adds a workspace and invites the guest portal; the guest validates and
accepts the invitation file and exports its response; the host validates and imports that response. Then both
sides read the participants, the host reads, refreshes and invalidates invitations, and removes the guest.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pytest
from arcgis.gis import GIS

# The servers' certificates are self-signed: the client is told not to verify them, and urllib3 says so each time.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

# rsvp links no portal groups; the client requires an id and rsvp accepts and ignores it.
GROUP = "5d4a3b2c1e0f49a8b7c6d5e4f3a2b1c0"


def connect(server, username: str, email: str) -> GIS:
    token = server.token("portal-admins", email, "PortalAdministrator", sub=username)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GIS(server.url, token=token, verify_cert=False)


def signed_part(path: str, field: str) -> dict:
    """The signed payload of an invitation or response file the client saved."""
    content = json.loads(Path(path).read_text())
    assert isinstance(content.get("signature"), str) and content["signature"], content
    return content[field]


def test_a_collaboration_between_two_portals_through_esris_client(rsvp_portals, tmp_path):
    host, guest = rsvp_portals
    assert host.url.startswith("https://127.0.0.1:") and guest.url.startswith("https://127.0.0.1:")
    HOST_URL, GUEST_URL = host.url, guest.url

    # GIS(): portals/self, the signed-in user and their privileges.
    host_gis = connect(host, "ada", "ada@host.example")
    assert host_gis.properties["url"] == HOST_URL
    assert host_gis.properties["portalName"] == "rsvp portal 127.0.0.1"
    host_id = host_gis.properties["id"]
    me = host_gis.users.me
    assert me.username == "ada"
    assert me.email == "ada@host.example"
    assert "portal:admin:manageCollaborations" in me.privileges
    host_cm = host_gis.admin.collaborations
    assert host_cm._basepath == f"portals/{host_id}"

    # create: the collaboration and its first workspace.
    collab = host_cm.create(
        name="Flood response",
        description="Shared maps for the flood season",
        workspace_name="Maps",
        workspace_description="Flood extents",
        portal_group_id=GROUP,
        host_contact_first_name="Ada",
        host_contact_last_name="Admin",
        host_contact_email_address="ada@host.example",
        access_mode="sendAndReceive",
    )
    assert collab is not None, "create answers with the collaboration"
    assert collab["name"] == "Flood response"
    assert collab["description"] == "Shared maps for the flood season"
    assert collab["collaborationHostPortalId"] == host_id
    collab_id = collab["id"]
    assert len(collab_id) == 32

    # add_workspace, with the REST reference's parameter names.
    added = collab.add_workspace("Layers", "Road closures", config={}, portal_group_id=GROUP)
    assert added["success"] is True
    assert added["workspace"]["name"] == "Layers"
    assert added["workspace"]["description"] == "Road closures"
    assert added["workspace"]["collaborationId"] == collab_id

    # workspaces: both, in the order they were added.
    workspaces = collab.workspaces
    assert [w["name"] for w in workspaces] == ["Maps", "Layers"]
    assert [w["description"] for w in workspaces] == ["Flood extents", "Road closures"]
    maps, layers = workspaces[0]["id"], workspaces[1]["id"]
    assert layers == added["workspace"]["id"]
    assert all(w["participantsWithoutGroupLinks"] == [] for w in workspaces), "no participant yet"

    # invite_participant: the signed invitation file, saved by the client.
    invite_file = collab.invite_participant(
        [{maps: "send"}, {layers: "sendAndReceive"}],
        expiration=24,
        guest_portal_url=GUEST_URL,
        save_path=str(tmp_path),
    )
    assert Path(invite_file).name == "collaboration-127.0.0.1.invite"
    request = signed_part(invite_file, "invitationRequest")
    assert request["collaborationId"] == collab_id
    assert request["guestPortalUrl"] == GUEST_URL
    assert request["hostPortalId"] == host_id
    modes = {w["collaborationWorkspaceId"]: w["accessMode"] for w in request["collaborationWorkspaceConfigs"]["accessMode"]}
    assert modes == {maps: "send", layers: "sendAndReceive"}

    # The guest portal: validate_invitation, then accept_invitation.
    guest_gis = connect(guest, "gil", "gil@guest.example")
    guest_id = guest_gis.properties["id"]
    assert guest_id != host_id
    guest_cm = guest_gis.admin.collaborations
    contact = {"first_name": "Gil", "last_name": "Guest", "email": "gil@guest.example"}
    # The guest fetched the host's portals/self: the file's key is the one the host publishes.
    host_fingerprint = host_gis.properties["publicKeyFingerprint"]
    validated = guest_cm.validate_invitation(invitation_file=invite_file, **contact)
    assert validated == {"success": True, "hostKeyFingerprint": host_fingerprint}
    assert guest_cm.list() == [], "validating keeps nothing"
    accepted = guest_cm.accept_invitation(invitation_file=invite_file, **contact)
    assert accepted == {"success": True, "collaborationId": collab_id}

    # list (on the guest): the joined collaboration, as a Collaboration object.
    joined = guest_cm.list()
    assert [c["id"] for c in joined] == [collab_id]
    guest_collab = joined[0]
    assert guest_collab["name"] == "Flood response"
    assert guest_collab["participantType"] == "guest"

    # export_invitation: the guest's signed response, echoing the invitation.
    response_file = guest_collab.export_invitation(str(tmp_path))
    assert Path(response_file).name == "collaboration-127.0.0.1.response"
    response = signed_part(response_file, "invitationResponse")
    assert response["invitationId"] == request["id"]
    assert response["guestPortalId"] == guest_id
    assert response["contactEmailAddress"] == "gil@guest.example"

    # The host: validate_invitation_response, then import_invitation_response.
    guest_fingerprint = guest_gis.properties["publicKeyFingerprint"]
    validated = collab.validate_invitation_response(response_file)
    assert validated == {"success": True, "guestKeyFingerprint": guest_fingerprint}
    assert collab.import_invitation_response(response_file) == {"success": True}

    # participants (on the host): the host itself, then the guest, in the REST reference's shape.
    listed = collab.participants()
    assert listed["total"] == 2 and listed["nextStart"] == -1
    on_host = listed["participants"]
    assert [(p["portalInfo"]["id"], p["collaborationRole"]) for p in on_host] == [(host_id, "Host"), (guest_id, "Guest")]
    assert on_host[0]["portalInfo"]["url"] == HOST_URL
    assert on_host[0]["config"]["contactEmailAddress"] == "ada@host.example"
    assert on_host[1]["portalInfo"]["url"] == GUEST_URL
    assert on_host[1]["status"] == "active"
    assert on_host[1]["config"] == {
        "contactEmailAddress": "gil@guest.example",
        "contactFirstname": "Gil",
        "contactLastname": "Guest",
    }

    # get_participant: one of them, by portal id.
    one = collab.get_participant(guest_id)
    assert one["portalInfo"] == on_host[1]["portalInfo"]
    assert one["collaborationRole"] == "Guest"
    assert collab.get_participant(host_id)["collaborationRole"] == "Host"

    # get_workspace: the guest's access to it, as the invitation gave it.
    assert collab.get_workspace(layers)["participantsWithoutGroupLinks"] == [
        {"portalId": guest_id, "accessMode": "sendAndReceive"}
    ]

    # participants (on the guest): the host, then itself.
    on_guest = guest_collab.participants()["participants"]
    assert [(p["portalInfo"]["id"], p["collaborationRole"]) for p in on_guest] == [(host_id, "Host"), (guest_id, "Guest")]
    assert on_guest[0]["config"]["contactEmailAddress"] == "ada@host.example"

    # invitations and get_invitation: the imported one, its file only when read alone.
    invitations = collab.invitations
    assert [(i["id"], i["status"]) for i in invitations] == [(request["id"], "host_imported")]
    assert "invitationString" not in invitations[0], "a list never carries the file's secret nonce"
    assert invitations[0]["guestPortalId"] == guest_id
    imported = collab.get_invitation(request["id"])
    assert imported["status"] == "host_imported"
    assert json.loads(imported["invitationString"])["invitationRequest"]["id"] == request["id"]

    # refresh and invalidate: a second invitation, refreshed (a new file with a new nonce), then withdrawn.
    second_file = collab.invite_participant(
        [{maps: "receive"}], guest_portal_url="https://third.example", save_path=str(tmp_path / "second")
    )
    second = signed_part(second_file, "invitationRequest")
    refreshed_file = collab.refresh(second["id"])
    refreshed = signed_part(refreshed_file, "invitationRequest")
    assert refreshed["id"] == second["id"]
    assert refreshed["nonce"] != second["nonce"], "the old file died"
    assert refreshed["expiration"] > second["expiration"]
    assert collab.invalidate(second["id"]) == {"success": True}
    assert collab.get_invitation(second["id"])["status"] == "host_invalidated"
    assert sorted((i["id"], i["status"]) for i in collab.invitations) == sorted(
        [(request["id"], "host_imported"), (second["id"], "host_invalidated")]
    )

    # remove_participant: the guest goes; the host stays.
    assert collab.remove_participant(guest_id) == {"success": True}
    remaining = collab.participants()["participants"]
    assert [(p["portalInfo"]["id"], p["collaborationRole"]) for p in remaining] == [(host_id, "Host")]

    # list (on the host): the collaboration it hosts.
    hosted = host_cm.list()
    assert [(c["id"], c["name"], c["participantType"]) for c in hosted] == [(collab_id, "Flood response", "host")]

    # events.jsonl on each portal: the collaboration's events, each once, in order per invitation, under the host.
    first, second = request["id"], refreshed["id"]
    host_events = events_of(host, 6)
    assert types(host_events, first) == [
        "collaboration.invitation.created", "collaboration.invitation.imported", "collaboration.participant.removed"]
    assert types(host_events, second) == [
        "collaboration.invitation.created", "collaboration.invitation.refreshed", "collaboration.invitation.invalidated"]
    guest_events = events_of(guest, 1)
    assert types(guest_events, first) == ["collaboration.invitation.accepted"]
    for event in host_events + guest_events:
        assert event["tenant"] == host_id, event
    text = json.dumps(host_events + guest_events)
    assert request["nonce"] not in text and refreshed["nonce"] not in text and "signature" not in text


def events_of(server, count: int, seconds: float = 20) -> list[dict]:
    """The `count` events of `server`'s events.jsonl, once it has them all (its writer runs beside the requests),
    and no more; every id once."""
    deadline = time.monotonic() + seconds
    while True:
        path = server.data_dir / "events.jsonl"
        events = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        if len(events) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    time.sleep(0.5)  # anything more would be written now, and fail the count
    events = [json.loads(line) for line in (server.data_dir / "events.jsonl").read_text().splitlines()]
    assert len(events) == count, events
    assert len({e["id"] for e in events}) == count, events
    return events


def types(events: list[dict], subject: str) -> list[str]:
    return [e["type"] for e in events if e["subject"]["id"] == subject]

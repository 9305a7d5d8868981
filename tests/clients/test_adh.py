"""The communities dialect through AVEVA's own ADH client library (`adh-sample-library-preview`), unchanged.

Every method of its `Communities` service is called, and the invitation handshake (which the library has no
service for) goes through the library's own `BaseClient.request` and `checkResponse`, with ADH's casing of the
paths. Each client signs in as ADH's do: OAuth client credentials against the server's local identity provider
(`rsvp-local client` registers them). Every answer is parsed by the library's own models (`Community.fromJson`,
`CommunityTenant.fromJson`, ...) and its content asserted; a refusal is the library's `SdsError`.
"""

from __future__ import annotations

import json

import pytest
from adh_sample_library_preview import ADHClient, SdsError
from adh_sample_library_preview.Community import (
    Community,
    CommunityInput,
    CommunitySummaryInformation,
    CommunityTenant,
    CommunityTenantStatus,
)

OWNER = ("tenant-owner", "admin@owner.example", "Owner Corp")
# The guest signs in with the recipient's own address: its token says the address is verified, which is what lets
# it accept (a link holder signed in with another address may only decline).
GUEST = ("tenant-guest", "bob@guest.example", "Guest Ltd")
# Another tenant's administrator, calling itself by the guest's name.
STRANGER = ("tenant-stranger", "eve@stranger.example", "Guest Ltd")
ADMIN = "TenantAdministrator"
MEMBER = "TenantMember"


def sign_in(server, who, *roles: str) -> ADHClient:
    """An ADHClient for `who`, which fetches its own token from the server's identity provider."""
    tenant, email, name = who
    client_id, client_secret = server.client(tenant, email, *roles, tenant_name=name)
    return ADHClient("v1", tenant, server.url, client_id, client_secret)


def call(client: ADHClient, method: str, path: str, body: dict | None = None, message: str = "rsvp call",
         headers: dict | None = None):
    """One request through the library's own BaseClient (its headers, its token), checked by its checkResponse."""
    base = client.baseClient
    data = json.dumps(body) if body is not None else None
    response = base.request(method, base.uri_API + "-preview" + path, data=data, additional_headers=headers)
    base.checkResponse(response, message)
    return response


def test_every_communities_method(rsvp_server):
    server = rsvp_server()
    owner = sign_in(server, OWNER, ADMIN)
    communities = owner.Communities

    created = communities.createCommunity(
        CommunityInput(name="Shared Operations", description="Runbooks and on-call data",
                       contact_email="ops@owner.example"))
    assert isinstance(created, Community)
    assert (created.Name, created.DisplayName, created.Description) == (
        "Shared Operations", "Shared Operations", "Runbooks and on-call data")
    assert created.Id and created.DateCreated
    # What rsvp has no notion of is null, never invented.
    assert (created.MemberRoleId, created.PreferredRegionId, created.CommunityRoles) == (None, None, None)
    [tenant] = created.Tenants
    assert isinstance(tenant, CommunityTenant)
    assert (tenant.Id, tenant.Name, tenant.Status) == (OWNER[0], OWNER[2], CommunityTenantStatus.Active)
    assert (tenant.ContactEmail, tenant.UserCount, tenant.ClientCount, tenant.CommunityAlias) == (
        "ops@owner.example", None, None, None)

    got = communities.getCommunityById(created.Id)
    assert (got.Id, got.Name, got.Description, got.DateCreated) == (
        created.Id, created.Name, created.Description, created.DateCreated)
    assert [(t.Id, t.Status) for t in got.Tenants] == [(OWNER[0], CommunityTenantStatus.Active)]

    second = communities.createCommunity(CommunityInput(name="Second"))
    listed = communities.getCommunities(skip=0, count=100)
    assert {c.Id: c.Name for c in listed} == {created.Id: "Shared Operations", second.Id: "Second"}
    assert [c.Id for c in communities.getCommunities(skip=1, count=1)] == [listed[1].Id], "paged as listed"

    change = CommunityInput(name="Shared Operations Centre", description="Runbooks, on-call data, post-mortems")
    change.Id = created.Id  # updateCommunity reads the id from its input
    assert communities.updateCommunity(change) is None
    renamed = communities.getCommunityById(created.Id)
    assert (renamed.Name, renamed.DisplayName, renamed.Description) == (
        "Shared Operations Centre", "Shared Operations Centre", "Runbooks, on-call data, post-mortems")
    assert renamed.DateCreated == created.DateCreated
    assert {c.Id: c.Name for c in communities.getCommunities()}[created.Id] == "Shared Operations Centre"

    summary = communities.getCommunitySummary(created.Id)
    assert isinstance(summary, CommunitySummaryInformation)
    assert (summary.TotalStreams, summary.StreamsContributed) == (0, 0)
    assert communities.getCommunityStreams(created.Id, query="pump", skip=0, count=10) == []
    assert communities.getCommunityStreams(created.Id, search_tenant_id=OWNER[0]) == []

    # An open invitation keeps the community: the library's SdsError, with everything it parses.
    invited = call(owner, "post", f"/Communities/{created.Id}/Invitations",
                   {"InvitationRecipient": GUEST[1]}).json()
    with pytest.raises(SdsError) as refused:
        communities.deleteCommunity(created.Id)
    error = refused.value
    assert error.StatusCode == 409
    assert error.OperationId and error.OperationId == error.Response.headers["Operation-Id"]
    assert error.OperationId == error.Response.json()["OperationId"]
    assert error.Error == "Conflict"
    assert invited["Id"] in error.Reason and "InvitationCreated" in error.Reason
    assert error.Resolution
    assert communities.getCommunityById(created.Id).Name == "Shared Operations Centre", "nothing was deleted"

    call(owner, "delete", f"/Communities/{created.Id}/Invitations/{invited['Id']}")
    assert communities.deleteCommunity(created.Id) is None
    assert communities.deleteCommunity(second.Id) is None
    assert communities.getCommunities() == []
    with pytest.raises(SdsError) as gone:
        communities.getCommunityById(created.Id)
    assert (gone.value.StatusCode, gone.value.Error) == (404, "Not Found")
    assert created.Id in gone.value.Reason
    assert gone.value.OperationId == gone.value.Response.headers["Operation-Id"]


def test_invitation_handshake(rsvp_server):
    server = rsvp_server()
    owner = sign_in(server, OWNER, ADMIN)
    guest = sign_in(server, GUEST, ADMIN)
    community = owner.Communities.createCommunity(
        CommunityInput(name="Partners", description="Shared with partners", contact_email="ops@owner.example"))

    invited = call(owner, "post", f"/Communities/{community.Id}/Invitations",
                   {"InvitationRecipient": GUEST[1]}).json()
    assert (invited["State"], invited["InvitationRecipient"], invited["CommunityId"]) == (
        "InvitationCreated", GUEST[1], community.Id)
    assert invited["InvitationUrl"].startswith(f"{server.url}/invite/{invited['Id']}?token=")
    invitation = invited["Id"]

    details = call(guest, "get", f"/CommunityInvitations/{invitation}/Details").json()
    assert (details["CommunityId"], details["CommunityName"], details["InvitationState"]) == (
        community.Id, "Partners", "InvitationCreated")
    assert details["ContactEmail"] == "ops@owner.example"

    # The link alone does not accept: another tenant's administrator holding it is refused, and nothing changes.
    stranger = sign_in(server, STRANGER, ADMIN)
    secret = {"Invitation-Token": invited["InvitationUrl"].split("?token=", 1)[1]}
    with pytest.raises(SdsError) as refused:
        call(stranger, "put", f"/CommunityInvitations/{invitation}",
             {"Action": "Accept", "ContactEmail": "ops@stranger.example"}, headers=secret)
    assert (refused.value.StatusCode, refused.value.Error) == (403, "Forbidden")
    assert "only its recipient" in refused.value.Reason and GUEST[1] not in refused.value.Reason
    assert call(stranger, "get", f"/Tenants/{STRANGER[0]}/CommunityInvitations").json() == []
    [pending] = call(owner, "get", f"/Communities/{community.Id}/Invitations").json()
    assert (pending["State"], pending["InvitedTenantId"], pending["AcceptFrom"]) == (
        "InvitationCreated", None, "Recipient")

    accepted = call(guest, "put", f"/CommunityInvitations/{invitation}",
                    {"Action": "Accept", "ContactEmail": "ops@guest.example"})
    assert accepted.status_code == 202
    # The owner sees who accepted by what was verified; the tenant's name is marked as a claim.
    [seen] = call(owner, "get", f"/Communities/{community.Id}/Invitations").json()
    assert (seen["InvitedTenantId"], seen["AcceptedUserEmail"], seen["AcceptedTenantName"],
            seen["AcceptedTenantNameVerified"]) == (GUEST[0], GUEST[1], GUEST[2], False)

    # Until it is confirmed, the guest tenant is seen through its accepted invitations, not among the tenants.
    waiting = call(guest, "get", f"/Tenants/{GUEST[0]}/CommunityInvitations").json()
    assert [(i["Id"], i["State"], i["InvitedTenantId"], i["AcceptedUserEmail"]) for i in waiting] == [
        (invitation, "InvitationAccepted", GUEST[0], GUEST[1])]
    tenants = [CommunityTenant.fromJson(t) for t in call(owner, "get", f"/Communities/{community.Id}/Tenants").json()]
    assert [(t.Id, t.Status) for t in tenants] == [(OWNER[0], CommunityTenantStatus.Active)]
    with pytest.raises(SdsError) as not_yet:
        guest.Communities.getCommunityById(community.Id)
    assert not_yet.value.StatusCode == 404

    confirmed = call(owner, "put", f"/CommunityInvitations/{invitation}", {"Action": "Confirm"})
    assert confirmed.status_code == 202

    tenants = [CommunityTenant.fromJson(t) for t in call(owner, "get", f"/Communities/{community.Id}/Tenants").json()]
    assert [(t.Id, t.Name, t.Status, t.ContactEmail) for t in tenants] == [
        (GUEST[0], GUEST[2], CommunityTenantStatus.Active, "ops@guest.example"),
        (OWNER[0], OWNER[2], CommunityTenantStatus.Active, "ops@owner.example"),
    ]
    assert call(guest, "get", f"/Tenants/{GUEST[0]}/CommunityInvitations").json() == []
    seen = guest.Communities.getCommunityById(community.Id)
    assert sorted((t.Id, t.Status) for t in seen.Tenants) == [
        (GUEST[0], CommunityTenantStatus.Active), (OWNER[0], CommunityTenantStatus.Active)]
    assert [c.Id for c in guest.Communities.getCommunities()] == [community.Id]
    assert guest.Communities.getCommunitySummary(community.Id).TotalStreams == 0

    # A member tenant is not the owner: it may not delete; while it is in, the owner may not either.
    with pytest.raises(SdsError) as forbidden:
        guest.Communities.deleteCommunity(community.Id)
    assert (forbidden.value.StatusCode, forbidden.value.Error) == (403, "Forbidden")
    with pytest.raises(SdsError) as in_use:
        owner.Communities.deleteCommunity(community.Id)
    assert in_use.value.StatusCode == 409 and GUEST[0] in in_use.value.Reason
    assert in_use.value.OperationId == in_use.value.Response.headers["Operation-Id"]

    call(owner, "delete", f"/Communities/{community.Id}/Tenants/{GUEST[0]}")
    owner.Communities.deleteCommunity(community.Id)
    assert owner.Communities.getCommunities() == []


def test_a_wrong_secret_gets_no_token(rsvp_server):
    server = rsvp_server()
    client_id, _ = server.client(*OWNER[:2], ADMIN)
    with pytest.raises(SdsError, match="invalid_client"):
        ADHClient("v1", OWNER[0], server.url, client_id, "not-the-secret")

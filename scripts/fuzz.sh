#!/usr/bin/env bash
# Contract fuzzing: schemathesis drives every operation of openapi.yaml against a local server and fails on any
# 5xx, any status, content type, header or body the description does not allow, or any answer slower than 1 s.
#
#   scripts/fuzz.sh                              # as scripts/test runs it
#   RSVP_FUZZ_EXAMPLES=200 scripts/fuzz.sh       # more cases per operation (default 40)
#   RSVP_FUZZ_SEED=1234 scripts/fuzz.sh          # schemathesis' seed (it prints the one it used)
#   RSVP_FUZZ_KEEP=1 scripts/fuzz.sh             # keep the work folder: logs, config, every request (HAR)
#   RSVP_FUZZ_ARGS='--mode positive --include-tag Communities' scripts/fuzz.sh   # more schemathesis options
#
# It installs schemathesis (pinned, from PyPI) into .tools/venv as scripts/moto.sh installs moto, builds
# rsvp-local, and starts it on a free port with a fresh data directory as a portal over HTTPS (--tls, at its own
# https://127.0.0.1:<port>) with a token for tenant `acme` holding every role. A second portal server, the guest,
# lives only while the data is seeded (each portal fetches the other's published key when it reads its files, so
# both serve the host's self-signed certificate and trust it with the test-only --trust-cert): a community with
# invitations, platform invitations (and their codes, from the server's mail lines), a collaboration hosted here
# with invitations, the guest's signed response to one of them, a collaboration hosted by the guest that this
# portal joined and another it is invited to, and the guest's key fingerprint (the guest is gone when the fuzz
# runs, so the fuzz passes it as an administrator would). Half of the generated ids, codes, files and
# fingerprints are those real ones (schemathesis dictionaries), so the fuzz reaches past the 404s into the
# operations' rules; the other half are generated.
#
# It reads the description from the server's GET /openapi.yaml. It prints the number of requests made and fails
# when schemathesis reports a failure, when fewer than 1,000 requests were made, or when the server died.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/service.sh
. "$root/scripts/service.sh"

schemathesis_version="4.32.5"
venv="$root/.tools/venv"
examples="${RSVP_FUZZ_EXAMPLES:-40}"
min_requests=1000
max_response_seconds=1

die() {
    echo "scripts/fuzz.sh: $*" >&2
    exit 1
}

schemathesis_installed() {
    [[ -x "$venv/bin/schemathesis" ]] || return 1
    [[ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" == \
        "$schemathesis_version" ]]
}
if ! schemathesis_installed; then
    echo "scripts/fuzz.sh: installing schemathesis $schemathesis_version into .tools/venv" >&2
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" || die "could not create the virtualenv .tools/venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version" ||
        die "pip could not install schemathesis==$schemathesis_version"
    schemathesis_installed || die "schemathesis did not install as pinned"
fi

cargo build --quiet -p rsvp-local || die "rsvp-local did not build"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/rsvp-local"
[[ -x "$bin" ]] || die "no rsvp-local binary at $bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/rsvp-fuzz.XXXXXX")"
declare -A pids=() # the servers started, by name
cleanup() {
    local name
    for name in "${!pids[@]}"; do service_stop "${pids[$name]}" ""; done
    if [[ -n "${RSVP_FUZZ_KEEP:-}" ]]; then
        echo "scripts/fuzz.sh: kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# The host's self-signed certificate (made when it starts), which both portals serve and trust.
certificate="$work/host/tls.pem"

# serve NAME: starts a portal server over HTTPS at its own https://127.0.0.1:<port>, with its own data directory
# (pids[NAME]); sets $base.
serve() {
    local name="$1" port
    port="$(service_free_port)"
    mkdir -p "$work/$name"
    if [[ "$name" != host ]]; then
        cp "$certificate" "$work/$name/tls.pem" && chmod 600 "$work/$name/tls.pem"
    fi
    base="https://127.0.0.1:$port"
    "$bin" serve --port "$port" --data-dir "$work/$name" --portal-url "$base" --tls --trust-cert "$certificate" \
        >"$work/$name.log" 2>&1 &
    pids[$name]=$!
    service_wait scripts/fuzz.sh "rsvp-local ($name) on 127.0.0.1:$port" "${pids[$name]}" "$work/$name.log" \
        python3 -c "import ssl, urllib.request
urllib.request.urlopen('$base/openapi.yaml', timeout=2, context=ssl.create_default_context(cafile='$certificate'))" ||
        exit 1
}
token() {
    "$bin" token --data-dir "$work/$1" --tenant acme --email "ada@$1.example" \
        --role TenantAdministrator --role TenantMember --role PortalAdministrator
}

serve host
host_base="$base"
serve guest
guest_base="$base"
host_token="$(token host)"
guest_token="$(token guest)"

"$venv/bin/python" - "$host_base" "$host_token" "$guest_base" "$guest_token" "$work" "$certificate" <<'PY' ||
"""Seeds both portals and writes the schemathesis configuration with the real ids, codes and files."""
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

host, host_token, guest, guest_token, work, certificate = sys.argv[1:]
tls = ssl.create_default_context(cafile=certificate)


def call(base, token, method, path, body=None, form=None):
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=tls) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"seeding: {method} {path} answered {error.code}: {error.read().decode()}")


def host_call(*args, **kwargs):
    return call(host, host_token, *args, **kwargs)


def guest_call(*args, **kwargs):
    return call(guest, guest_token, *args, **kwargs)


portal = "/sharing/rest/portals/self"

# Communities: one community owned by acme, two pending invitations (one to the caller itself).
host_call("PUT", "/api/businesses/acme/usersettings", body={
    "InviteUnregisteredUsers": "com.soa.feature.enabled", "MaxInvitationsPerDay": 10000, "ResendCooldownMinutes": 0})
_, text = host_call("POST", "/api/v1-preview/communities",
                    body={"Name": "Fuzzing", "Description": "Seeded", "ContactEmail": "ops@acme.example"})
community = json.loads(text)["Id"]
community_invitations, secrets = [], []
for recipient in ["bob@other.example", "ada@host.example"]:
    _, text = host_call("POST", f"/api/v1-preview/communities/{community}/invitations",
                        body={"InvitationRecipient": recipient})
    created = json.loads(text)
    community_invitations.append(created["Id"])
    secrets.append(created["InvitationUrl"].split("token=", 1)[1])

# Platform users: two pending invitations; their codes only travel in the emails, whose links the server prints.
host_call("POST", "/api/users/invitations",
          body={"EmailAddresses": ["jane@partner.example", "raj@partner.example"], "Message": "Join us."})
_, text = host_call("GET", "/api/users/invitations")
user_invitations = [i["Id"] for i in json.loads(text)]
codes = []
for _ in range(100):
    with open(f"{work}/host.log", encoding="utf-8", errors="replace") as log:
        codes = sorted(set(re.findall(r"/invite/[0-9a-f-]{36}\?token=([0-9a-f-]{36}\.[A-Za-z0-9_-]{43})", log.read())))
    if len(codes) >= 2:
        break
    time.sleep(0.1)
if len(codes) < 2:
    raise SystemExit("seeding: the platform invitations' codes did not appear in the server's mail lines")

# Portals: a collaboration hosted here, invitations to this portal itself and to the guest; the guest accepts its
# file and answers with a signed response; the guest hosts a collaboration that this portal joins.
_, text = host_call("GET", portal)
host_portal_id = json.loads(text)["id"]
_, text = guest_call("GET", portal)
guest_portal_id = json.loads(text)["id"]
# The guest stops before the fuzz, so the host cannot fetch its key then: the fuzz passes its fingerprint as an
# administrator would (hostKeyFingerprint, guestKeyFingerprint), half of the time.
guest_fingerprint = json.loads(text)["publicKeyFingerprint"]
contact = {"Firstname": "Ada", "Lastname": "Admin", "EmailAddress": "ada@host.example"}


def create_collaboration(call_, name):
    form = {"name": name, "workspaceName": "Maps", "description": "Seeded"}
    form.update({f"hostContact{k}": v for k, v in contact.items()})
    _, text = call_("POST", f"{portal}/createCollaboration", form=form)
    created = json.loads(text)["collaboration"]
    return created["id"], created["workspaces"][0]["id"]


def invite(call_, collaboration, workspace, guest_url):
    config = json.dumps([{workspace: "sendAndReceive"}])
    _, file = call_("POST", f"{portal}/collaborations/{collaboration}/inviteParticipant",
                    form={"guestPortalUrl": guest_url, "collaborationWorkspacesParticipantConfigJSON": config})
    return file


collaboration, workspace = create_collaboration(host_call, "Floods")
self_file = invite(host_call, collaboration, workspace, host)
guest_file = invite(host_call, collaboration, workspace, guest)
_, text = host_call("GET", f"{portal}/collaborations/{collaboration}/invitations")
collaboration_invitations = [i["id"] for i in json.loads(text)["collaborationInvitations"]]
form = {"invitationJSON": guest_file}
form.update({f"guestContact{k}": v for k, v in contact.items()})
guest_call("POST", f"{portal}/acceptCollaborationInvitation", form=form)
_, response_file = guest_call("POST", f"{portal}/collaborations/{collaboration}/exportInvitationResponse")

joined, joined_workspace = create_collaboration(guest_call, "Fires")
joined_file = invite(guest_call, joined, joined_workspace, host)
form = {"invitationJSON": joined_file}
form.update({f"guestContact{k}": v for k, v in contact.items()})
host_call("POST", f"{portal}/acceptCollaborationInvitation", form=form)
# One more of the guest's invitations, left for the fuzz to validate and accept.
pending, pending_workspace = create_collaboration(guest_call, "Storms")
pending_file = invite(guest_call, pending, pending_workspace, host)


def toml(value):
    return json.dumps(value)  # a JSON string or list of strings is a TOML one


def dictionary(name, values):
    return f"[dictionaries.{name}]\nvalues = {toml(values)}\n"


def bind(parameters):
    # Half of the values are the real ones, the other half generated.
    return "".join(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}\n' for key, name in parameters)


files = [self_file, guest_file, joined_file, pending_file]
config = f"""# Written by scripts/fuzz.sh for one run.
[parameters]
portalId = "self"

{dictionary("tenants", ["acme"])}
{dictionary("communities", [community])}
{dictionary("community_invitations", community_invitations)}
{dictionary("secrets", secrets)}
{dictionary("user_invitations", user_invitations)}
{dictionary("codes", codes)}
{dictionary("links", community_invitations + user_invitations)}
{dictionary("link_tokens", secrets + codes)}
{dictionary("collaborations", [collaboration, joined])}
{dictionary("collaboration_invitations", collaboration_invitations)}
{dictionary("portals", [guest_portal_id, host_portal_id])}
{dictionary("invitation_files", files)}
{dictionary("response_files", [response_file])}
{dictionary("workspace_configs", [json.dumps([{workspace: "send"}]), json.dumps([{workspace: "receive"}])])}
{dictionary("guest_urls", [guest, host])}
{dictionary("fingerprints", [guest_fingerprint])}

[[operations]]
include-path-regex = "^/api/v1-preview/"
[operations.parameters]
{bind([("path.communityId", "communities"), ("path.invitationId", "community_invitations"),
       ("path.tenantId", "tenants"), ("header.Invitation-Token", "secrets")])}
[[operations]]
include-path-regex = "^/api/(users|businesses)/"
[operations.parameters]
{bind([("path.invitationId", "user_invitations"), ("path.businessId", "tenants"),
       ("path.invitationCode", "codes"), ("body.validationCode", "codes")])}
[[operations]]
include-path-regex = "^/invite/"
[operations.parameters]
{bind([("path.invitationId", "links"), ("query.token", "link_tokens"), ("body.token", "link_tokens")])}
[[operations]]
include-path-regex = "^/sharing/"
[operations.parameters]
portalId = "self"
{bind([("path.collaborationId", "collaborations"), ("path.invitationId", "collaboration_invitations"),
       ("path.participantPortalId", "portals"), ("body.invitationJSON", "invitation_files"),
       ("body.invitationFile", "invitation_files"), ("body.invitationResponseJSON", "response_files"),
       ("body.invitationResponseFile", "response_files"),
       ("body.collaborationWorkspacesParticipantConfigJSON", "workspace_configs"),
       ("body.guestPortalUrl", "guest_urls"), ("body.hostKeyFingerprint", "fingerprints"),
       ("body.guestKeyFingerprint", "fingerprints")])}
"""
with open(f"{work}/schemathesis.toml", "w", encoding="utf-8") as out:
    out.write(config)
PY
    die "seeding the servers failed"
service_stop "${pids[guest]}" ""
unset 'pids[guest]'

echo "scripts/fuzz.sh: schemathesis $schemathesis_version, $examples cases per operation, against $host_base" >&2
started=$SECONDS
status=0
seed=()
[[ -z "${RSVP_FUZZ_SEED:-}" ]] || seed=(--seed "$RSVP_FUZZ_SEED")
read -r -a extra <<<"${RSVP_FUZZ_ARGS:-}"
(
    cd "$work" # schemathesis keeps its example database and reports in the working directory
    "$venv/bin/schemathesis" --no-color --config-file "$work/schemathesis.toml" run "$host_base/openapi.yaml" \
        --url "$host_base" \
        --tls-verify "$certificate" \
        --header "Authorization: Bearer $host_token" \
        --checks "${RSVP_FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance}" \
        --max-response-time "$max_response_seconds" \
        --max-examples "$examples" \
        --workers 1 \
        --suppress-health-check all \
        --warnings off \
        --report har --report-har-path "$work/requests.har" \
        "${seed[@]}" "${extra[@]}"
) >"$work/schemathesis.log" 2>&1 || status=$?
elapsed=$((SECONDS - started))

requests="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' \
    "$work/requests.har" 2>/dev/null || echo 0)"
statuses="$(python3 -c '
import collections, json, sys
entries = json.load(open(sys.argv[1]))["log"]["entries"]
counts = collections.Counter(e["response"]["status"] for e in entries)
print(", ".join(f"{n} x {s}" for s, n in sorted(counts.items())))' "$work/requests.har" 2>/dev/null || true)"

failed=""
if ((status != 0)); then
    failed="schemathesis reported failures (exit $status)"
elif ((requests < min_requests)); then
    failed="only $requests requests were made; at least $min_requests are needed"
elif ! kill -0 "${pids[host]}" 2>/dev/null; then
    failed="the server died during the run"
fi
if [[ -n "$failed" ]]; then
    cat "$work/schemathesis.log"
    echo "scripts/fuzz.sh: the last lines of the server's log:" >&2
    tail -n 40 "$work/host.log" >&2
    echo "fuzz: $requests requests in ${elapsed}s: FAILED: $failed"
    exit 1
fi
sed -n -e '/^Test Phases:/,/^Reports:/{/^Reports:/d;p}' -e '/^Seed:/p' "$work/schemathesis.log"
echo "fuzz: $requests requests to every operation of openapi.yaml in ${elapsed}s, no failures ($statuses)"

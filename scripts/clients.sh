#!/usr/bin/env bash
# The vendors' own clients against rsvp-local: Esri's ArcGIS API for Python (`arcgis`) and AVEVA's ADH client
# library (`adh-sample-library-preview`) drive the portal and communities dialects through their own methods, and
# the Standard Webhooks verifier (`standardwebhooks`) checks rsvp-local's signed webhooks (tests/clients/test_*.py),
# all suites in one pytest process.
#
#   scripts/clients.sh                      # as scripts/test runs it
#   scripts/clients.sh -k arcgis -x         # arguments go to pytest
#
# It installs the clients, pinned (tests/clients/requirements.txt, every dependency held by requirements.lock),
# into .tools/venv, builds rsvp-local and names it to the suites in RSVP_LOCAL_BIN; the suites start their own
# servers (tests/clients/conftest.py). It ends with pytest's own summary line ('N passed ...').
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/venv"
requirements="$root/tests/clients/requirements.txt"
lock="$root/tests/clients/requirements.lock"

die() {
    echo "scripts/clients.sh: $*" >&2
    exit 1
}

# The install is redone only when the pins change: a stamp holds the hash of both files.
stamp="$venv/.rsvp-clients"
wanted="$(cat "$requirements" "$lock" | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
    echo "scripts/clients.sh: installing the vendors' clients (tests/clients/requirements.txt) into .tools/venv" >&2
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" || die "could not create the virtualenv .tools/venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" -c "$lock" ||
        die "pip could not install tests/clients/requirements.txt"
    echo "$wanted" >"$stamp"
fi

cargo build --quiet -p rsvp-local || die "rsvp-local did not build"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/rsvp-local"
[[ -x "$bin" ]] || die "no rsvp-local binary at $bin"

cd "$root/tests/clients"
# -p no:cacheprovider: nothing is written into the checkout; -rA: every test named in the summary.
RSVP_LOCAL_BIN="$bin" exec "$venv/bin/python" -m pytest -p no:cacheprovider -q -rA "$@"

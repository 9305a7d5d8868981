# moto (a local stand-in for AWS services: SES, KMS, EventBridge, SQS) for rsvp's test command. Source it from a
# script that has set `root` to the repository, then:
#
#   moto_start NAME    # installs if needed, starts on a free port, waits until it answers; sets MOTO_ENDPOINT
#   moto_stop          # stops it (safe to call twice; put it in an EXIT trap)
#
# It lives in the virtualenv .tools/venv that scripts/check-template also uses, pinned, from PyPI. Like real SES,
# moto refuses to send from an unverified sender, and it shows what was sent at /moto-api/data.json.

# shellcheck source=scripts/service.sh
. "$root/scripts/service.sh"

moto_version="5.2.5"
moto_venv="$root/.tools/venv"
moto_pid=""
moto_log=""

moto_installed() {
    [[ -x "$moto_venv/bin/moto_server" ]] || return 1
    [[ "$("$moto_venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" == "$moto_version" ]]
}

moto_start() {
    local name="$1" port
    if ! moto_installed; then
        echo "$name: installing moto[server] $moto_version into .tools/venv" >&2
        [[ -x "$moto_venv/bin/python" ]] || python3 -m venv "$moto_venv" ||
            { echo "$name: could not create the virtualenv .tools/venv" >&2; return 1; }
        "$moto_venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$moto_version" ||
            { echo "$name: pip could not install moto[server]==$moto_version" >&2; return 1; }
        moto_installed || { echo "$name: moto did not install as pinned" >&2; return 1; }
    fi
    port="$(service_free_port)"
    moto_log="$(mktemp "${TMPDIR:-/tmp}/rsvp-moto.XXXXXX.log")"
    "$moto_venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
    moto_pid=$!
    service_wait "$name" "moto on 127.0.0.1:$port" "$moto_pid" "$moto_log" python3 -c \
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=2)" ||
        return 1
    MOTO_ENDPOINT="http://127.0.0.1:$port"
    echo "$name: moto $moto_version is listening on 127.0.0.1:$port" >&2
}

moto_stop() {
    service_stop "$moto_pid" "$moto_log"
    moto_pid=""
    moto_log=""
}

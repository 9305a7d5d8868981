# moto (a local stand-in for AWS services: SES, KMS) for rsvp's test command. Source it from a script that has set
# `root` to the repository, then:
#
#   moto_start NAME    # installs if needed, starts on a free port, waits until it answers; sets MOTO_ENDPOINT
#   moto_stop          # stops it (safe to call twice; put it in an EXIT trap)
#
# It lives in the virtualenv .tools/venv that scripts/check-template also uses, pinned, from PyPI. Like real SES,
# moto refuses to send from an unverified sender, and it shows what was sent at /moto-api/data.json.

moto_version="5.2.5"
moto_venv="$root/.tools/venv"
moto_pid=""
moto_log=""

moto_installed() {
    [[ -x "$moto_venv/bin/moto_server" ]] || return 1
    [[ "$("$moto_venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" == "$moto_version" ]]
}

moto_start() {
    local name="$1" port deadline
    if ! moto_installed; then
        echo "$name: installing moto[server] $moto_version into .tools/venv" >&2
        [[ -x "$moto_venv/bin/python" ]] || python3 -m venv "$moto_venv" ||
            { echo "$name: could not create the virtualenv .tools/venv" >&2; return 1; }
        "$moto_venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$moto_version" ||
            { echo "$name: pip could not install moto[server]==$moto_version" >&2; return 1; }
        moto_installed || { echo "$name: moto did not install as pinned" >&2; return 1; }
    fi
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    moto_log="$(mktemp "${TMPDIR:-/tmp}/rsvp-moto.XXXXXX.log")"
    "$moto_venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
    moto_pid=$!
    deadline=$((SECONDS + 60))
    until python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=2)" 2>/dev/null; do
        if ! kill -0 "$moto_pid" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "$name: moto did not start on 127.0.0.1:$port; the last lines of its log:" >&2
            tail -n 40 "$moto_log" >&2 || true
            return 1
        fi
        sleep 0.5
    done
    MOTO_ENDPOINT="http://127.0.0.1:$port"
    echo "$name: moto $moto_version is listening on 127.0.0.1:$port" >&2
}

moto_stop() {
    if [[ -n "$moto_pid" ]] && kill -0 "$moto_pid" 2>/dev/null; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    moto_pid=""
    [[ -z "$moto_log" ]] || rm -f "$moto_log"
    moto_log=""
}

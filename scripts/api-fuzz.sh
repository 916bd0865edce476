#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis: builds and starts the real `usvc` binary on embedded
# defaults (development mode, SQLite and objects in a temporary folder, free ports), obtains a
# real access token (register -> the dev mailbox's code -> verify-email -> login), then runs
# schemathesis against the service's own /openapi.json over every operation (examples, coverage,
# fuzzing and the stateful links), checking that no answer is a server error and that every
# answer matches its documented schema. Fails on any finding, or if the service logged a panic.
#
# Bounded: API_FUZZ_SECONDS (default 240) for schemathesis in all, API_FUZZ_EXAMPLES (default
# 20) examples per operation and phase. Needs `make components` first (make api-fuzz does it).
set -euo pipefail
cd "$(dirname "$0")/.."

BUDGET="${API_FUZZ_SECONDS:-240}"
EXAMPLES="${API_FUZZ_EXAMPLES:-20}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
COMPONENTS="${USVC_COMPONENTS_DIR:-$TARGET_DIR/components}"

if ! command -v st >/dev/null 2>&1; then
    pip install --quiet 'schemathesis>=4,<5'
fi
st --version

echo "== building usvc"
cargo build --quiet -p usvc-host --bin usvc
BIN="$TARGET_DIR/debug/usvc"

work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
HTTP_PORT="$(free_port)"
GRPC_PORT="$(free_port)"
BASE="http://127.0.0.1:$HTTP_PORT"

echo "== starting usvc on $BASE"
env -i PATH="$PATH" HOME="${HOME:-/root}" \
    USVC_MODE=development \
    DATABASE_URL="sqlite://$work/usvc.db" \
    USVC_OBJECTS_DIR="$work/objects" \
    USVC_HTTP_ADDR="127.0.0.1:$HTTP_PORT" \
    USVC_GRPC_ADDR="127.0.0.1:$GRPC_PORT" \
    USVC_COMPONENTS_DIR="$COMPONENTS" \
    USVC_ARGON2_MEMORY_KIB=64 USVC_ARGON2_ITERATIONS=1 \
    USVC_LIMIT_LOGIN_PER_IP=100000/60 USVC_LIMIT_LOGIN_PER_ACCOUNT=100000/60 \
    USVC_LIMIT_REGISTER_PER_IP=100000/60 USVC_LIMIT_CODE_CHECKS_PER_IP=100000/60 \
    USVC_LIMIT_CODE_CHECKS_PER_ACCOUNT=100000/60 USVC_LIMIT_RESET_PER_IP=100000/60 \
    USVC_LIMIT_RESET_PER_ACCOUNT=100000/60 USVC_LIMIT_CODE_SENDS_PER_ACCOUNT=100000/60 \
    RUST_LOG=warn \
    "$BIN" serve >"$work/usvc.log" 2>&1 &
PID=$!
cleanup() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
    curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || { cat "$work/usvc.log"; echo "usvc exited"; exit 1; }
    sleep 0.5
done
curl -fsS "$BASE/readyz" >/dev/null

# A real customer and a token: register, the code from the dev mailbox, verify, log in.
login() {
    local email="$1" password="analytical engine 1843"
    curl -sS --fail-with-body "$BASE/v1/auth/register" -H 'content-type: application/json' -d "{
        \"email\": \"$email\", \"password\": \"$password\", \"legal_name\": \"Fuzz Tester\",
        \"date_of_birth\": \"1990-01-01\", \"country_of_residence\": \"GB\",
        \"phone\": \"+447700900123\"}" >&2
    local code
    code="$(curl -fsS "$BASE/dev/mailbox?to=$email" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["code"])')"
    curl -sS --fail-with-body "$BASE/v1/auth/verify-email" -H 'content-type: application/json' \
        -d "{\"email\": \"$email\", \"code\": \"$code\"}" >&2
    curl -sS --fail-with-body "$BASE/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"email\": \"$email\", \"password\": \"$password\"}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
# Operations that can end the session a token belongs to run apart, each run with a token of its
# own and after the rest: a logout ends it, so does ending its session or forgetting its device
# (ids the stateful phase reads from the lists), and wrong current passwords lock the account.
# Together the runs cover every operation.
common=(
    --checks not_a_server_error,response_schema_conformance
    --max-examples "$EXAMPLES"
    --request-timeout 20
    --generation-deterministic
    --suppress-health-check all
    --no-color
)
ENDING='^/v1/(auth/logout|sessions/\{id\}|devices/\{id\})$'
PASSWORD='^/v1/(auth/reauthenticate|users/me/password)$'
started=$SECONDS
status=0
echo "== schemathesis: every operation but those that end the session"
st run "$BASE/openapi.json" "${common[@]}" --max-time "$((BUDGET - 60))" \
    --exclude-path-regex "$ENDING|$PASSWORD" \
    -H "Authorization: Bearer $(login fuzz@example.com)" || status=$?
echo "== schemathesis: password checks"
st run "$BASE/openapi.json" "${common[@]}" --max-time 30 --phases examples,coverage,fuzzing \
    --include-path-regex "$PASSWORD" \
    -H "Authorization: Bearer $(login fuzz-password@example.com)" || status=$?
echo "== schemathesis: logout, ending a session, forgetting a device"
st run "$BASE/openapi.json" "${common[@]}" --max-time 30 --phases examples,coverage,fuzzing \
    --include-path-regex "$ENDING" \
    -H "Authorization: Bearer $(login fuzz-logout@example.com)" || status=$?
echo "== schemathesis took $((SECONDS - started)) s"

if grep -n 'panicked' "$work/usvc.log"; then
    echo "usvc panicked (above)"; status=1
fi
if [ "$status" -ne 0 ]; then
    echo "== usvc's log"; tail -50 "$work/usvc.log"
fi
exit "$status"

#!/usr/bin/env bash
# Checks that `usvc components new` makes, for every kind, a crate that builds into a component
# and passes its generated test against the kind's kit: in a copy of the workspace's tracked
# files, sharing this workspace's target directory so only what the copy adds compiles. Every
# cargo command selects the whole workspace, as `make test` does, so that features unify the
# same way and the dependencies `make test` built are reused.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$root/$CARGO_TARGET_DIR" ;; esac

# `cargo test --workspace` builds the binary (and is a no-op after `make test`).
cargo test --quiet --workspace --no-run
usvc="$CARGO_TARGET_DIR/debug/usvc"

copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$copy"
cd "$copy"

for kind in onboarding mfa verification; do
    "$usvc" components new "$kind" "components/new-$kind"
done
scripts/build-components.sh
for kind in onboarding mfa verification; do
    test -f "target/components/new-$kind.wasm"
done
# Only the generated tests (`tests/policy.rs`) run.
cargo test --workspace --test policy
echo "scaffold-check: every kind's new crate builds and passes its test"

#!/usr/bin/env bash
# Checks that `usvc components new` makes, for every kind, a crate that builds into a component
# and passes its generated test against the kind's kit: in a copy of the workspace's tracked
# files, sharing this workspace's target directory so only what the copy changes compiles.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$root/$CARGO_TARGET_DIR" ;; esac

cargo build --quiet -p usvc-host --bin usvc
usvc="$CARGO_TARGET_DIR/debug/usvc"

copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$copy"
cd "$copy"

packages=()
for kind in onboarding mfa verification; do
    "$usvc" components new "$kind" "components/new-$kind"
    packages+=(-p "usvc-new-$kind")
done
scripts/build-components.sh
for kind in onboarding mfa verification; do
    test -f "target/components/new-$kind.wasm"
done
cargo test "${packages[@]}"
echo "scaffold-check: every kind's new crate builds and passes its test"

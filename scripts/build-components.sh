#!/usr/bin/env bash
# Builds every component crate (a crate under components/ whose Cargo.toml has
# [package.metadata.usvc]) into a WebAssembly component and copies it to
# ${USVC_COMPONENTS_OUT:-target/components}/ (or USVC_COMPONENTS_DIR, where the host and the
# test kit read components from, when only that is set):
#   - the reference component of each kind (crate usvc-<kind>) as <kind>.wasm
#                                                     (usvc-onboarding -> onboarding.wasm)
#   - every other (test fixtures, crates from `usvc components new`) as <crate name without usvc->.wasm
#                                                     (usvc-chaos-onboarding -> chaos-onboarding.wasm)
#
# Primary path: rustup's wasm32-wasip2 target, whose linker emits a component directly.
# Fallback (no rustup download possible, e.g. an offline Debian machine): Debian's rustc-web
# builds std from source for wasm32-unknown-unknown, and `wasm-tools component new` wraps the
# core module into a component. USVC_COMPONENTS_FALLBACK=1 forces the fallback.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A directory given in the environment means the same thing from wherever the script is run.
out_dir="${USVC_COMPONENTS_OUT:-${USVC_COMPONENTS_DIR:-}}"
if [[ -n "$out_dir" && "$out_dir" != /* ]]; then
    out_dir="$PWD/$out_dir"
fi
out_dir="${out_dir:-target/components}"
cd "$root"

target_dir="${CARGO_TARGET_DIR:-target}"
profile="component"

log() { printf 'build-components: %s\n' "$*" >&2; }

# --- Which crates are components, and what each is called once built -----------------------

# The string value of `key` in table `[section]` of a Cargo.toml (enough TOML for our manifests).
toml_value() {
    local manifest="$1" section="$2" key="$3"
    awk -v header="[$section]" -v key="$key" '
        /^[[:space:]]*\[/ { in_section = ($0 == header) ; next }
        in_section && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
            sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit
        }
    ' "$manifest"
}

# Prints "<package>\t<kind>\t<manifest dir>" for every component crate.
discover_components() {
    local manifest dir name kind
    while IFS= read -r manifest; do
        grep -q '^\[package\.metadata\.usvc\]' "$manifest" || continue
        dir="$(dirname "$manifest")"
        name="$(toml_value "$manifest" package name)"
        kind="$(toml_value "$manifest" package.metadata.usvc kind)"
        if [[ -z "$name" || -z "$kind" ]]; then
            log "$manifest: needs a package name and a kind in [package.metadata.usvc]"
            exit 1
        fi
        printf '%s\t%s\t%s\n' "$name" "$kind" "$dir"
    done < <(find components -name Cargo.toml -not -path '*/target/*' | sort)
}

# The file name a component is installed under.
artifact_name() {
    local package="$1" kind="$2"
    if [[ "$package" == "usvc-$kind" ]]; then
        printf '%s.wasm' "$kind"
    else
        printf '%s.wasm' "${package#usvc-}"
    fi
}

# --- Primary path: rustup's wasm32-wasip2 ----------------------------------------------------

ensure_wasip2_target() {
    command -v rustup >/dev/null 2>&1 || return 1
    if rustup target list --installed 2>/dev/null | grep -qx 'wasm32-wasip2'; then
        return 0
    fi
    log "installing the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
}

build_with_wasip2() {
    local -a package_args=()
    local package
    for package in "$@"; do package_args+=(-p "$package"); done
    cargo build --target wasm32-wasip2 --profile "$profile" "${package_args[@]}"
}

wasip2_artifact() {
    printf '%s/wasm32-wasip2/%s/%s.wasm' "$target_dir" "$profile" "${1//-/_}"
}

# --- Fallback path: Debian's rustc-web, build-std and wasm-tools -----------------------------

fallback_cargo=/usr/bin/cargo
fallback_linker=/usr/lib/llvm-22/bin/wasm-ld

fallback_packages=(rustc-web cargo-web rust-web-src lld-22)

ensure_fallback_toolchain() {
    local installed
    installed="$(dpkg-query -W -f='${db:Status-Status}\n' "${fallback_packages[@]}" 2>/dev/null \
        | grep -cx installed || true)"
    if ((installed != ${#fallback_packages[@]})); then
        log "installing Debian's rustc-web toolchain: ${fallback_packages[*]}"
        apt-get update
        apt-get install -y "${fallback_packages[@]}"
    fi
    if ! command -v wasm-tools >/dev/null 2>&1; then
        log "installing wasm-tools"
        cargo install --locked wasm-tools
    fi
}

build_with_fallback() {
    local -a package_args=()
    local package
    for package in "$@"; do package_args+=(-p "$package"); done
    # Debian's compiler is newer than the workspace's rust-version, and build-std is unstable
    # (RUSTC_BOOTSTRAP). The profile is passed explicitly so the same size settings apply.
    RUSTC_BOOTSTRAP=1 \
    RUSTC=/usr/bin/rustc \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$fallback_linker" \
        "$fallback_cargo" build --target wasm32-unknown-unknown --profile "$profile" \
        -Zbuild-std=std,panic_abort "${package_args[@]}"
}

# Wraps the core module into a component (its component type travels in a custom section
# that wit-bindgen emitted); only when the module is newer than the component.
fallback_artifact() {
    local package="$1"
    local module component
    module="$(printf '%s/wasm32-unknown-unknown/%s/%s.wasm' "$target_dir" "$profile" "${package//-/_}")"
    component="${module%.wasm}.component.wasm"
    if [[ ! -f "$component" || "$module" -nt "$component" ]]; then
        wasm-tools component new "$module" -o "$component"
    fi
    printf '%s' "$component"
}

# --- Main ------------------------------------------------------------------------------------

# Through a variable, so that a malformed manifest stops the script (set -e).
listing="$(discover_components)"
mapfile -t components <<<"$listing"
if [[ -z "$listing" ]]; then
    log "no crate under components/ has [package.metadata.usvc]"
    exit 1
fi

packages=()
for line in "${components[@]}"; do
    IFS=$'\t' read -r package _ _ <<<"$line"
    packages+=("$package")
done

# Two components installed under one name would silently replace each other.
duplicates="$(for line in "${components[@]}"; do
    IFS=$'\t' read -r package kind dir <<<"$line"
    artifact_name "$package" "$kind" "$dir"
    echo
done | sort | uniq -d)"
if [[ -n "$duplicates" ]]; then
    log "several component crates would be installed as: $duplicates"
    exit 1
fi

if [[ "${USVC_COMPONENTS_FALLBACK:-0}" != 1 ]] && ensure_wasip2_target; then
    path=wasip2
    build_with_wasip2 "${packages[@]}"
else
    log "the wasm32-wasip2 target is not available; using the Debian build-std fallback"
    path=fallback
    ensure_fallback_toolchain
    build_with_fallback "${packages[@]}"
fi

mkdir -p "$out_dir"
for line in "${components[@]}"; do
    IFS=$'\t' read -r package kind dir <<<"$line"
    if [[ "$path" == wasip2 ]]; then
        built="$(wasip2_artifact "$package")"
    else
        built="$(fallback_artifact "$package")"
    fi
    installed="$out_dir/$(artifact_name "$package" "$kind" "$dir")"
    # Copy only when changed, so an unchanged build leaves timestamps (and watchers) alone.
    if ! cmp -s "$built" "$installed"; then
        cp "$built" "$installed"
    fi
    printf '%-40s %8d bytes  (%s)\n' "$installed" "$(stat -c %s "$installed")" "$package"
done

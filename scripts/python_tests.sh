#!/usr/bin/env bash
# Builds the `vlmgym` Python package (python/: maturin + pyo3) into a virtual environment
# outside the repo and runs its tests (pytest python/tests): Gymnasium's env checker on
# every id, vector envs, rollouts equal to the Rust CLI's bit for bit, rendering, errors.
# The torch / Ray examples are opt-in: `scripts/python_tests.sh -m examples`.
#
#   scripts/python_tests.sh [PYTEST ARGS...]
#
# Environment: VLMGYM_PY_VENV (default ~/.cache/vlmgym/pyvenv), CARGO_TARGET_DIR (shared
# with the workspace build, so the Rust crates are not built twice).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VLMGYM_PY_VENV:-$HOME/.cache/vlmgym/pyvenv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" "gymnasium>=1.1" numpy "pytest>=7"
# The CLI the parity tests compare with, from the same sources.
cargo build --release --quiet --bin vlmgym
VIRTUAL_ENV=$VENV PATH=$VENV/bin:$PATH maturin develop --release --quiet -m python/Cargo.toml
VLMGYM=$CARGO_TARGET_DIR/release/vlmgym "$VENV/bin/python" -m pytest -q python/tests "$@"

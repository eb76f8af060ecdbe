#!/usr/bin/env bash
# Times CleanRL-style SAC updates in PyTorch on Pendulum-v1 (scripts/cleanrl_sac_bench.py),
# to compare with `vlmgym bench sac` on the same machine in the same session.
#
# Makes a virtual environment outside the repo (default /tmp/cleanrl-venv, override with
# CLEANRL_VENV) with torch, gymnasium and numpy from the package index, then runs the timing
# script. Arguments go to the script: --seconds S (default 10), --threads T (default 1; pass
# the same RAYON_NUM_THREADS to vlmgym for a like-for-like comparison).
#
#   bash scripts/cleanrl_sac_bench.sh --seconds 20 --threads 1
#   RAYON_NUM_THREADS=1 cargo run --release -- bench sac --seconds 20
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/peer_venv.sh"
peer_python "torch, gymnasium, numpy" torch gymnasium numpy
exec "$PEER_PYTHON" "$here/cleanrl_sac_bench.py" "$@"

#!/usr/bin/env bash
# Times open_clip's ViT-B/32 image tower in PyTorch (scripts/open_clip_bench.py), to compare
# with `vlmgym bench reward` on the same machine in the same session.
#
# Uses the same virtual environment as scripts/cleanrl_sac_bench.sh (default
# /tmp/cleanrl-venv, override with CLEANRL_VENV) and adds open-clip-torch to it. Arguments go
# to the script: --repeats R (default 3), --batch B (default 64), --threads T (default 2).
#
#   bash scripts/open_clip_bench.sh --threads 2
#   cargo run --release -- bench reward
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/peer_venv.sh"
peer_python "torch, numpy, open_clip" torch numpy open-clip-torch
exec "$PEER_PYTHON" "$here/open_clip_bench.py" "$@"

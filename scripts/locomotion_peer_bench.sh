#!/usr/bin/env bash
# Times Gymnasium's MuJoCo v5 bodies (scripts/locomotion_peer_bench.py), the peer of
# `vlmgym bench locomotion`, in the shared peer venv (default /tmp/cleanrl-venv, override
# with CLEANRL_VENV). Arguments go to the script: --seconds S (default 5).
#
#   taskset -c 1 bash scripts/locomotion_peer_bench.sh --seconds 5
#   taskset -c 1 vlmgym bench locomotion --seconds 5
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/peer_venv.sh"
peer_python "gymnasium, mujoco" "gymnasium[mujoco]" numpy
exec "$PEER_PYTHON" "$here/locomotion_peer_bench.py" "$@"

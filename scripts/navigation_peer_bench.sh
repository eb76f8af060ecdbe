#!/usr/bin/env bash
# Times MiniWorld's OneRoom and FourRooms with their 60 x 80 observations
# (scripts/navigation_peer_bench.py), the peer of `vlmgym bench navigation`, in its own venv
# outside the repo (default /tmp/miniworld-venv, override with MINIWORLD_VENV), under Xvfb
# (MiniWorld draws with OpenGL). Arguments go to the script: --seconds S (default 5).
#
#   taskset -c 1 bash scripts/navigation_peer_bench.sh --seconds 5
#   taskset -c 1 vlmgym bench navigation --seconds 5
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/peer_venv.sh"
CLEANRL_VENV=${MINIWORLD_VENV:-/tmp/miniworld-venv} peer_python "gymnasium, miniworld" miniworld
exec xvfb-run -a "$PEER_PYTHON" "$here/navigation_peer_bench.py" "$@"

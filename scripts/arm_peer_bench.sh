#!/usr/bin/env bash
# Times Gymnasium-Robotics' Fetch tasks on MuJoCo (scripts/arm_peer_bench.py), the peer of
# `vlmgym bench manipulation`, in the shared peer venv (default /tmp/cleanrl-venv, override
# with CLEANRL_VENV). Arguments go to the script: --seconds S (default 5).
#
#   taskset -c 1 bash scripts/arm_peer_bench.sh --seconds 5
#   taskset -c 1 cargo run --release -- bench manipulation --seconds 5
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/peer_venv.sh"
# gymnasium-robotics 1.4 fails its Fetch setup assertion with MuJoCo >= 3.3 here; 3.2.7 works.
peer_python "gymnasium, gymnasium_robotics, mujoco" gymnasium gymnasium-robotics "mujoco<3.3" numpy
exec "$PEER_PYTHON" "$here/arm_peer_bench.py" "$@"

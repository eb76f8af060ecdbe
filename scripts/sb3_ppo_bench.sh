#!/usr/bin/env bash
# Times Stable-Baselines3's PPO on CartPole-v1 (scripts/sb3_ppo_bench.py) with the settings of
# `vlmgym bench ppo`, on the same machine in the same session.
#
# Uses the same virtual environment as scripts/cleanrl_sac_bench.sh (default
# /tmp/cleanrl-venv, override with CLEANRL_VENV) and adds stable-baselines3 to it. Arguments
# go to the script: --seconds S (default 10), --threads T (default 1).
#
#   bash scripts/sb3_ppo_bench.sh --seconds 20
#   cargo run --release -- bench ppo --seconds 20
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/peer_venv.sh"
peer_python "torch, gymnasium, stable_baselines3" torch gymnasium numpy stable-baselines3
exec "$PEER_PYTHON" "$here/sb3_ppo_bench.py" "$@"

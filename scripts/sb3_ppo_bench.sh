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
venv="${CLEANRL_VENV:-/tmp/cleanrl-venv}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! "$venv/bin/python" -c "import torch, gymnasium" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch gymnasium numpy
fi
if ! "$venv/bin/python" -c "import stable_baselines3" 2>/dev/null; then
    "$venv/bin/pip" install --quiet stable-baselines3
fi
exec "$venv/bin/python" "$here/sb3_ppo_bench.py" "$@"

#!/usr/bin/env bash
# Issue 23's comparison in one run on this machine: vlmgym's PPO training, vector envs and
# CLIP image tower against their peers, Stable-Baselines3 (PyTorch) PPO with the same settings
# and open_clip's ViT-B/32 (PyTorch). Installs the peers into the venv of scripts/peer_venv.sh
# (outside the repo), runs everything one after the other (run it on a quiet machine), keeps
# every JSON in --out and prints a Markdown table of the ratios.
#
#   scripts/core_loops_bench.sh [--seconds S] [--out DIR]      (VLMGYM=path picks the binary)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
seconds=5
out=runs/core_loops_bench
while [[ $# -gt 0 ]]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "unknown argument $1 (use --seconds S, --out DIR)" >&2; exit 2 ;;
    esac
done
cd "$here/.."
B=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
[[ -x $B ]] || cargo build --release
source "$here/peer_venv.sh"
peer_python "torch, numpy, gymnasium, stable_baselines3, open_clip" torch numpy gymnasium stable-baselines3 open-clip-torch
mkdir -p "$out"
echo "vlmgym: $B; peers: $PEER_PYTHON; JSON in $out" >&2
"$B" bench classic --seconds "$seconds" > "$out/classic.json"
"$B" bench driving --seconds "$seconds" > "$out/driving.json"
ppo_seconds=$(( seconds > 15 ? seconds : 15 ))
"$B" bench ppo --seconds "$ppo_seconds" > "$out/ppo.json"
for t in 1 2; do
    "$PEER_PYTHON" "$here/sb3_ppo_bench.py" --seconds "$ppo_seconds" --threads $t > "$out/sb3_ppo_$t.json"
done
"$B" bench reward --seconds "$seconds" > "$out/reward.json"
"$PEER_PYTHON" "$here/open_clip_bench.py" --threads 2 > "$out/open_clip.json"
python3 "$here/core_loops_table.py" "$out"

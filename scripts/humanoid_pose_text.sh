#!/usr/bin/env bash
# HumanoidPose-v0 from a text goal (issue 20): PPO (assets/configs/ppo/mujoco.toml, 500,000
# steps) on VLM-RMs' reward for GOAL against the baseline "a humanoid robot", with the
# humanoid tower, the env's `pose` kwarg set to FACT so that evaluation counts that fact.
# Each seed trains in $RUNS/NAME_text_SEED (resumed when cut off), is evaluated on 10
# deterministic episodes (eval.json: the return counts the steps the fact holds) and by
# scripts/pose_last_frames.sh (eval_last20.json), and its small
# files go to $KEEP/NAME_text_SEED.
#
#   scripts/humanoid_pose_text.sh lotus pose.lotus "a humanoid robot sitting in the lotus position" 1 2 3
#
# Environment: VLMGYM (the binary), RUNS (default runs/poses), KEEP (default
# docs/runs/locomotion), STEPS (default 500000), KWARGS (space-separated KEY=VALUE env
# kwargs for a new run, e.g. "solver_iterations=1 pgs_iterations=8"; a resumed or evaluated
# run reads them from its config.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/run_lib.sh

V=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
RUNS=${RUNS:-runs/poses}
KEEP=${KEEP:-docs/runs/locomotion}
[[ $# -ge 4 ]] || { echo "usage: $0 NAME FACT GOAL SEED..." >&2; exit 2; }
name=$1 fact=$2 goal=$3
shift 3
kwargs=()
for kv in ${KWARGS:-}; do
    kwargs+=(--kwarg "$kv")
done
for seed in "$@"; do
    run=${name}_text_$seed
    kept "$run" && continue
    dir=$RUNS/$run
    mkdir -p "$RUNS"
    if [[ -d $dir/checkpoints ]]; then
        "$V" train --out "$dir" --resume
    else
        "$V" train --env HumanoidPose-v0 --kwarg pose="$fact" --reward vlmrm --goal "$goal" \
            --baseline "a humanoid robot" --tower assets/models/simlit_humanoid_tower.safetensors "${kwargs[@]}" \
            --config assets/configs/ppo/mujoco.toml --steps "${STEPS:-500000}" --seed "$seed" --out "$dir"
    fi
    "$V" eval --checkpoint "$dir" --episodes 10 --deterministic >"$dir/eval.json"
    VLMGYM=$V scripts/pose_last_frames.sh "$dir" 10 >"$dir/eval_last20.json"
    keep "$run"
done

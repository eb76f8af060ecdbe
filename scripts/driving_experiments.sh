#!/usr/bin/env bash
# The Driving-from-a-text-goal experiment (VLM-RL's, on vlmgym): PPO on Driving-v0 with the
# same config and step budget for every reward, 3 seeds each.
#
#   loop map:  gt (the env's own VLM-RL reward, r_sem = 1), clg (contrasting goals through
#              driving_vlmrl), vlmrm (goal-baseline projection), semantic (the score alone)
#   town map:  gt and clg
#
# Every run trains in $RUNS/NAME (checkpoints every 10 updates; a run that was cut off
# resumes from its last checkpoint when the script is run again), is evaluated with 20
# deterministic episodes, and its small files (config.toml, metrics.csv, eval.json,
# curves.png) are copied to $KEEP/NAME, which marks it done. Text-goal runs also get
# eval_visited.json (`eval --score-visited`: their reward's scores of the states the agent
# visits). Town-trained agents are also evaluated, without retraining, on the country map
# and on town with twice the traffic.
#
#   scripts/driving_experiments.sh                # every run, in table order
#   scripts/driving_experiments.sh loop_gt_1 ...  # just these
#
# Environment: VLMGYM (the binary), TOWER (the image tower, default the shipped one),
# WINDOW (CLG window, from `vlmgym reward-check`'s calibration of that tower), RUNS, KEEP.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/run_lib.sh

V=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
RUNS=${RUNS:-runs/driving}
KEEP=${KEEP:-docs/runs/driving}
TOWER=${TOWER:-assets/models/simlit_tower.safetensors}
WINDOW=${WINDOW:-0.03}
CONFIG=assets/configs/ppo/driving.toml
GOAL="the car drives in the centre of its lane"
NEGATIVE="the car has crashed"
BASELINE="a car on a road"

# The arguments of `vlmgym train` for a run name MAP_REWARD_SEED.
train_args() {
    local map=$1 reward=$2 seed=$3
    local args=(--env Driving-v0 --kwarg "map=\"$map\"" --seed "$seed" --config "$CONFIG")
    case $reward in
        gt) ;;
        clg) args+=(--reward clg --goal "$GOAL" --negative "$NEGATIVE" --window "$WINDOW" --tower "$TOWER") ;;
        vlmrm) args+=(--reward vlmrm --goal "$GOAL" --baseline "$BASELINE" --alpha 0.5 --tower "$TOWER") ;;
        semantic) args+=(--reward semantic --goal "$GOAL" --negative "$NEGATIVE" --window "$WINDOW" --tower "$TOWER") ;;
        *) echo "unknown reward $reward" >&2; return 1 ;;
    esac
    printf '%s\n' "${args[@]}"
}

run() {
    local name=$1
    IFS=_ read -r map reward seed <<<"$name"
    kept "$name" && return
    mapfile -t args < <(train_args "$map" "$reward" "$seed")
    train_and_eval "$name" "${args[@]}"
    local dir=$RUNS/$name
    if [[ $reward != gt ]]; then
        # What the run's own language reward says of the states its agent visits.
        "$V" eval --checkpoint "$dir" --episodes 20 --deterministic --score-visited >"$dir/eval_visited.json"
    fi
    if [[ $map == town ]]; then
        "$V" eval --checkpoint "$dir" --episodes 20 --deterministic --kwarg 'map="country"' >"$dir/eval_country.json"
        "$V" eval --checkpoint "$dir" --episodes 20 --deterministic --kwarg 'npcs=40' >"$dir/eval_town_2x_traffic.json"
    fi
    keep "$name"
}

if [[ $# -gt 0 ]]; then
    names=("$@")
else
    names=()
    for seed in 1 2 3; do
        for r in gt clg vlmrm semantic; do names+=("loop_${r}_$seed"); done
        for r in gt clg; do names+=("town_${r}_$seed"); done
    done
fi
for name in "${names[@]}"; do
    run "$name"
done

#!/usr/bin/env bash
# Ground-truth PPO on the locomotion bodies (issue 20): CleanRL's MuJoCo settings
# (assets/configs/ppo/mujoco.toml, 1M steps), 3 seeds per body.
#
#   ant_gt_S, cheetah_gt_S, hopper_gt_S, walker_gt_S
#   hopper_g995_S: the hopper with assets/configs/ppo/hopper_gamma995.toml (gamma 0.995)
#
# Every run trains in $RUNS/NAME (a run that was cut off resumes from its last checkpoint
# when the script is run again), is evaluated with 20 deterministic episodes (eval.json:
# returns, lengths, and the mean of info's x_velocity), and its small files are copied to
# $KEEP/NAME, which marks it done.
#
#   scripts/locomotion_experiments.sh                  # every run
#   scripts/locomotion_experiments.sh cheetah_gt_1     # just these
#
# Environment: VLMGYM (the binary), RUNS, KEEP.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/run_lib.sh

V=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
RUNS=${RUNS:-runs/loco}
KEEP=${KEEP:-docs/runs/locomotion}

run() {
    local name=$1
    IFS=_ read -r body reward seed <<<"$name"
    kept "$name" && return
    local env
    case $body in
        ant) env=Ant-v0 ;;
        cheetah) env=HalfCheetah-v0 ;;
        hopper) env=Hopper-v0 ;;
        walker) env=Walker2d-v0 ;;
        *) echo "unknown body in $name" >&2; return 1 ;;
    esac
    local config
    case $reward in
        gt) config=assets/configs/ppo/mujoco.toml ;;
        g995) config=assets/configs/ppo/hopper_gamma995.toml ;;
        *) echo "unknown reward in $name" >&2; return 1 ;;
    esac
    train_and_eval "$name" --env "$env" --seed "$seed" --config "$config"
    keep "$name"
}

if [[ $# -gt 0 ]]; then
    names=("$@")
else
    names=()
    for seed in 1 2 3; do
        for b in cheetah ant hopper walker; do names+=("${b}_gt_$seed"); done
    done
fi
for name in "${names[@]}"; do
    run "$name"
done

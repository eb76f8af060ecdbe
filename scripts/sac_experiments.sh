#!/usr/bin/env bash
# SAC against PPO at the same step budget (issue 18): Pendulum-v1 (SAC only, CleanRL's
# settings), MountainCarContinuous-v0 (both, 100k steps) and Driving-v0 on the loop map with
# its ground-truth reward (SAC here; PPO's runs are the Driving experiment's loop_gt_*).
#
# Run names are ALGO_ENV_SEED (env: pendulum, mcc, driving). Each run trains in $RUNS/NAME
# (a cut-off run resumes from its last checkpoint), is evaluated with 20 deterministic
# episodes, and its small files (config.toml, metrics.csv, eval.json, curves.png) are
# copied to $KEEP/NAME, which marks it done.
#
#   scripts/sac_experiments.sh                    # every run
#   scripts/sac_experiments.sh sac_mcc_1 ...      # just these
#
# Environment: VLMGYM (the binary), RUNS, KEEP.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/run_lib.sh

V=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
RUNS=${RUNS:-runs/sac}
KEEP=${KEEP:-docs/runs/sac}

run() {
    local name=$1
    IFS=_ read -r algo env seed <<<"$name"
    kept "$name" && return
    local args
    case $env in
        pendulum) args=(--env Pendulum-v1) ;;
        mcc) args=(--env MountainCarContinuous-v0) ;;
        driving) args=(--env Driving-v0 --kwarg 'map="loop"') ;;
        *) echo "unknown env $env" >&2; return 1 ;;
    esac
    [[ $algo == sac ]] && args+=(--algo sac)
    train_and_eval "$name" "${args[@]}" --seed "$seed" --config "assets/configs/$algo/${env/mcc/mountaincar_continuous}.toml"
    keep "$name"
}

if [[ $# -gt 0 ]]; then
    names=("$@")
else
    names=()
    for seed in 1 2 3; do names+=("sac_pendulum_$seed"); done
    for seed in 1 2 3; do names+=("sac_mcc_$seed" "ppo_mcc_$seed"); done
    for seed in 1 2 3; do names+=("sac_driving_$seed"); done
fi
for name in "${names[@]}"; do
    run "$name"
done

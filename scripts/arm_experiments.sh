#!/usr/bin/env bash
# ArmPushCube-v0 with PPO, ground truth against a text goal (issue 19): the same config,
# env settings and step budget for every reward, 3 seeds each.
#
#   push_gt_S    the env's normalised dense reward (ManiSkill3's PushCube terms, / 3)
#   push_clg_S   contrasting goals ("the red cube sits on the green target" vs "the cube is
#                far from the target") through the env's synthesis config (manipulation_push)
#   push_heldout_S  the same, in the words of pair S of assets/goals/heldout/arm_push.toml
#                (written before any arm tower was judged; never tuned on)
#   push_dev_S   the same, in the words of pair S - 10 of assets/goals/dev/arm_push.toml
#                (S from 11: development seeds and words, where reward settings are chosen)
#
# Episodes run their 50 steps (`terminate_on_success=false`): with gamma 0.8, ending on
# success pays less than parking next to the cube (docs/results.md, fifth session).
# Every run trains in $RUNS/NAME (a run that was cut off resumes from its last checkpoint
# when the script is run again), is evaluated with 100 deterministic episodes, and its small
# files (config.toml, metrics.csv, eval.json, curves.png) are copied to $KEEP/NAME, which
# marks it done. Text-goal runs also get eval_visited.json (their reward's scores of the
# states the agent visits).
#
#   scripts/arm_experiments.sh                      # every run
#   scripts/arm_experiments.sh push_gt_1 ...        # just these
#
# Environment: VLMGYM (the binary), TOWER (the image tower, default the shipped one),
# WINDOW (CLG window, from `vlmgym reward-check`'s calibration of that tower), PLACE=1
# (instead of WINDOW: `train --place-window`, the window placed on the contrasts of sampled
# states), REWARD_CONFIG (the synthesis config of text-goal runs, a built-in name or a TOML
# file; default the env's, manipulation_push), STEPS (the budget; default the config's),
# CONFIG (the PPO config, default arm_push.toml), RUNS, KEEP.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/run_lib.sh

V=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
RUNS=${RUNS:-runs/arm}
KEEP=${KEEP:-docs/runs/arm}
TOWER=${TOWER:-assets/models/simlit_tower.safetensors}
WINDOW=${WINDOW:-0.05}
CONFIG=${CONFIG:-assets/configs/ppo/arm_push.toml}
GOAL="the red cube sits on the green target"
NEGATIVE="the cube is far from the target"
HELDOUT=assets/goals/heldout/arm_push.toml
DEV=assets/goals/dev/arm_push.toml

run() {
    local name=$1 dir=$RUNS/$1
    IFS=_ read -r task reward seed <<<"$name"
    [[ $task == push ]] || { echo "unknown task in $name" >&2; return 1; }
    kept "$name" && return
    local args=(--env ArmPushCube-v0 --kwarg terminate_on_success=false --seed "$seed" --config "$CONFIG")
    [[ -n ${STEPS:-} ]] && args+=(--steps "$STEPS")
    case $reward in
        gt) ;;
        clg | heldout | dev)
            local goal=$GOAL negative=$NEGATIVE gn
            if [[ $reward == heldout ]]; then
                mapfile -t gn < <(goal_pair "$HELDOUT" "$seed")
                goal=${gn[0]} negative=${gn[1]}
            elif [[ $reward == dev ]]; then
                ((seed > 10)) || { echo "development runs take seeds from 11 ($name)" >&2; return 1; }
                mapfile -t gn < <(goal_pair "$DEV" $((seed - 10)))
                goal=${gn[0]} negative=${gn[1]}
            fi
            args+=(--reward clg --goal "$goal" --negative "$negative" --tower "$TOWER")
            [[ -n ${REWARD_CONFIG:-} ]] && args+=(--reward-config "$REWARD_CONFIG")
            if [[ ${PLACE:-0} == 1 ]]; then args+=(--place-window); else args+=(--window "$WINDOW"); fi
            ;;
        *) echo "unknown reward $reward" >&2; return 1 ;;
    esac
    EPISODES=100 train_and_eval "$name" "${args[@]}"
    if [[ $reward != gt ]]; then
        "$V" eval --checkpoint "$dir" --episodes 20 --deterministic --score-visited >"$dir/eval_visited.json"
    fi
    keep "$name"
}

if [[ $# -gt 0 ]]; then
    names=("$@")
else
    names=()
    for seed in 1 2 3; do names+=("push_gt_$seed" "push_clg_$seed"); done
fi
for name in "${names[@]}"; do
    run "$name"
done

#!/usr/bin/env bash
# Judges an image tower the way the reward-model issues measure it, on seeds no tower
# trained on (1M, 2M, 3M; 600 states each): the goal pairs the earlier issues named, and
# every held-out goal file (assets/goals/heldout/*.toml). Reports go to OUT/checks and
# OUT/heldout; a summary table (AUC per seed and mean) is printed and written to
# OUT/summary.md.
#
#   scripts/tower_report.sh TOWER OUT
#
# Environment: VLMGYM (the binary; default the release build), CHECK_ARGS (more
# reward-check options, e.g. --no-text-head to judge the tower without its text head).
set -euo pipefail
cd "$(dirname "$0")/.."
TOWER=${1:?usage: tower_report.sh TOWER OUT}
OUT=${2:?usage: tower_report.sh TOWER OUT}
V=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
read -r -a EXTRA <<<"${CHECK_ARGS:-}"
SEEDS=(1000000 2000000 3000000)
mkdir -p "$OUT/checks" "$OUT/heldout"

# name env goal negative
PAIRS=(
    "dr|Driving-v0|the car drives in the centre of its lane|the car has crashed"
    "un|Driving-v0|an automobile proceeding smoothly, keeping to its own side|a wrecked automobile after an accident"
    "cp|CartPole-v1|the pole is balanced upright on the cart|the pole has fallen over"
)
# Towers trained on arm frames are also judged on the push (ARM=1, or automatically when
# the tower's report names ArmPushCube-v0).
if [[ ${ARM:-} == 1 ]] || grep -q ArmPushCube-v0 "${TOWER%.safetensors}.json" 2>/dev/null; then
    PAIRS+=(
        "arm|ArmPushCube-v0|the red cube sits on the green target|the cube is far from the target"
        "armun|ArmPushCube-v0|the block has been pushed into the green circle|the block is nowhere near the green circle"
    )
    HELDOUT_ARM=1
fi
# Towers trained on humanoid frames: VLM-RMs' kneeling goal against its baseline (issue
# 20), and the same goal in words the captions never use.
if grep -q HumanoidPose-v0 "${TOWER%.safetensors}.json" 2>/dev/null; then
    PAIRS+=(
        "hk|HumanoidPose-v0|a humanoid robot kneeling|baseline:a humanoid robot"
        "hkun|HumanoidPose-v0|a person kneeling on the ground|baseline:a humanoid robot"
    )
fi
# Towers trained on navigation frames: issue 21's pair from the robot's ego camera on plans
# no dataset drew, and the same pair in words the captions never use (chosen before any
# training on navigation frames).
if grep -q NavGoTo-v0 "${TOWER%.safetensors}.json" 2>/dev/null; then
    PAIRS+=(
        "nav|NavGoTo-v0|the red ball is right in front of the robot|no red ball is in view"
        "navun|NavGoTo-v0|the camera looks straight at a red sphere|there is no red sphere anywhere in sight"
    )
    HELDOUT_NAV=1
fi
for p in "${PAIRS[@]}"; do
    IFS='|' read -r name env goal negative <<<"$p"
    if [[ $negative == baseline:* ]]; then
        against=(--baseline "${negative#baseline:}")
    else
        against=(--negative "$negative")
    fi
    for s in "${SEEDS[@]}"; do
        "$V" reward-check "$env" --goal "$goal" "${against[@]}" --tower "$TOWER" --seed "$s" \
            --samples 600 "${EXTRA[@]}" --out "$OUT/checks/${name}_$s" >"$OUT/checks/${name}_$s.json"
    done
done
FILES=(driving:Driving-v0 cartpole:CartPole-v1 mountaincar:MountainCar-v0)
[[ -n ${HELDOUT_ARM:-} ]] && FILES+=(arm_push:ArmPushCube-v0)
[[ -n ${HELDOUT_NAV:-} ]] && FILES+=(navigation:NavGoTo-v0)
for f in "${FILES[@]}"; do
    file=${f%%:*} env=${f#*:}
    for s in "${SEEDS[@]}"; do
        "$V" reward-check "$env" --goals "assets/goals/heldout/$file.toml" --tower "$TOWER" --seed "$s" \
            --samples 600 "${EXTRA[@]}" --out "$OUT/heldout/${file}_$s" >/dev/null
    done
done
python3 - "$OUT" <<'PY'
import json, sys, statistics as st
out = sys.argv[1]
seeds = [1000000, 2000000, 3000000]
rows = ["| check | seed 1M | 2M | 3M | mean |", "|---|---|---|---|---|"]
import os
checks = [("dr", "Driving, named pair"), ("un", "Driving, unseen wording"), ("cp", "CartPole, named pair"),
          ("arm", "ArmPushCube, named pair"), ("armun", "ArmPushCube, unseen wording"),
          ("hk", "HumanoidPose kneeling vs baseline"), ("hkun", "HumanoidPose kneeling, unseen wording"),
          ("nav", "NavGoTo, named pair"), ("navun", "NavGoTo, unseen wording")]
for name, label in checks:
    if not os.path.exists(f"{out}/checks/{name}_{seeds[0]}.json"):
        continue
    a = [json.load(open(f"{out}/checks/{name}_{s}.json"))["auc"] for s in seeds]
    rows.append(f"| {label} AUC | " + " | ".join(f"{x:.3f}" for x in a) + f" | {st.mean(a):.3f} |")
for file in ["driving", "cartpole", "mountaincar", "arm_push", "navigation"]:
    if not os.path.exists(f"{out}/heldout/{file}_{seeds[0]}/goals_report.json"):
        continue
    r = [json.load(open(f"{out}/heldout/{file}_{s}/goals_report.json")) for s in seeds]
    for key, label in [("mean_auc", "mean"), ("worst_auc", "worst pair")]:
        a = [x[key] for x in r]
        rows.append(f"| held-out {file}, {label} | " + " | ".join(f"{x:.3f}" for x in a) + f" | {st.mean(a):.3f} |")
text = "\n".join(rows) + "\n"
open(f"{out}/summary.md", "w").write(text)
print(text)
PY

#!/usr/bin/env bash
# Text-goal agents trained on goal wordings nobody tuned to: seed k uses the k-th pair of a
# held-out goal file (assets/goals/heldout/*.toml), so the three seeds also read three
# different wordings. Each pair's CLG window is the one `reward-check` recommends for it
# on seed 1M (the calibration a user runs before training). Ground-truth agents train with
# the same config, seeds and budget. Every run is evaluated with 20 deterministic episodes.
#
#   scripts/heldout_text_goal.sh ENV GOALS_FILE PPO_CONFIG OUT [STEPS]
#   scripts/heldout_text_goal.sh CartPole-v1 assets/goals/heldout/cartpole.toml \
#       assets/configs/ppo/cartpole_text.toml runs/cp_heldout
#
# Environment: VLMGYM (the binary), TOWER (default: the shipped tower), REWARD_CONFIG (the
# text-goal runs' synthesis config; default: the env's), KIND:
#   clg    (the default) CLG with the window reward-check recommends from labelled states;
#   range  CLG with the offset and window reward-check reports under `range`: a ramp across
#          the middle 98% of the sampled states' contrasts, from no labels;
#   vlmrm  VLM-RMs' projection with each pair's negative as the baseline, ALPHA default 1,
#          nothing to calibrate.
#
#   KIND=range REWARD_CONFIG=mountaincar_continuous_shaped scripts/heldout_text_goal.sh \
#       MountainCarContinuous-v0 assets/goals/heldout/mountaincar.toml \
#       assets/configs/ppo/mountaincar_continuous.toml runs/mcc_heldout
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/run_lib.sh
ENV=${1:?usage: heldout_text_goal.sh ENV GOALS_FILE PPO_CONFIG OUT [STEPS]}
GOALS=${2:?goal file}
CONFIG=${3:?PPO config}
OUT=${4:?output folder}
STEPS=${5:-}
V=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
TOWER=${TOWER:-assets/models/simlit_tower.safetensors}
steps=()
[[ -n $STEPS ]] && steps=(--steps "$STEPS")
config=()
[[ -n ${REWARD_CONFIG:-} ]] && config=(--reward-config "$REWARD_CONFIG")
KIND=${KIND:-clg}
[[ $KIND == clg || $KIND == range || $KIND == vlmrm ]] || { echo "KIND must be clg, range or vlmrm, not $KIND" >&2; exit 2; }
mkdir -p "$OUT"

for seed in 1 2 3; do
    mapfile -t gn < <(goal_pair "$GOALS" "$seed")
    goal=${gn[0]} negative=${gn[1]}
    text=$OUT/text_$seed gt=$OUT/gt_$seed
    if [[ ! -f $text/eval.json ]]; then
        if [[ $KIND == vlmrm ]]; then
            reward=(--reward vlmrm --goal "$goal" --baseline "$negative" --alpha "${ALPHA:-1}")
        else
            "$V" reward-check "$ENV" --goal "$goal" --negative "$negative" --tower "$TOWER" --seed 1000000 \
                --samples 600 --out "$text.check" >"$text.check.json"
            if [[ $KIND == range ]]; then
                read -r offset window < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['range'] or {}; print(r.get('offset'), r.get('window'))" "$text.check.json")
            else
                offset=0
                window=$(python3 -c "import json,sys; print((json.load(open(sys.argv[1]))['calibration'] or {}).get('window'))" "$text.check.json")
            fi
            if [[ $window == None ]]; then
                echo "seed $seed: reward-check gives no CLG window for this pair ($text.check.json says why); stopping" >&2
                exit 1
            fi
            reward=(--reward clg --goal "$goal" --negative "$negative" --window "$window" --offset "$offset")
        fi
        "$V" train --env "$ENV" --seed "$seed" --config "$CONFIG" "${steps[@]}" "${reward[@]}" \
            --tower "$TOWER" "${config[@]}" --out "$text"
        "$V" eval --checkpoint "$text" --episodes 20 --deterministic >"$text/eval.json"
    fi
    if [[ ! -f $gt/eval.json ]]; then
        "$V" train --env "$ENV" --seed "$seed" --config "$CONFIG" "${steps[@]}" --out "$gt"
        "$V" eval --checkpoint "$gt" --episodes 20 --deterministic >"$gt/eval.json"
    fi
done
python3 - "$OUT" <<'PY'
import json, sys, statistics as st, tomllib
out = sys.argv[1]
rows = ["| seed | goal / negative | text goal: return, success | ground truth: return, success |", "|---|---|---|---|"]
t_ret, g_ret, t_suc, g_suc = [], [], [], []
for seed in (1, 2, 3):
    t = json.load(open(f"{out}/text_{seed}/eval.json")); g = json.load(open(f"{out}/gt_{seed}/eval.json"))
    r = tomllib.loads(open(f"{out}/text_{seed}/config.toml").read())["reward"]
    fmt = lambda e: f"{e['mean_return']:.1f} +- {e['std_return']:.1f}, " + ("-" if e["success_rate"] is None else f"{100 * e['success_rate']:.0f}%")
    how = f"\"{r['negative']}\" (w {r['window']:.3f}" + (f", offset {r['offset']:.3f})" if r.get("offset") else ")") if r["kind"] == "clg" else f"baseline \"{r['baseline']}\" (VLM-RM, alpha {r['alpha']})"
    rows.append(f"| {seed} | \"{r['goal']}\" / {how} | {fmt(t)} | {fmt(g)} |")
    t_ret.append(t["mean_return"]); g_ret.append(g["mean_return"])
    t_suc.append(t["success_rate"]); g_suc.append(g["success_rate"])
line = f"| mean | | {st.mean(t_ret):.1f}"
if None not in t_suc:
    line += f", {100 * st.mean(t_suc):.0f}%"
line += f" | {st.mean(g_ret):.1f}"
if None not in g_suc:
    line += f", {100 * st.mean(g_suc):.0f}%"
rows.append(line + " |")
text = "\n".join(rows) + "\n"
open(f"{out}/summary.md", "w").write(text)
print(text)
PY

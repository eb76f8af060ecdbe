#!/usr/bin/env bash
# Measures every "Done when" line of the CPU-rasteriser issue in one run, on a quiet machine
# (pause other jobs first): the renderers' frames/s, end-to-end text-goal PPO on Driving, the
# tower's frames/s, the shipped tower's reward checks on seeds no tower trained on, and
# CartPole from the text goal against ground truth at the same budget (3 seeds each).
# Everything lands in OUT (JSON per measurement, the runs' small files) and a summary table
# is printed and written to OUT/summary.md.
#
#   scripts/rasteriser_targets.sh OUT
#
# Environment: VLMGYM (the binary; default the release build), SECONDS_PER (seconds per
# bench measurement, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/run_lib.sh
OUT=${1:?usage: rasteriser_targets.sh OUT}
V=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
SECS=${SECONDS_PER:-3}
mkdir -p "$OUT/checks"

"$V" bench render --sizes 112 --envs 8,32 --seconds "$SECS" >"$OUT/render.json"
"$V" bench e2e --renderer raster --seconds "$SECS" >"$OUT/e2e.json"
"$V" bench reward --seconds "$SECS" >"$OUT/reward.json"

# The shipped tower (the reward-check default) on the pairs the issue names.
PAIRS=(
    "dr|Driving-v0|the car drives in the centre of its lane|the car has crashed"
    "un|Driving-v0|an automobile proceeding smoothly, keeping to its own side|a wrecked automobile after an accident"
    "cp|CartPole-v1|the pole is balanced upright on the cart|the pole has fallen over"
)
for p in "${PAIRS[@]}"; do
    IFS='|' read -r name env goal negative <<<"$p"
    for s in 1000000 2000000 3000000; do
        "$V" reward-check "$env" --goal "$goal" --negative "$negative" --seed "$s" --samples 600 \
            --out "$OUT/checks/${name}_$s" >"$OUT/checks/${name}_$s.json"
    done
done

# CartPole from the text goal (the README's window) and from the env's reward, same budget.
RUNS=${RUNS:-runs/rasteriser_targets} KEEP=$OUT/cartpole
for s in 1 2 3; do
    kept "cp_text_$s" || {
        train_and_eval "cp_text_$s" --env CartPole-v1 --seed "$s" --config assets/configs/ppo/cartpole_text.toml \
            --reward clg --goal "the pole is balanced upright on the cart" --negative "the pole has fallen over" \
            --window 0.15
        keep "cp_text_$s"
    }
    kept "cp_gt_$s" || {
        train_and_eval "cp_gt_$s" --env CartPole-v1 --seed "$s" --config assets/configs/ppo/cartpole_text.toml
        keep "cp_gt_$s"
    }
done

python3 - "$OUT" <<'PY'
import json, sys, statistics as st
out = sys.argv[1]
rows = ["| line | figure | target |", "|---|---|---|"]
render = json.load(open(f"{out}/render.json"))["results"]
for env, cam, target in [("Driving-v0", "bev", 10000), ("CartPole-v1", "side", 10000), ("Driving-v0", "chase", None)]:
    for kind in ["raster", "bevy"]:
        f = {m["num_envs"]: m["frames_per_sec"] for m in render
             if m["env_id"] == env and m["camera"] == cam and m["renderer"] == kind and m["width"] == 112}
        if f:
            t = f">= {target:,} (raster)" if target and kind == "raster" else "reported"
            rows.append(f"| {kind} {env} `{cam}` 112 px, 8 / 32 envs (frames/s) | "
                        f"{f.get(8, 0):,.0f} / {f.get(32, 0):,.0f} | {t} |")
e2e = json.load(open(f"{out}/e2e.json"))["results"][0]
split = ", ".join(f"{k} {e2e[k + '_s']:.2f} s" for k in ("ppo", "render", "physics", "score"))
rows.append(f"| bench e2e, {e2e['steps']:,} steps (env steps/s; split) | {e2e['steps_per_sec']:,.0f} ({split}) | >= 1,000 |")
reward = json.load(open(f"{out}/reward.json"))
for m in reward["results"]:
    b = m.get("bench", m)
    kernel = f", {m['kernel']}" if m.get("kernel") else ""
    rows.append(f"| bench reward: {m['model']}{kernel}, batch {b['batch']} (frames/s) | {b['frames_per_second']:,.1f} | "
                + (">= 3,000" if "simlit" in m["model"] else "reported") + " |")
for name, label, target in [("dr", "Driving named pair AUC", ">= 0.95"), ("un", "Driving unseen wording AUC", ">= 0.85"),
                            ("cp", "CartPole named pair AUC", ">= 0.99")]:
    a = [json.load(open(f"{out}/checks/{name}_{s}.json"))["auc"] for s in (1000000, 2000000, 3000000)]
    rows.append(f"| {label}, seeds 1M / 2M / 3M (mean) | " + " / ".join(f"{x:.3f}" for x in a)
                + f" ({st.mean(a):.3f}) | {target} |")
ret = {k: [json.load(open(f"{out}/cartpole/cp_{k}_{s}/eval.json"))["mean_return"] for s in (1, 2, 3)]
       for k in ("text", "gt")}
ratio = st.mean(ret["text"]) / st.mean(ret["gt"])
rows.append("| CartPole text goal / ground truth, seeds 1-3 (mean return) | "
            + " / ".join(f"{x:.1f}" for x in ret["text"]) + f" vs " + " / ".join(f"{x:.1f}" for x in ret["gt"])
            + f": {100 * ratio:.0f}% | >= 80% |")
text = "\n".join(rows) + "\n"
open(f"{out}/summary.md", "w").write(text)
print(text)
PY

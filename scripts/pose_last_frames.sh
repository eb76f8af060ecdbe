#!/usr/bin/env bash
# HumanoidPose-v0 evaluation by issue 20's rule: the fraction of the last 20 frames of each
# evaluation episode in which the goal's pose fact holds (info.success), over EPISODES
# deterministic episodes (seeds 1,000,000 + i), printed as JSON.
#
#   scripts/pose_last_frames.sh RUN_DIR [EPISODES, default 10]
set -euo pipefail
V=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
run=$1
episodes=${2:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < episodes; i++)); do
    "$V" eval --checkpoint "$run" --episodes 1 --deterministic --seed $((1000000 + i)) \
        --trace "$tmp/ep_$i.jsonl" >/dev/null
done
python3 - "$tmp" "$episodes" <<'PY'
import json, sys
folder, n = sys.argv[1], int(sys.argv[2])
fractions = []
for i in range(n):
    steps = [json.loads(l) for l in open(f"{folder}/ep_{i}.jsonl")]
    last = steps[-20:]
    fractions.append(sum(bool(s["info"].get("success")) for s in last) / len(last))
print(json.dumps({"episodes": n, "last20_fraction": fractions,
                  "mean_last20_fraction": sum(fractions) / n,
                  "episodes_at_least_half": sum(f >= 0.5 for f in fractions) / n}))
PY

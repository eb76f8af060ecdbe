"""Prints the Markdown table of scripts/core_loops_bench.sh from the JSON files it kept in DIR:
issue 23's three comparisons (PPO against Stable-Baselines3, threaded against sync vector
envs, CLIP against open_clip), each a ratio with the figures it comes from.

Written for this repo. Usage: python3 scripts/core_loops_table.py DIR
"""

import json
import sys
from pathlib import Path


def load(d, name):
    return json.loads((d / name).read_text())


def by_name(report):
    return {r["name"]: r for r in report["results"]}


def main():
    d = Path(sys.argv[1])
    rows = []
    ppo = load(d, "ppo.json")["results"][0]["steps_per_sec"]
    sb3 = {t: load(d, f"sb3_ppo_{t}.json")["steps_per_sec"] for t in (1, 2)}
    best_t = max(sb3, key=sb3.get)
    rows.append(("PPO CartPole-v1, 8 envs, env steps/s", f"{ppo:,.0f}",
                 f"SB3 {sb3[best_t]:,.0f} ({best_t} thread{'s' if best_t > 1 else ''}; "
                 f"{sb3[3 - best_t]:,.0f} with {3 - best_t})", ppo / sb3[best_t], 3.0))
    classic = by_name(load(d, "classic.json"))
    for n in (1, 2, 8, 32):
        t, s = classic[f"threaded_vecenv_{n}"], classic[f"sync_vecenv_{n}"]
        rows.append((f"threaded vs sync, CartPole, {n} envs, steps/s ({t.get('schedule', '-')})",
                     f"{t['steps_per_sec']:,.0f}", f"sync {s['steps_per_sec']:,.0f}",
                     t["steps_per_sec"] / s["steps_per_sec"], 0.9 if n == 8 else None))
    driving = by_name(load(d, "driving.json"))
    for npcs in (0, 20):
        t, s = driving[f"threaded_vecenv_8_{npcs}_npcs"], driving[f"sync_vecenv_8_{npcs}_npcs"]
        rows.append((f"threaded vs sync, Driving town, 8 envs, {npcs} NPCs ({t.get('schedule', '-')})",
                     f"{t['steps_per_sec']:,.0f}", f"sync {s['steps_per_sec']:,.0f}",
                     t["steps_per_sec"] / s["steps_per_sec"], 1.3 if npcs == 20 else None))
    reward = load(d, "reward.json")["results"]
    oc = load(d, "open_clip.json")["frames_per_second"]
    for r in reward:
        if r["model"].startswith("CLIP"):
            kernel = r.get("kernel") or "candle f32"
            rows.append((f"CLIP ViT-B/32 batch 64, frames/s ({kernel})", f"{r['frames_per_second']:.1f}",
                         f"open_clip {oc:.1f} (2 threads)", r["frames_per_second"] / oc, 1.0))
    print("| measurement | vlmgym | peer | ratio | target |")
    print("|---|---:|---:|---:|---:|")
    for what, ours, peer, ratio, target in rows:
        mark = "" if target is None else (f">= {target}" + (" met" if ratio >= target else " NOT met"))
        print(f"| {what} | {ours} | {peer} | {ratio:.2f}x | {mark} |")


if __name__ == "__main__":
    main()

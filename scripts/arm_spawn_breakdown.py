"""Which spawns an ArmPushCube-v0 policy fails (issue 19): success against where the cube
starts, from an evaluation's per-episode successes.

`vlmgym eval` resets episode i with seed `seed + i` and reports every episode's success
(`successes`). This resets the env with the same seeds, reads the cube's spawn from the
first observation (state layout in ManiSkill3's order: 9 qpos, 9 qvel, TCP pose 7, goal 3,
then the cube's pose), and prints the success rate per band of the cube's x (the push
direction: PushCube's goal is always 0.2 m ahead of the cube in +x) and of its y. A policy
that fails one band only fails a kind of start, e.g. one that needs the gripper to go round
the cube first.

    vlmgym eval --checkpoint RUN --episodes 100 --deterministic > eval.json
    PYTHONPATH=python python scripts/arm_spawn_breakdown.py eval.json [more eval.json ...]

Needs the package built (scripts/python_tests.sh).
"""

import json
import sys

import numpy as np

import vlmgym

CUBE_X, CUBE_Y = 28, 29
BANDS = [(-0.1, -0.06), (-0.06, -0.02), (-0.02, 0.02), (0.02, 0.06), (0.06, 0.1)]


def spawns(env, seed: int, n: int) -> np.ndarray:
    """The cube's spawn (x, y) of episodes seed .. seed + n - 1."""
    out = []
    for i in range(n):
        obs, _ = env.reset(seed=seed + i)
        out.append((obs[CUBE_X], obs[CUBE_Y]))
    return np.array(out)


def table(label: str, coord: np.ndarray, success: np.ndarray) -> str:
    cells = []
    for lo, hi in BANDS:
        inside = (coord >= lo) & (coord < hi) if hi < 0.1 else (coord >= lo) & (coord <= hi)
        if inside.any():
            cells.append(f"{success[inside].mean() * 100:4.0f}% ({inside.sum():2d})")
        else:
            cells.append("      -    ")
    return f"  by cube {label}: " + " | ".join(cells)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("bands (m):", " | ".join(f"[{lo:+.2f}, {hi:+.2f})" for lo, hi in BANDS))
    env = vlmgym.make("ArmPushCube-v0")
    for path in sys.argv[1:]:
        with open(path) as f:
            report = json.load(f)
        if report.get("env_id") != "ArmPushCube-v0" or "successes" not in report:
            sys.exit(f"{path}: not an ArmPushCube-v0 evaluation with per-episode successes")
        success = np.array([bool(s) for s in report["successes"]])
        xy = spawns(env, report["seed"], len(success))
        print(f"{path}: {success.mean() * 100:.0f}% of {len(success)} episodes")
        print(table("x", xy[:, 0], success))
        print(table("y", xy[:, 1], success))


if __name__ == "__main__":
    main()

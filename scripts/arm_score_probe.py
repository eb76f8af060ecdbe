"""How an image tower's CLG score of ArmPushCube-v0 frames moves with the cube's distance to
the goal and with where the gripper is (issue 19).

For each cube-to-goal distance d and each gripper placement (the rest pose; right behind
the cube as a push leaves it; just over the cube, hiding it from the camera; 5 cm over the
goal; beside the goal), six random layouts are
reset through the env's options (`cube_xy`, `goal_xy`, `tcp_xyz`), stepped once with a zero
action and scored with the language reward ("the red cube sits on the green target" vs "the
cube is far from the target", no text head). It prints the mean semantic score per cell: a
reward that a policy can climb by pushing rises along d whatever the gripper does; one that
rises with the gripper over the goal is a reward a policy can earn by hovering there.

A second table follows the task's own pushes: PushCube puts the goal 0.2 m ahead of the
cube's spawn in +x, so for spawns across the square it places the cube at d = 0.2 .. 0 on
the way to the goal with the gripper right behind it, as a push leaves it. A reward that
teaches the push rises along every row; a row that stays low is a spawn whose push it does
not pay for.

    PYTHONPATH=python python scripts/arm_score_probe.py TOWER OFFSET WINDOW

TOWER, OFFSET and WINDOW as `vlmgym reward-check ArmPushCube-v0 --tower TOWER --goal ...
--negative ...` reports under `range`. Needs the package built (scripts/python_tests.sh).
A gripper placement that inverse kinematics cannot reach is skipped ("-").
"""

import math
import sys

import numpy as np

import vlmgym

DISTANCES = [0.0, 0.03, 0.06, 0.09, 0.12, 0.15, 0.2, 0.25]
PLACES = ["rest", "behind_cube", "over_cube", "over_goal", "beside_goal"]
PUSH = [0.2, 0.15, 0.1, 0.05, 0.0]


def gripper(place: str, cube: np.ndarray, goal: np.ndarray, d: float):
    """The TCP start for a placement, or None for the rest pose (also where the goal is too
    close to the cube for the placement to differ from it)."""
    u = (goal - cube) / np.linalg.norm(goal - cube) if d > 0 else np.array([1.0, 0.0])
    if place == "behind_cube":
        p = cube - 0.04 * u
        return [p[0], p[1], 0.02]
    if place == "over_cube":
        return [cube[0], cube[1], 0.06]
    if place == "over_goal" and d >= 0.06:
        return [goal[0], goal[1], 0.05]
    if place == "beside_goal" and d >= 0.09:
        p = goal - 0.04 * u
        return [p[0], p[1], 0.03]
    return None


def main() -> None:
    tower, offset, window = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    env = vlmgym.make("ArmPushCube-v0", terminate_on_success=False)
    env = vlmgym.LanguageReward(env, "the red cube sits on the green target",
                                negative="the cube is far from the target", tower=tower,
                                offset=offset, window=window, no_text_head=True)
    rng = np.random.default_rng(0)
    print("cube to goal (m)", " ".join(f"{d:5.2f}" for d in DISTANCES))
    for place in PLACES:
        cells = []
        for d in DISTANCES:
            scores = []
            for _ in range(6):
                cube = rng.uniform(-0.08, 0.08, 2)
                a = rng.uniform(-1.0, 1.0)
                goal = cube + d * np.array([math.cos(a), math.sin(a)])
                options = {"cube_xy": cube.tolist(), "goal_xy": goal.tolist()}
                tcp = gripper(place, cube, goal, d)
                if tcp is not None:
                    options["tcp_xyz"] = [float(x) for x in tcp]
                try:
                    env.reset(seed=int(rng.integers(1 << 30)), options=options)
                except vlmgym.VlmgymError:
                    continue  # out of the arm's reach
                _, _, _, _, info = env.step(np.zeros(4, dtype=np.float32))
                scores.append(info["language_terms"]["r_sem"])
            cells.append(f"{np.mean(scores):5.2f}" if scores else "    -")
        print(f"{place:16s}", " ".join(cells))
    push_path(env)


def push_path(env) -> None:
    """The score along PushCube's own pushes: per spawn, the cube at each distance short of
    its goal (0.2 m ahead in +x) with the gripper 4 cm behind it at fingertip height."""
    print("\nalong the push (gripper behind the cube; - where it is past the arm's reach)")
    print("spawn x, y     cube to goal (m)", " ".join(f"{d:5.2f}" for d in PUSH))
    for y in [-0.08, 0.0, 0.08]:
        for x in [-0.09, -0.04, 0.0, 0.04, 0.09]:
            goal = np.array([x + 0.2, y])
            cells = []
            for d in PUSH:
                cube = goal - np.array([d, 0.0])
                options = {"cube_xy": cube.tolist(), "goal_xy": goal.tolist(),
                           "tcp_xyz": [float(cube[0] - 0.04), float(cube[1]), 0.02]}
                try:
                    env.reset(seed=1, options=options)
                except vlmgym.VlmgymError:
                    cells.append("    -")
                    continue
                _, _, _, _, info = env.step(np.zeros(4, dtype=np.float32))
                cells.append(f"{info['language_terms']['r_sem']:5.2f}")
            print(f"{x:+.2f} {y:+.2f}{'':16s}", " ".join(cells))


if __name__ == "__main__":
    main()

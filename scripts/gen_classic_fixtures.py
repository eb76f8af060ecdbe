#!/usr/bin/env python3
"""Write the Gymnasium parity fixtures for vlmgym's classic-control environments.

Each fixture holds trajectories recorded with the real `gymnasium` package from explicit
initial states and fixed action sequences. The Rust tests in `envs/tests/classic_parity.rs`
replay them without Python and compare observations and rewards to 1e-5 and the
termination/truncation flags exactly.

Run once and commit the JSON files it writes:

    python3 -m pip install gymnasium==1.4.0 numpy
    python3 scripts/gen_classic_fixtures.py
"""

import json
import math
import pathlib

import gymnasium as gym
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "envs" / "tests" / "fixtures" / "classic"


def set_state(env, env_id, init):
    """Put `init` into the unwrapped env the way its own reset() stores a state."""
    u = env.unwrapped
    if env_id.startswith("CartPole"):
        u.state = np.array(init, dtype=np.float64)
        u.steps_beyond_terminated = None
        return np.array(u.state, dtype=np.float32)
    if env_id == "MountainCar-v0" or env_id == "MountainCarContinuous-v0":
        u.state = np.array(init, dtype=np.float64)
        return np.array(u.state, dtype=np.float32)
    if env_id == "Pendulum-v1":
        u.state = np.array(init, dtype=np.float64)
        u.last_u = None
        return u._get_obs()
    if env_id == "Acrobot-v1":
        u.state = np.array(init, dtype=np.float32)
        return u._get_ob()
    raise ValueError(env_id)


def record(env_id, init, actions, kwargs=None):
    env = gym.make(env_id, **(kwargs or {}))
    env.reset(seed=0)
    obs0 = set_state(env, env_id, init)
    traj = {
        "init_state": [float(v) for v in init],
        "initial_obs": [float(v) for v in obs0],
        "actions": [],
        "observations": [],
        "rewards": [],
        "terminated": [],
        "truncated": [],
    }
    for a in actions:
        if isinstance(env.action_space, gym.spaces.Discrete):
            act = int(a)
            traj["actions"].append(act)
        else:
            act = np.array(a, dtype=np.float32)
            traj["actions"].append([float(v) for v in act])
        obs, reward, terminated, truncated, _ = env.step(act)
        traj["observations"].append([float(v) for v in obs])
        traj["rewards"].append(float(reward))
        traj["terminated"].append(bool(terminated))
        traj["truncated"].append(bool(truncated))
        if truncated:
            break
    env.close()
    return traj


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261122)
    fixtures = {}

    # CartPole: random pushes, an always-right push that falls (and steps on past the
    # termination, where Gymnasium's reward drops to 0), and a near-balancing policy.
    cp = []
    for _ in range(4):
        init = rng.uniform(-0.05, 0.05, size=4)
        cp.append(record("CartPole-v1", init, rng.integers(0, 2, size=120)))
    cp.append(record("CartPole-v1", [0.0, 0.0, 0.0, 0.0], [1] * 40))
    cp.append(record("CartPole-v1", [0.1, -0.2, 0.05, 0.3], [int(i % 3 == 0) for i in range(80)]))
    balance = []
    env = gym.make("CartPole-v1")
    env.reset(seed=1)
    set_state(env, "CartPole-v1", [0.01, 0.0, 0.02, 0.0])
    s = env.unwrapped.state
    for _ in range(600):
        a = int(s[2] + 0.5 * s[3] > 0)
        balance.append(a)
        _, _, term, trunc, _ = env.step(a)
        s = env.unwrapped.state
        if term or trunc:
            break
    cp.append(record("CartPole-v1", [0.01, 0.0, 0.02, 0.0], balance))
    fixtures["CartPole-v1"] = {"kwargs": {}, "trajectories": cp}
    fixtures["CartPole-v1-sutton_barto"] = {
        "env_id": "CartPole-v1",
        "kwargs": {"sutton_barto_reward": True},
        "trajectories": [record("CartPole-v1", [0.0, 0.0, 0.0, 0.0], [0] * 30, {"sutton_barto_reward": True})],
    }

    # MountainCar: random, and energy pumping that reaches the flag, and a run that hits
    # the left wall (velocity reset to 0) and ends truncated at 200 steps.
    mc = []
    for _ in range(3):
        init = [rng.uniform(-0.6, -0.4), 0.0]
        mc.append(record("MountainCar-v0", init, rng.integers(0, 3, size=200)))
    pump = []
    env = gym.make("MountainCar-v0")
    env.reset(seed=2)
    set_state(env, "MountainCar-v0", [-0.5, 0.0])
    for _ in range(200):
        v = env.unwrapped.state[1]
        a = 2 if v >= 0 else 0
        pump.append(a)
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            break
    mc.append(record("MountainCar-v0", [-0.5, 0.0], pump))
    mc.append(record("MountainCar-v0", [-1.1, -0.05], [0] * 200))
    fixtures["MountainCar-v0"] = {"kwargs": {}, "trajectories": mc}

    # MountainCarContinuous: random in and out of [-1, 1] (clipped by the env), and a
    # pumping policy that reaches the goal (+100 reward).
    mcc = []
    for _ in range(3):
        init = [rng.uniform(-0.6, -0.4), 0.0]
        mcc.append(record("MountainCarContinuous-v0", init, rng.uniform(-1.5, 1.5, size=(300, 1))))
    pump = []
    env = gym.make("MountainCarContinuous-v0")
    env.reset(seed=3)
    set_state(env, "MountainCarContinuous-v0", [-0.5, 0.0])
    for _ in range(999):
        v = env.unwrapped.state[1]
        a = [1.0 if v >= 0 else -1.0]
        pump.append(a)
        _, _, term, trunc, _ = env.step(np.array(a, dtype=np.float32))
        if term or trunc:
            break
    mcc.append(record("MountainCarContinuous-v0", [-0.5, 0.0], pump))
    mcc.append(record("MountainCarContinuous-v0", [-1.15, -0.06], [[-0.7]] * 50))
    fixtures["MountainCarContinuous-v0"] = {"kwargs": {}, "trajectories": mcc}

    # Pendulum: random torques (some outside +-2, clipped), a full 200-step episode, and
    # a different gravity through kwargs.
    pen = []
    for _ in range(3):
        init = rng.uniform([-math.pi, -1.0], [math.pi, 1.0])
        pen.append(record("Pendulum-v1", init, rng.uniform(-3.0, 3.0, size=(200, 1))))
    pen.append(record("Pendulum-v1", [3.0, 7.5], [[2.0]] * 60))
    fixtures["Pendulum-v1"] = {"kwargs": {}, "trajectories": pen}
    fixtures["Pendulum-v1-g9.81"] = {
        "env_id": "Pendulum-v1",
        "kwargs": {"g": 9.81},
        "trajectories": [record("Pendulum-v1", [1.0, 0.0], rng.uniform(-2, 2, size=(100, 1)), {"g": 9.81})],
    }

    # Acrobot: random torques, and an energy-pumping policy that swings up (terminates).
    ac = []
    for _ in range(3):
        init = rng.uniform(-0.1, 0.1, size=4)
        ac.append(record("Acrobot-v1", init, rng.integers(0, 3, size=150)))
    pump = []
    env = gym.make("Acrobot-v1")
    env.reset(seed=4)
    set_state(env, "Acrobot-v1", [0.05, -0.05, 0.0, 0.0])
    for _ in range(500):
        s = env.unwrapped.state
        a = 2 if s[3] >= 0 else 0
        pump.append(a)
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            break
    ac.append(record("Acrobot-v1", [0.05, -0.05, 0.0, 0.0], pump))
    fixtures["Acrobot-v1"] = {"kwargs": {}, "trajectories": ac}

    for name, fx in fixtures.items():
        fx.setdefault("env_id", name)
        fx["gymnasium_version"] = gym.__version__
        fx["numpy_version"] = np.__version__
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(fx, indent=None, separators=(",", ":")) + "\n")
        n = sum(len(t["actions"]) for t in fx["trajectories"])
        ends = sum(any(t["terminated"]) for t in fx["trajectories"])
        print(f"{path.name}: {len(fx['trajectories'])} trajectories, {n} steps, {ends} terminate")


if __name__ == "__main__":
    main()

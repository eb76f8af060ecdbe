"""Steps/s of Gymnasium's MuJoCo v5 bodies with uniform random actions, one env on one
thread, the peer of `vlmgym bench locomotion` (same machine, same session).

    python scripts/locomotion_peer_bench.py [--seconds S]
"""
import argparse
import json
import time

import gymnasium as gym
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=5.0)
args = parser.parse_args()
results = []
for env_id in ["Ant-v5", "HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5"]:
    env = gym.make(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    low, high = env.action_space.low, env.action_space.high
    actions = rng.uniform(low, high, size=(1024, low.shape[0])).astype(np.float32)
    for i in range(20):
        env.step(actions[i])
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        _, _, term, trunc, _ = env.step(actions[n % 1024])
        n += 1
        if term or trunc:
            env.reset()
    results.append({"env_id": env_id, "steps_per_sec": n / (time.perf_counter() - start)})
print(json.dumps({"suite": "gymnasium mujoco v5", "results": results}, indent=2))

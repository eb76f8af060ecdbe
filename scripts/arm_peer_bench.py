"""Steps/s of Gymnasium-Robotics' Fetch tasks (MuJoCo) with random actions, one env on one
thread, for comparison with `vlmgym bench manipulation` (same machine, same session).
ManiSkill3's own CPU simulation does not start on a machine without a GPU-class Vulkan
device (SAPIEN always creates a render system), so MuJoCo's Fetch is the peer here."""
import argparse
import json
import time

import gymnasium as gym
import gymnasium_robotics
import numpy as np

gym.register_envs(gymnasium_robotics)

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=5.0)
args = parser.parse_args()
results = []
for env_id in ["FetchReach-v4", "FetchPush-v4", "FetchPickAndPlace-v4"]:
    env = gym.make(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(1024, 4)).astype(np.float32)
    for i in range(20):
        env.step(actions[i])
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        _, _, term, trunc, _ = env.step(actions[n % 1024])
        n += 1
        if term or trunc:
            env.reset()
    results.append({"env_id": env_id, "steps_per_sec": n / (time.perf_counter() - start)})
print(json.dumps({"suite": "fetch (gymnasium-robotics, MuJoCo)", "results": results}, indent=2))

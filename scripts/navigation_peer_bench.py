"""Steps/s of MiniWorld's rooms with uniform random actions and its rendered 60 x 80 RGB
observation every step (pyglet + OpenGL, here Mesa's software rasteriser under Xvfb), one
env on one thread: the peer of `vlmgym bench navigation` (same machine, same session).

    xvfb-run -a python scripts/navigation_peer_bench.py [--seconds S]
"""
import argparse
import json
import time

import gymnasium as gym
import miniworld  # noqa: F401  (registers the MiniWorld-* envs)
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=5.0)
args = parser.parse_args()
results = []
for env_id in ["MiniWorld-OneRoom-v0", "MiniWorld-FourRooms-v0"]:
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, env.action_space.n, size=1024)
    for i in range(20):
        env.step(int(actions[i]))
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        obs, _, term, trunc, _ = env.step(int(actions[n % 1024]))
        n += 1
        if term or trunc:
            env.reset()
    results.append(
        {
            "env_id": env_id,
            "obs_shape": list(obs.shape),
            "steps_per_sec": n / (time.perf_counter() - start),
        }
    )
print(json.dumps({"suite": f"miniworld {miniworld.__version__}", "results": results}, indent=2))

"""Runs a Gymnasium MuJoCo v5 env from its initial state (no reset noise) under a fixed
open-loop action sequence and prints x position, torso height and reward every 10 steps,
for comparison with `cargo run --release -p vlmgym-envs --example legged_compare` (same
sequence, same printout) on rapier.

    python scripts/legged_peer_compare.py HalfCheetah-v5 [STEPS]

AMPLITUDE (default 0.8) scales the gait; 0 plays zero actions.
"""
import math
import os
import sys

import gymnasium as gym
import numpy as np


def action(t, n, low, high):
    # The same open-loop gait as the Rust example: a sine per actuator, phase-shifted.
    amplitude = float(os.environ.get("AMPLITUDE", "0.8"))
    a = np.array([amplitude * math.sin(0.4 * t + 1.3 * i) for i in range(n)])
    return np.clip(a * high, low, high)


def main():
    env_id = sys.argv[1] if len(sys.argv) > 1 else "HalfCheetah-v5"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    env = gym.make(env_id, reset_noise_scale=0.0)
    env.reset(seed=0)
    n = env.action_space.shape[0]
    low, high = env.action_space.low, env.action_space.high
    ret = 0.0
    for t in range(steps):
        _, r, term, _, info = env.step(action(t, n, low, high).astype(np.float32))
        ret += r
        if t % 10 == 9 or term:
            z = env.unwrapped.data.qpos[1] if "Cheetah" in env_id or "Hopper" in env_id or "Walker" in env_id else env.unwrapped.data.qpos[2]
            print(f"{t + 1:4d} x {info['x_position']:8.3f} z {z:6.3f} return {ret:9.2f}")
        if term:
            break


if __name__ == "__main__":
    main()

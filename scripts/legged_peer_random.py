"""Random play in Gymnasium's MuJoCo v5 bodies: episodes, mean length, mean return and mean
final x over STEPS uniform random steps per env, for comparison with
`cargo run --release -p vlmgym-envs --example legged_random -- STEPS` on rapier.

    python scripts/legged_peer_random.py [STEPS, default 20000]
"""
import sys

import gymnasium as gym
import numpy as np


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    for env_id in ["Ant-v5", "HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5"]:
        env = gym.make(env_id)
        rng = np.random.default_rng(0)
        env.reset(seed=0)
        returns, lengths, final_x = [], [], []
        ret, length = 0.0, 0
        for t in range(steps):
            a = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32)
            _, r, term, trunc, info = env.step(a)
            ret += r
            length += 1
            if term or trunc:
                returns.append(ret)
                lengths.append(length)
                final_x.append(info.get("x_position", 0.0))
                ret, length = 0.0, 0
                env.reset(seed=t + 1)
        print(
            f"{env_id:15} episodes {len(returns):4}  mean length {np.mean(lengths):6.1f}  "
            f"mean return {np.mean(returns):8.2f}  mean final x {np.mean(final_x):7.3f}"
        )


if __name__ == "__main__":
    main()

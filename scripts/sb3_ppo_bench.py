"""Times Stable-Baselines3's PPO training on CartPole-v1 with the settings of `vlmgym bench ppo`
(8 envs, 128-step rollouts, 4 minibatches of 256, 4 epochs, CleanRL's ppo.py hyper-parameters,
64-64 tanh actor and critic), to compare with it in the same session.

Written for this repo as a timing harness. Run through scripts/sb3_ppo_bench.sh, which makes
the virtual environment. Prints JSON with env steps/s of full training.
"""

import argparse
import json
import time

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    env = make_vec_env("CartPole-v1", n_envs=8, seed=0)
    model = PPO(
        "MlpPolicy", env, n_steps=128, batch_size=256, n_epochs=4, learning_rate=2.5e-4,
        gamma=0.99, gae_lambda=0.95, clip_range=0.2, ent_coef=0.01, vf_coef=0.5,
        max_grad_norm=0.5, device="cpu", seed=0, verbose=0,
    )
    model.learn(total_timesteps=1024)  # warm up
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        model.learn(total_timesteps=8 * 1024, reset_num_timesteps=False)
        steps += 8 * 1024
    secs = time.perf_counter() - start
    print(json.dumps({
        "name": "sb3_ppo_train_cartpole_8_envs",
        "threads": args.threads,
        "steps_per_sec": steps / secs,
    }, indent=2))


if __name__ == "__main__":
    main()

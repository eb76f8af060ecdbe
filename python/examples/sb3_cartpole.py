"""Stable-Baselines3 PPO on vlmgym's CartPole-v1 (the Rust env through `gymnasium.make`).

    python python/examples/sb3_cartpole.py [--steps 100000] [--seed 0]

Hyperparameters: RL Zoo's for CartPole-v1 (8 envs, 32-step rollouts, 20 epochs, linear
schedules). Prints one JSON line: the mean and std of 20 deterministic evaluation episodes.
"""

import argparse
import json
import time

import gymnasium as gym
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import vlmgym  # noqa: F401  (registers the vlmgym/ ids)


def linear(start: float):
    return lambda progress: progress * start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    envs = make_vec_env("vlmgym/CartPole-v1", n_envs=8, seed=args.seed)
    model = PPO("MlpPolicy", envs, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                ent_coef=0.0, learning_rate=linear(0.001), clip_range=linear(0.2), seed=args.seed, verbose=0)
    t0 = time.time()
    model.learn(total_timesteps=args.steps)
    train_s = time.time() - t0
    eval_env = Monitor(gym.make("vlmgym/CartPole-v1"))
    eval_env.reset(seed=10_000 + args.seed)
    mean, std = evaluate_policy(model, eval_env, n_eval_episodes=20, deterministic=True)
    print(json.dumps({"env": "vlmgym/CartPole-v1", "steps": args.steps, "seed": args.seed, "mean_return": mean,
                      "std_return": std, "train_seconds": round(train_s, 1)}))


if __name__ == "__main__":
    main()

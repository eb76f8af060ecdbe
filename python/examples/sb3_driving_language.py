"""Stable-Baselines3 PPO on vlmgym's Driving-v0 learning from a text goal: the env's reward is
replaced by the synthesized language reward (VLM-RL's contrasting goals through the env's
`driving_vlmrl` config, frames drawn by the CPU rasteriser and scored by the shipped reward
model), the same reward `vlmgym train --reward clg` uses.

    python python/examples/sb3_driving_language.py [--steps 20000] [--seed 0]

Prints one JSON line per evaluation: the language return, the env's own return and the
route completion of 5 deterministic episodes.
"""

import argparse
import json

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

import vlmgym

GOAL = "the car drives in the centre of its lane"
NEGATIVE = "the car has crashed"


def make_env():
    env = vlmgym.make("Driving-v0")
    return Monitor(vlmgym.LanguageReward(env, GOAL, negative=NEGATIVE))


def evaluate(model, episodes=5, seed=10_000):
    env = vlmgym.LanguageReward(vlmgym.make("Driving-v0"), GOAL, negative=NEGATIVE)
    lang, own, completion = [], [], []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done, l_ret, e_ret, info = False, 0.0, 0.0, {}
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, r, term, trunc, info = env.step(action)
            l_ret += r
            e_ret += info["env_reward"]
            done = term or trunc
        lang.append(l_ret)
        own.append(e_ret)
        completion.append(info.get("route_completion", float("nan")))
    return float(np.mean(lang)), float(np.mean(own)), float(np.mean(completion))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    envs = DummyVecEnv([make_env for _ in range(4)])
    envs.seed(args.seed)
    model = PPO("MlpPolicy", envs, n_steps=256, batch_size=256, seed=args.seed, verbose=0)
    for done in range(0, args.steps, max(args.steps // 4, 1)):
        model.learn(total_timesteps=max(args.steps // 4, 1), reset_num_timesteps=False)
        lang, own, completion = evaluate(model)
        print(json.dumps({"steps": model.num_timesteps, "language_return": lang, "env_return": own,
                          "route_completion": completion}), flush=True)


if __name__ == "__main__":
    main()

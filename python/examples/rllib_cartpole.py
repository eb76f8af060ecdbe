"""Ray RLlib PPO on vlmgym's CartPole-v1 with two env runners, on a local Ray instance or a
cluster.

    python python/examples/rllib_cartpole.py                 # starts a local Ray instance
    python python/examples/rllib_cartpole.py --address auto  # joins a running cluster

A cluster of several machines (each with this package installed, e.g. `pip install ./python`):

    ray start --head --port=6379                      # on the head machine
    ray start --address=HEAD_IP:6379                  # on every other machine
    python python/examples/rllib_cartpole.py --address auto --env-runners 8

The env is registered with `ray.tune.registry.register_env`, so every env runner builds its
own vlmgym env (Rust, in the runner's process). Training stops at a mean episode return of
475 (CartPole-v1's threshold) or after --iterations; one JSON line per iteration.
"""

import argparse
import json
import time

import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.tune.registry import register_env

import vlmgym


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--address", default=None, help="Ray cluster address (default: start a local instance)")
    p.add_argument("--env-runners", type=int, default=2)
    p.add_argument("--iterations", type=int, default=60)
    p.add_argument("--target", type=float, default=475.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    register_env("vlmgym-CartPole-v1", lambda cfg: vlmgym.make("CartPole-v1", **cfg))
    config = (
        PPOConfig()
        .environment("vlmgym-CartPole-v1")
        .env_runners(num_env_runners=args.env_runners, num_envs_per_env_runner=1)
        .training(lr=3e-4, num_epochs=10, minibatch_size=128, train_batch_size_per_learner=4000, vf_loss_coeff=0.01)
        .debugging(seed=args.seed)
    )
    algo = config.build_algo()
    t0 = time.time()
    best = float("-inf")
    for i in range(args.iterations):
        result = algo.train()
        ret = float(result["env_runners"]["episode_return_mean"])
        best = max(best, ret)
        steps = int(result["num_env_steps_sampled_lifetime"])
        print(json.dumps({"iteration": i + 1, "env_steps": steps, "episode_return_mean": ret,
                          "seconds": round(time.time() - t0, 1)}), flush=True)
        if ret >= args.target:
            break
    print(json.dumps({"reached": bool(best >= args.target), "best_episode_return_mean": best,
                      "env_runners": args.env_runners, "seconds": round(time.time() - t0, 1)}))
    algo.stop()
    ray.shutdown()


if __name__ == "__main__":
    main()

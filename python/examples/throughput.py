"""Env steps per second from Python: vlmgym's Rust vector env (`vlmgym.make_vec`) against
Gymnasium's own `SyncVectorEnv` (`gymnasium.make_vec(..., vectorization_mode="sync")`) over
Gymnasium's CartPole and over vlmgym's Driving, and EnvPool's CartPole where it is installed,
in one run. Actions are drawn beforehand; only `step` is timed.

    python python/examples/throughput.py [--seconds 3] [--envs 8] [--out FILE.json]
"""

import argparse
import json
import platform
import time

import gymnasium as gym
import numpy as np

import vlmgym


def steps_per_second(envs, seconds: float, batched_actions) -> float:
    envs.reset(seed=0)
    for a in batched_actions[:10]:  # warm-up
        envs.step(a)
    n, k, t0 = 0, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(50):
            envs.step(batched_actions[k % len(batched_actions)])
            k += 1
        n += 50
    return n * batched_actions.shape[1] / (time.perf_counter() - t0)


def actions(space, num_envs: int, count: int = 512):
    space.seed(0)
    return np.stack([space.sample() for _ in range(count)]).reshape(count, num_envs, *space.shape[1:])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--envs", type=int, default=8)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    n, rows = args.envs, []

    def measure(name, make):
        envs = make()
        sps = steps_per_second(envs, args.seconds, actions(envs.action_space, n))
        envs.close()
        rows.append({"name": name, "num_envs": n, "steps_per_sec": sps})
        print(json.dumps(rows[-1]), flush=True)

    measure("vlmgym.make_vec CartPole-v1 (threaded)", lambda: vlmgym.make_vec("CartPole-v1", n))
    measure("vlmgym.make_vec CartPole-v1 (sync)", lambda: vlmgym.make_vec("CartPole-v1", n, "sync"))
    measure("gymnasium.make_vec CartPole-v1 (sync)", lambda: gym.make_vec("CartPole-v1", n, vectorization_mode="sync"))
    try:
        import envpool

        class EnvPoolVec:  # envpool's gymnasium API, with the spaces batched like Gymnasium's
            def __init__(self):
                self.env = envpool.make_gymnasium("CartPole-v1", num_envs=n, batch_size=n, seed=0)
                self.action_space = gym.vector.utils.batch_space(self.env.action_space, n)

            def reset(self, seed=None):
                return self.env.reset()

            def step(self, a):
                return self.env.step(a)

            def close(self):
                self.env.close()

        measure("envpool CartPole-v1", EnvPoolVec)
    except ImportError:
        rows.append({"name": "envpool CartPole-v1", "num_envs": n, "steps_per_sec": None,
                     "note": "envpool is not installed (no wheel for this Python)"})
    measure("vlmgym.make_vec Driving-v0 (threaded)", lambda: vlmgym.make_vec("Driving-v0", n))
    measure("gymnasium.make_vec vlmgym/Driving-v0 (sync)",
            lambda: gym.make_vec("vlmgym/Driving-v0", n, vectorization_mode="sync"))
    by = {r["name"]: r["steps_per_sec"] for r in rows}
    ratios = {
        "CartPole: vlmgym threaded / gymnasium sync": by["vlmgym.make_vec CartPole-v1 (threaded)"]
        / by["gymnasium.make_vec CartPole-v1 (sync)"],
        "Driving: vlmgym threaded / gymnasium sync": by["vlmgym.make_vec Driving-v0 (threaded)"]
        / by["gymnasium.make_vec vlmgym/Driving-v0 (sync)"],
    }
    if by.get("envpool CartPole-v1"):
        ratios["CartPole: vlmgym threaded / envpool"] = by["vlmgym.make_vec CartPole-v1 (threaded)"] / by[
            "envpool CartPole-v1"]
    report = {"python": platform.python_version(), "gymnasium": gym.__version__, "vlmgym": vlmgym.__version__,
              "results": rows, "ratios": ratios}
    print(json.dumps(report["ratios"], indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()

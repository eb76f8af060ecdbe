"""Times SAC gradient updates in PyTorch, built as CleanRL's sac_continuous_action.py builds
them (same networks, initialisation, optimisers, batch and update schedule), on Pendulum-v1.

Written for this repo as a timing harness (not CleanRL's code): the replay buffer is filled
with `learning_starts` uniformly random Pendulum-v1 transitions, then CleanRL's training-loop
body runs for `--seconds`: one critic update; every `policy_frequency`-th also that many
actor and alpha updates; the Polyak target update. Prints JSON with updates/s, like
`vlmgym bench sac`'s `gradient_updates_per_sec`, and env steps/s of full training (collection
with the actor plus one update per step).

Run through scripts/cleanrl_sac_bench.sh, which makes the virtual environment.
"""

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class QNet(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden=256):
        super().__init__()
        self.l1 = nn.Linear(obs_dim + act_dim, hidden)
        self.l2 = nn.Linear(hidden, hidden)
        self.l3 = nn.Linear(hidden, 1)

    def forward(self, s, a):
        h = F.relu(self.l1(torch.cat([s, a], 1)))
        return self.l3(F.relu(self.l2(h)))


class Policy(nn.Module):
    def __init__(self, obs_dim, act_dim, low, high, hidden=256):
        super().__init__()
        self.l1 = nn.Linear(obs_dim, hidden)
        self.l2 = nn.Linear(hidden, hidden)
        self.mu = nn.Linear(hidden, act_dim)
        self.ls = nn.Linear(hidden, act_dim)
        self.register_buffer("scale", torch.tensor((high - low) / 2.0, dtype=torch.float32))
        self.register_buffer("bias", torch.tensor((high + low) / 2.0, dtype=torch.float32))

    def sample(self, s):
        h = F.relu(self.l2(F.relu(self.l1(s))))
        mu = self.mu(h)
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (torch.tanh(self.ls(h)) + 1)
        dist = torch.distributions.Normal(mu, log_std.exp())
        x = dist.rsample()
        y = torch.tanh(x)
        logp = dist.log_prob(x) - torch.log(self.scale * (1 - y.pow(2)) + 1e-6)
        return y * self.scale + self.bias, logp.sum(1, keepdim=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    gamma, tau, batch, starts, pf = 0.99, 0.005, 256, 5000, 2
    env = gym.make("Pendulum-v1")
    low, high = env.action_space.low, env.action_space.high
    od, ad = env.observation_space.shape[0], env.action_space.shape[0]
    actor = Policy(od, ad, low, high)
    qf1, qf2, qf1_t, qf2_t = QNet(od, ad), QNet(od, ad), QNet(od, ad), QNet(od, ad)
    qf1_t.load_state_dict(qf1.state_dict())
    qf2_t.load_state_dict(qf2.state_dict())
    q_opt = optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=1e-3)
    a_opt = optim.Adam(actor.parameters(), lr=3e-4)
    target_entropy = -float(ad)
    log_alpha = torch.zeros(1, requires_grad=True)
    alpha_opt = optim.Adam([log_alpha], lr=1e-3)
    alpha = log_alpha.exp().item()

    cap = 1_000_000
    buf = {
        "s": np.zeros((cap, od), np.float32),
        "a": np.zeros((cap, ad), np.float32),
        "r": np.zeros(cap, np.float32),
        "s2": np.zeros((cap, od), np.float32),
        "d": np.zeros(cap, np.float32),
    }
    n = 0
    obs, _ = env.reset(seed=args.seed)

    def env_step(action):
        nonlocal obs, n
        nxt, r, term, trunc, _ = env.step(action)
        buf["s"][n], buf["a"][n], buf["r"][n], buf["s2"][n], buf["d"][n] = obs, action, r, nxt, float(term)
        n += 1
        obs = nxt
        if term or trunc:
            obs, _ = env.reset()

    for _ in range(starts):
        env_step(rng.uniform(low, high).astype(np.float32))

    updates = 0

    def update():
        nonlocal updates, alpha
        updates += 1
        idx = rng.integers(0, n, batch)
        s, a = torch.from_numpy(buf["s"][idx]), torch.from_numpy(buf["a"][idx])
        r, s2, d = torch.from_numpy(buf["r"][idx]), torch.from_numpy(buf["s2"][idx]), torch.from_numpy(buf["d"][idx])
        with torch.no_grad():
            a2, logp2 = actor.sample(s2)
            q_next = torch.min(qf1_t(s2, a2), qf2_t(s2, a2)) - alpha * logp2
            target = r + (1 - d) * gamma * q_next.view(-1)
        q1, q2 = qf1(s, a).view(-1), qf2(s, a).view(-1)
        q_loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        q_opt.zero_grad()
        q_loss.backward()
        q_opt.step()
        if updates % pf == 0:
            for _ in range(pf):
                pi, logp = actor.sample(s)
                actor_loss = (alpha * logp - torch.min(qf1(s, pi), qf2(s, pi))).mean()
                a_opt.zero_grad()
                actor_loss.backward()
                a_opt.step()
                with torch.no_grad():
                    _, logp = actor.sample(s)
                alpha_loss = (-log_alpha.exp() * (logp + target_entropy)).mean()
                alpha_opt.zero_grad()
                alpha_loss.backward()
                alpha_opt.step()
                alpha = log_alpha.exp().item()
        with torch.no_grad():
            for net, tgt in ((qf1, qf1_t), (qf2, qf2_t)):
                for p_, t_ in zip(net.parameters(), tgt.parameters()):
                    t_.data.copy_(tau * p_.data + (1 - tau) * t_.data)

    for _ in range(20):
        update()
    start, k = time.perf_counter(), 0
    while time.perf_counter() - start < args.seconds:
        update()
        k += 1
    updates_per_sec = k / (time.perf_counter() - start)

    start, k = time.perf_counter(), 0
    while time.perf_counter() - start < args.seconds:
        with torch.no_grad():
            action, _ = actor.sample(torch.from_numpy(obs).float().unsqueeze(0))
        env_step(action.numpy()[0])
        update()
        k += 1
    train_steps_per_sec = k / (time.perf_counter() - start)

    print(
        json.dumps(
            {
                "impl": "pytorch (CleanRL's SAC update)",
                "torch": torch.__version__,
                "threads": args.threads,
                "env_id": "Pendulum-v1",
                "batch_size": batch,
                "gradient_updates_per_sec": updates_per_sec,
                "train_env_steps_per_sec": train_steps_per_sec,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

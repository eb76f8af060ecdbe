"""The Python package against Gymnasium's checkers and the Rust CLI."""

import json
import os
import subprocess
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import vlmgym

ROOT = Path(__file__).resolve().parents[2]
# The vlmgym binary of the same build (scripts/python_tests.sh sets it).
VLMGYM = os.environ.get("VLMGYM", str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "vlmgym"))

ALL_IDS = vlmgym.env_ids()


def test_every_rust_id_is_registered_with_gymnasium():
    assert "CartPole-v1" in ALL_IDS and "Driving-v0" in ALL_IDS
    for env_id in ALL_IDS:
        spec = gym.spec(f"vlmgym/{env_id}")
        assert spec.kwargs["env_id"] == env_id
    assert gym.spec("vlmgym/CartPole-v1").max_episode_steps == 500
    assert gym.spec("vlmgym/CartPole-v1").reward_threshold == 475.0


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_check_env_passes(env_id):
    mode = "rgb_array" if vlmgym._native.drawable(env_id, "{}") else None
    env = gym.make(f"vlmgym/{env_id}", render_mode=mode, render_size=(64, 48))
    check_env(env.unwrapped, skip_render_check=mode is None)
    env.close()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_vector_env_steps_like_gymnasium_expects(env_id):
    """Gymnasium's vector-env contract: batched spaces, dtypes, shapes, infos as a dict of
    arrays with `_key` masks, the same batch for the same seed."""
    envs = vlmgym.make_vec(env_id, num_envs=3, vectorization_mode="sync")
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, infos = envs.reset(seed=5)
    assert obs.shape == (3, *envs.single_observation_space.shape) and obs.dtype == np.float32
    assert envs.observation_space.contains(obs)
    assert isinstance(infos, dict)
    for key, value in infos.items():
        if not key.startswith("_") and isinstance(value, np.ndarray):
            assert value.shape[0] == 3 and infos[f"_{key}"].shape == (3,), key
    envs.action_space.seed(0)
    first = []
    for _ in range(20):
        obs, rew, term, trunc, infos = envs.step(envs.action_space.sample())
        assert obs.shape[0] == 3 and rew.shape == (3,) and rew.dtype == np.float64
        assert term.shape == (3,) and term.dtype == np.bool_ and trunc.dtype == np.bool_
        assert isinstance(infos, dict) and np.all(np.isfinite(obs)) and np.all(np.isfinite(rew))
        first.append(obs)
    again, _ = envs.reset(seed=5)
    envs.action_space.seed(0)
    for t in range(20):
        again = envs.step(envs.action_space.sample())[0]
        np.testing.assert_array_equal(again, first[t])
    envs.close()


def test_vector_env_equals_single_envs_in_next_step_mode():
    """Env i of a vector env seeded s is the single env seeded s + i, with Gymnasium's
    next-step autoreset: the step after an episode ends returns the reset observation."""
    n, steps = 4, 120
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, size=(steps, n))
    for mode in ["sync", "threaded"]:
        envs = vlmgym.make_vec("CartPole-v1", num_envs=n, vectorization_mode=mode)
        obs, _ = envs.reset(seed=10)
        singles = [vlmgym.make("CartPole-v1") for _ in range(n)]
        expect = np.stack([e.reset(seed=10 + i)[0] for i, e in enumerate(singles)])
        np.testing.assert_array_equal(obs, expect)
        done = [False] * n
        for t in range(steps):
            obs, rew, term, trunc, _ = envs.step(actions[t])
            for i, e in enumerate(singles):
                if done[i]:
                    o, _ = e.reset()
                    r, te, tr = 0.0, False, False
                else:
                    o, r, te, tr, _ = e.step(int(actions[t, i]))
                done[i] = te or tr
                np.testing.assert_array_equal(obs[i], o)
                assert (rew[i], term[i], trunc[i]) == (r, te, tr)
        envs.close()


def test_gymnasium_make_vec_builds_the_rust_vector_env():
    envs = gym.make_vec("vlmgym/CartPole-v1", num_envs=4, vectorization_mode="vector_entry_point")
    assert isinstance(envs, vlmgym.VlmgymVectorEnv) and envs.num_envs == 4
    obs, _ = envs.reset(seed=0)
    np.testing.assert_array_equal(obs[2], vlmgym.make("CartPole-v1").reset(seed=2)[0])
    sync = gym.make_vec("vlmgym/CartPole-v1", num_envs=2, vectorization_mode="sync")  # Gymnasium's own
    assert sync.reset(seed=0)[0].shape == (2, 4)


def test_same_step_autoreset_keeps_the_final_observation():
    envs = vlmgym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync", autoreset_mode="SameStep")
    envs.reset(seed=0)
    for _ in range(200):
        obs, rew, term, trunc, infos = envs.step(np.array([1, 1]))
        if term.any():
            break
    assert term.any()
    i = int(np.argmax(term))
    assert infos["_final_obs"][i] and infos["final_obs"][i].shape == (4,)
    # The last observation has the pole past the limit; the new one is a fresh start.
    assert abs(infos["final_obs"][i][2]) > 0.2 or abs(infos["final_obs"][i][0]) > 2.4
    assert np.all(np.abs(obs[i]) <= 0.05)


def test_a_python_rollout_equals_the_cli_rollout_bit_for_bit(tmp_path):
    for env_id, kwargs in [("CartPole-v1", {}), ("Pendulum-v1", {}), ("Driving-v0", {"npcs": 3})]:
        env = vlmgym.make(env_id, **kwargs)
        env.action_space.seed(1)
        actions = [env.action_space.sample() for _ in range(60)]
        as_json = [a.tolist() if isinstance(a, np.ndarray) else int(a) for a in actions]
        (tmp_path / "actions.json").write_text(json.dumps(as_json))
        out = tmp_path / "rollout.jsonl"
        cmd = [VLMGYM, "rollout", env_id, "--seed", "7", "--steps", "60", "--actions", str(tmp_path / "actions.json"),
               "--out", str(out)]
        cmd += [a for k, v in kwargs.items() for a in ("--kwarg", f"{k}={json.dumps(v)}")]
        subprocess.run(cmd, check=True, capture_output=True)
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(lines) == 60
        obs, _ = env.reset(seed=7)
        for t, line in enumerate(lines):
            if t > 0 and (lines[t - 1]["terminated"] or lines[t - 1]["truncated"]):
                obs, _ = env.reset()
            obs, reward, term, trunc, _ = env.step(actions[t])
            np.testing.assert_array_equal(obs, np.asarray(line["obs"], dtype=np.float32), err_msg=f"{env_id} step {t}")
            assert reward == line["reward"] and term == line["terminated"] and trunc == line["truncated"], (env_id, t)
        env.close()


def test_render_draws_the_scene_and_follows_the_state():
    env = vlmgym.make("CartPole-v1", render_mode="rgb_array", render_size=(96, 64))
    env.reset(seed=0)
    a = env.render()
    assert a.shape == (64, 96, 3) and a.dtype == np.uint8
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 3, "a flat picture"
    for _ in range(15):
        env.step(1)
    b = env.render()
    assert (a != b).any(), "the frame did not follow the state"
    env.reset(seed=0)
    np.testing.assert_array_equal(env.render(), a)  # deterministic
    assert any("pole" in c for c in env.unwrapped.captions())


def test_errors_raise_with_the_rust_messages():
    with pytest.raises(vlmgym.InvalidArgumentError, match="Acrobot-v1 has no Scene"):
        vlmgym.make("Acrobot-v1", render_mode="rgb_array")
    with pytest.raises(vlmgym.UnknownEnvError, match="CartPole-v1"):
        vlmgym.make_vec("CartPol-v1", num_envs=2)
    with pytest.raises(vlmgym.InvalidArgumentError, match="npcs"):
        vlmgym.make("Driving-v0", npcs=-3)
    env = vlmgym.make("Pendulum-v1").unwrapped
    with pytest.raises(vlmgym.ResetNeededError, match="reset"):
        env.step(np.zeros(1, dtype=np.float32))
    env.reset(seed=0)
    with pytest.raises(vlmgym.InvalidArgumentError, match="NaN"):
        env.step(np.array([np.nan], dtype=np.float32))
    with pytest.raises(vlmgym.InvalidArgumentError):
        env.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError):  # InvalidArgumentError is a ValueError
        vlmgym.make("CartPole-v1").unwrapped.step("left")
    envs = vlmgym.make_vec("CartPole-v1", num_envs=3)
    envs.reset(seed=0)
    with pytest.raises(vlmgym.InvalidArgumentError, match="3 actions"):
        envs.step(np.array([0, 1]))


DRIVING_GOAL = ("the car drives in the centre of its lane", "the car has crashed")


def test_language_reward_equals_the_cli_rollouts_reward(tmp_path):
    """The wrapper scores through the pipeline `vlmgym rollout --goal` uses: same seed and
    actions, the same rewards and terms (CartPole's with CLG's window moved by an offset)."""
    for env_id, (goal, negative), window, offset in [("CartPole-v1", ("the pole is balanced upright on the cart",
                                                                       "the pole has fallen over"), 0.15, -0.05),
                                                     ("Driving-v0", DRIVING_GOAL, 0.03, 0.0)]:
        env = vlmgym.LanguageReward(vlmgym.make(env_id), goal, negative=negative, window=window, offset=offset)
        env.action_space.seed(3)
        actions = [env.action_space.sample() for _ in range(40)]
        as_json = [a.tolist() if isinstance(a, np.ndarray) else int(a) for a in actions]
        (tmp_path / "actions.json").write_text(json.dumps(as_json))
        out = tmp_path / "rollout.jsonl"
        subprocess.run([VLMGYM, "rollout", env_id, "--seed", "11", "--steps", "40", "--actions",
                        str(tmp_path / "actions.json"), "--goal", goal, "--negative", negative, "--window", str(window),
                        "--offset", str(offset), "--out", str(out)], check=True, capture_output=True)
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(lines) == 40
        env.reset(seed=11)
        rewards = []
        for t, line in enumerate(lines):
            if t > 0 and (lines[t - 1]["terminated"] or lines[t - 1]["truncated"]):
                env.reset()
            _, reward, _, _, info = env.step(actions[t])
            assert reward == line["language_reward"], (env_id, t)
            assert info["env_reward"] == line["reward"]
            for name, value in line["language_terms"].items():
                got = info["language_terms"][name]
                assert (value is None and not np.isfinite(got)) or got == value, (env_id, t, name)
            rewards.append(reward)
        if env_id == "Driving-v0":
            assert len(set(rewards)) > 5, "the language reward did not vary"


def test_language_reward_without_the_text_head_equals_the_cli_and_differs_from_the_default(tmp_path):
    """`no_text_head=True` reads the goal as `vlmgym rollout --no-text-head` does; the
    shipped tower's text head moves the rewards otherwise (VLM-RM's score, which CLG's
    window does not saturate)."""
    goal, negative = "an automobile proceeding smoothly, keeping to its own side", "a wrecked automobile after an accident"
    plain = vlmgym.LanguageReward(vlmgym.make("Driving-v0"), goal, baseline=negative, no_text_head=True)
    headed = vlmgym.LanguageReward(vlmgym.make("Driving-v0"), goal, baseline=negative)
    plain.action_space.seed(5)
    actions = [plain.action_space.sample() for _ in range(20)]
    (tmp_path / "actions.json").write_text(json.dumps([a.tolist() for a in actions]))
    out = tmp_path / "rollout.jsonl"
    subprocess.run([VLMGYM, "rollout", "Driving-v0", "--seed", "4", "--steps", "20", "--actions",
                    str(tmp_path / "actions.json"), "--goal", goal, "--baseline", negative, "--no-text-head",
                    "--out", str(out)], check=True, capture_output=True)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    plain.reset(seed=4)
    headed.reset(seed=4)
    scores = []
    for t, line in enumerate(lines[:10]):
        _, reward, terminated, truncated, info = plain.step(actions[t])
        _, _, _, _, headed_info = headed.step(actions[t])
        assert reward == line["language_reward"], t
        scores.append((info["language_terms"]["semantic_score"], headed_info["language_terms"]["semantic_score"]))
        if terminated or truncated:
            break
    assert any(a != b for a, b in scores), "the text head changed no score"
    with pytest.raises(vlmgym.InvalidArgumentError, match="cannot read text head"):
        vlmgym.LanguageReward(vlmgym.make("Driving-v0"), goal, negative=negative, text_head="/nonexistent/head.safetensors")


def test_vector_language_reward_scores_each_env_like_a_single_one():
    n = 3
    envs = vlmgym.LanguageReward(vlmgym.make_vec("Driving-v0", num_envs=n, vectorization_mode="sync", npcs=2),
                                 DRIVING_GOAL[0], negative=DRIVING_GOAL[1])
    assert isinstance(envs, vlmgym.VectorLanguageReward)
    singles = [vlmgym.LanguageReward(vlmgym.make("Driving-v0", npcs=2), *DRIVING_GOAL) for _ in range(n)]
    envs.reset(seed=20)
    for i, e in enumerate(singles):
        e.reset(seed=20 + i)
    rng = np.random.default_rng(1)
    done = [False] * n
    saw_autoreset = False
    for t in range(150):
        actions = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
        actions[:, 1] = np.abs(actions[:, 1])  # drive on, so episodes end by crashing
        _, rewards, term, trunc, infos = envs.step(actions)
        assert "semantic_score" in infos and infos["env_reward"].shape == (n,)
        for i, e in enumerate(singles):
            if done[i]:
                e.reset()
                assert rewards[i] == 0.0 and np.isnan(infos["semantic_score"][i])
                saw_autoreset = True
                continue
            _, r, te, tr, info = e.step(actions[i])
            assert (bool(term[i]), bool(trunc[i])) == (te, tr)
            np.testing.assert_allclose(rewards[i], r, rtol=1e-6, atol=1e-9, err_msg=f"step {t} env {i}")
            np.testing.assert_allclose(infos["semantic_score"][i], info["language_terms"]["semantic_score"], atol=1e-6)
        done = list(np.logical_or(term, trunc))
    assert saw_autoreset, "no episode ended in 150 steps"


def test_language_reward_errors_name_the_problem():
    with pytest.raises(vlmgym.InvalidArgumentError, match="non-empty goal"):
        vlmgym.LanguageReward(vlmgym.make("CartPole-v1"), "  ")
    with pytest.raises(vlmgym.InvalidArgumentError, match="not both"):
        vlmgym.LanguageReward(vlmgym.make("CartPole-v1"), "up", negative="down", baseline="a pole")
    with pytest.raises(vlmgym.InvalidArgumentError, match="no_such_config"):
        vlmgym.LanguageReward(vlmgym.make("CartPole-v1"), "up", negative="down", reward_config="no_such_config")
    with pytest.raises(vlmgym.InvalidArgumentError, match="does not exist"):
        vlmgym.LanguageReward(vlmgym.make("CartPole-v1"), "up", negative="down", tower="/nonexistent/tower.safetensors")
    with pytest.raises(vlmgym.InvalidArgumentError, match="same-step"):
        vlmgym.LanguageReward(vlmgym.make_vec("CartPole-v1", 2, autoreset_mode="SameStep"), "up", negative="down")
    with pytest.raises(vlmgym.InvalidArgumentError, match="vlmgym envs"):
        vlmgym.LanguageReward(gym.make("CartPole-v1"), "up", negative="down")


def _assert_same_infos(got: dict, want: dict, where: str):
    assert set(got) == set(want), (where, set(got) ^ set(want))
    for key, w in want.items():
        g = got[key]
        if isinstance(w, dict):
            _assert_same_infos(g, w, f"{where}.{key}")
        else:
            assert g.dtype == w.dtype and g.shape == w.shape, (where, key, g.dtype, w.dtype)
            for a, b in zip(g, w):
                assert (a == b) if not isinstance(a, np.ndarray) else np.array_equal(a, b), (where, key, a, b)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Driving-v0", "NavGoTo-v0"])
def test_vector_infos_match_gymnasiums_layout(env_id):
    """Infos built in Rust equal what Gymnasium's `VectorEnv._add_info` builds from the
    single envs' infos: same keys, masks, dtypes and values."""
    n = 3
    envs = vlmgym.make_vec(env_id, num_envs=n, vectorization_mode="sync")
    singles = [vlmgym.make(env_id).unwrapped for _ in range(n)]
    _, infos = envs.reset(seed=4)
    want = {}
    for i, e in enumerate(singles):
        want = envs._add_info(want, e.reset(seed=4 + i)[1], i)
    _assert_same_infos(infos, want, "reset")
    envs.action_space.seed(2)
    for t in range(5):
        actions = envs.action_space.sample()
        _, _, term, trunc, infos = envs.step(actions)
        want = {}
        for i, e in enumerate(singles):
            want = envs._add_info(want, e.step(actions[i])[4], i)
        _assert_same_infos(infos, want, f"step {t}")
        if (term | trunc).any():  # the vector env autoresets on the next step
            break

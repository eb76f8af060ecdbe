"""vlmgym from Python: the Rust environments as Gymnasium envs and vector envs.

    import gymnasium as gym
    import vlmgym

    env = gym.make("vlmgym/CartPole-v1")          # or vlmgym.make("CartPole-v1")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

    envs = vlmgym.make_vec("CartPole-v1", num_envs=8)  # a gymnasium.vector.VectorEnv
    obs, infos = envs.reset(seed=0)

Every registered id is also registered with Gymnasium as ``vlmgym/<id>`` when this module
is imported. Steps run in Rust; observations come back as numpy arrays. Errors raised by
the Rust side keep its messages: an unknown id raises :class:`UnknownEnvError`, a bad action
or argument :class:`InvalidArgumentError` (a ``ValueError``), ``step`` before ``reset``
:class:`ResetNeededError`.
"""

from __future__ import annotations

import json
from typing import Any, Optional, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _native
from .errors import InvalidArgumentError, ResetNeededError, UnknownEnvError, VlmgymError

__all__ = [
    "VlmgymEnv",
    "VlmgymVectorEnv",
    "make",
    "make_vec",
    "env_ids",
    "LanguageReward",
    "VectorLanguageReward",
    "VlmgymError",
    "UnknownEnvError",
    "InvalidArgumentError",
    "ResetNeededError",
]

__version__ = _native.__version__

#: Gymnasium's namespace for this package's ids: ``gymnasium.make("vlmgym/Driving-v0")``.
NAMESPACE = "vlmgym"


def env_ids() -> list[str]:
    """Every id registered on the Rust side, sorted (``vlmgym list``)."""
    return _native.env_ids()


def _space(desc: dict) -> spaces.Space:
    """A gymnasium space from the Rust side's description of one."""
    kind = desc["kind"]
    if kind == "box":
        shape = tuple(desc["shape"])
        low = np.asarray(desc["low"], dtype=np.float32).reshape(shape)
        high = np.asarray(desc["high"], dtype=np.float32).reshape(shape)
        return spaces.Box(low=low, high=high, shape=shape, dtype=np.float32)
    if kind == "discrete":
        return spaces.Discrete(desc["n"], start=desc["start"])
    if kind == "multi_discrete":
        return spaces.MultiDiscrete(np.asarray(desc["nvec"], dtype=np.int64))
    if kind == "dict":
        return spaces.Dict({k: _space(v) for k, v in desc["spaces"].items()})
    raise VlmgymError(f"unknown space kind {kind!r}")


def _kwargs_json(kwargs: dict) -> str:
    try:
        return json.dumps(kwargs, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"kwargs must be JSON values (numbers, strings, lists, dicts): {e}") from None


class VlmgymEnv(gymnasium.Env):
    """One Rust env behind Gymnasium's ``Env`` interface.

    Made by ``gymnasium.make("vlmgym/<id>", **kwargs)`` or :func:`make`, which add
    Gymnasium's usual wrappers (the registered time limit, order enforcing, the passive
    checker). ``render_mode="rgb_array"`` draws the env's Scene with the CPU rasteriser:
    ``render_size`` (width, height) pixels from ``render_camera`` (default: the camera
    reward models use, else the Scene's first).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": None}

    def __init__(
        self,
        env_id: str,
        render_mode: Optional[str] = None,
        render_size: tuple[int, int] = (224, 224),
        render_camera: Optional[str] = None,
        **kwargs: Any,
    ):
        if render_mode not in (None, "rgb_array"):
            raise InvalidArgumentError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        # Gymnasium's TimeLimit (from the registration) applies the episode limit.
        kwargs = _kwargs_json({"max_episode_steps": None, **kwargs})
        if render_mode is not None and not _native.drawable(env_id, kwargs):
            raise InvalidArgumentError(f"{env_id} has no Scene to draw, so render_mode={render_mode!r} is not available")
        self._env = _native.Env(env_id, kwargs)
        self._kwargs_json = kwargs
        self.env_id = env_id
        self.observation_space = _space(self._env.observation_space())
        self.action_space = _space(self._env.action_space())
        self.render_mode = render_mode
        self.render_size = (int(render_size[0]), int(render_size[1]))
        self.render_camera = render_camera
        self.metadata = {**self.metadata, "render_fps": self._env.render_fps()}

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        return self._env.reset(seed, _kwargs_json(options or {}))

    def step(self, action) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict]:
        return self._env.step(action)

    def render(self) -> Optional[np.ndarray]:
        """The current state as an ``(height, width, 3)`` uint8 array (rgb_array mode)."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() without render_mode: make the env with render_mode='rgb_array'")
            return None
        width, height = self.render_size
        return self._env.render(width, height, self.render_camera)

    def captions(self) -> list[str]:
        """The true facts of the current state in plain English (one phrasing each)."""
        return [text for _fact, text in self._env.captions()]

    def close(self):
        self._env.close()


class VlmgymVectorEnv(VectorEnv):
    """``num_envs`` Rust envs stepped together in Rust (sync, or threaded on every core),
    observations gathered into one ``(num_envs, *shape)`` float32 batch, with Gymnasium's
    next-step or same-step autoreset.

    Infos follow Gymnasium's vector convention: a dict of arrays over the envs with a
    boolean ``_key`` mask beside each key. In same-step mode the last observation and info
    of an episode that ended are in ``infos["final_obs"]`` / ``infos["final_info"]``.
    """

    def __init__(
        self,
        env_id: str,
        num_envs: int,
        vectorization_mode: str = "threaded",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ):
        mode = AutoresetMode(autoreset_mode)
        self._kwargs_json = _kwargs_json(kwargs)
        self._env = _native.VecEnv(env_id, int(num_envs), self._kwargs_json, vectorization_mode, mode.value)
        self.env_id = env_id
        self.num_envs = int(num_envs)
        self.single_observation_space = _space(self._env.observation_space())
        self.single_action_space = _space(self._env.action_space())
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": mode, "render_modes": []}
        self.render_mode = None

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise InvalidArgumentError(f"seed must be an int or None (env i gets seed + i), got {seed!r}")
        super().reset(seed=seed)
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if mask is not None:
            mask = [bool(m) for m in np.asarray(mask, dtype=bool).reshape(-1)]
        return self._env.reset(None if seed is None else int(seed), _kwargs_json(options), mask)

    def step(self, actions):
        return self._env.step(actions)

    def close_extras(self, **kwargs):
        self._env.close()


def _native_reward(
    env_id: str,
    kwargs_json: str,
    num_envs: int,
    goal: str,
    negative: Optional[str] = None,
    baseline: Optional[str] = None,
    *,
    kind: Optional[str] = None,
    alpha: float = 0.5,
    window: float = 0.03,
    offset: float = 0.0,
    reward_config: Optional[str] = None,
    tower: Optional[str] = None,
    camera: Optional[str] = None,
    text_head: Optional[str] = None,
    no_text_head: bool = False,
) -> "_native.LanguageReward":
    """The Rust language reward of ``num_envs`` envs of ``env_id`` (the settings of
    :class:`LanguageReward`)."""
    if not isinstance(goal, str) or not goal.strip():
        raise InvalidArgumentError("a language reward needs a non-empty goal")
    if negative is not None and baseline is not None:
        raise InvalidArgumentError("give either negative= (CLG) or baseline= (VLM-RM), not both")
    settings = {"kind": kind, "goal": goal, "negative": negative, "baseline": baseline, "alpha": alpha,
                "window": window, "offset": offset, "reward_config": reward_config,
                "tower": None if tower is None else str(tower), "camera": camera,
                "text_head": None if text_head is None else str(text_head), "no_text_head": bool(no_text_head)}
    return _native.LanguageReward(env_id, kwargs_json, num_envs, json.dumps(settings))


class LanguageReward(gymnasium.Wrapper):
    """Replaces a vlmgym env's reward with the synthesized language reward of a text goal.

    Each step draws the env's state with the CPU rasteriser, scores the frame against
    ``goal`` (CLG with ``negative``, VLM-RM with ``baseline`` and ``alpha``, else the
    cosine similarity) with the shipped reward model (or ``tower``), and runs the env's
    reward-synthesis config (or ``reward_config``: a built-in name such as
    ``cartpole_vlmrm`` or a TOML path), exactly as ``vlmgym rollout --goal ...`` and
    ``vlmgym train --reward ...`` do. ``info`` gains ``env_reward`` (the env's own reward)
    and ``language_terms`` (each synthesis term, ``semantic_score`` first).

    Keyword settings: ``kind`` ("clg", "vlmrm", "semantic"; default from ``negative`` /
    ``baseline``), ``alpha`` (0.5), ``window`` (CLG's, 0.03), ``offset`` (where CLG's window starts on
    the contrast, 0; ``vlmgym reward-check`` reports one under ``range``), ``reward_config``, ``tower``,
    ``camera`` (default: the camera the reward model was trained on for the env),
    ``text_head`` (a text head file instead of the tower's own) and ``no_text_head`` (read
    the goal without the tower's text head).

    Given a vector env (:func:`make_vec`), it returns a :class:`VectorLanguageReward`,
    which scores all envs' frames as one batch.
    """

    def __new__(cls, env, *args, **kwargs):
        if isinstance(env, VectorEnv):
            return VectorLanguageReward(env, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, env: gymnasium.Env, goal: str, negative: Optional[str] = None,
                 baseline: Optional[str] = None, **settings: Any):
        super().__init__(env)
        base = env.unwrapped
        if not isinstance(base, VlmgymEnv):
            raise InvalidArgumentError(f"LanguageReward wraps vlmgym envs, got {type(base).__name__}")
        self._reward = _native_reward(base.env_id, base._kwargs_json, 1, goal, negative, baseline, **settings)
        self._names = self._reward.term_names()
        self.goal = goal

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._reward.start_episode(0)
        return obs, info

    def step(self, action):
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        reward, terms = self._reward.score_env(self.env.unwrapped._env, terminated, truncated)
        info = {**info, "env_reward": env_reward, "language_terms": dict(zip(self._names, terms))}
        return obs, reward, terminated, truncated, info


class VectorLanguageReward(gymnasium.vector.VectorWrapper):
    """:class:`LanguageReward` for a vector env from :func:`make_vec` (next-step or disabled
    autoreset): every env's frame of a step is scored in one batch. An env's autoreset step
    (its reset observation after an episode ended) gets reward 0 and starts its reward's new
    episode. ``infos`` gain ``env_reward`` and one array per term."""

    def __init__(self, env: VectorEnv, goal: str, negative: Optional[str] = None,
                 baseline: Optional[str] = None, **settings: Any):
        super().__init__(env)
        base = env.unwrapped
        if not isinstance(base, VlmgymVectorEnv):
            raise InvalidArgumentError(f"VectorLanguageReward wraps vlmgym.make_vec envs, got {type(base).__name__}")
        if base.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
            raise InvalidArgumentError(
                "VectorLanguageReward needs next-step or disabled autoreset: in same-step mode the "
                "state after an episode's last step is already the next episode's"
            )
        self._reward = _native_reward(base.env_id, base._kwargs_json, base.num_envs, goal, negative, baseline,
                                      **settings)
        self._names = self._reward.term_names()
        self._ended = np.zeros(base.num_envs, dtype=bool)
        self.goal = goal

    def reset(self, *, seed=None, options=None):
        obs, infos = self.env.reset(seed=seed, options=options)
        mask = (options or {}).get("reset_mask")
        mask = np.ones(self.num_envs, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        for i in np.flatnonzero(mask):
            self._reward.start_episode(int(i))
            self._ended[i] = False
        return obs, infos

    def step(self, actions):
        obs, env_rewards, terminations, truncations, infos = self.env.step(actions)
        base = self.env.unwrapped
        scored = self._reward.score_vec(base._env, list(map(bool, terminations)), list(map(bool, truncations)))
        rewards = np.array([r for r, _ in scored], dtype=np.float64)
        terms = np.array([t for _, t in scored], dtype=np.float64).reshape(self.num_envs, len(self._names))
        if base.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP:
            for i in np.flatnonzero(self._ended):
                # This step reset env i instead of stepping it: no transition to reward.
                self._reward.start_episode(int(i))
                rewards[i] = 0.0
                terms[i] = np.nan
        self._ended = np.logical_or(terminations, truncations)
        infos = dict(infos)
        infos["env_reward"] = env_rewards
        infos["_env_reward"] = np.ones(self.num_envs, dtype=bool)
        for k, name in enumerate(self._names):
            infos[name] = terms[:, k]
            infos[f"_{name}"] = np.ones(self.num_envs, dtype=bool)
        return obs, rewards, terminations, truncations, infos


def make(env_id: str, **kwargs: Any) -> gymnasium.Env:
    """``gymnasium.make("vlmgym/<env_id>", **kwargs)``; the id may carry the namespace."""
    if not env_id.startswith(NAMESPACE + "/"):
        env_id = f"{NAMESPACE}/{env_id}"
    return gymnasium.make(env_id, **kwargs)


def make_vec(
    env_id: str,
    num_envs: int = 1,
    vectorization_mode: Optional[str] = None,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    **kwargs: Any,
) -> VlmgymVectorEnv:
    """A vector env of ``num_envs`` copies of ``env_id`` stepped in Rust.

    ``vectorization_mode``: ``"sync"`` (one after another on the calling thread), or
    ``"threaded"`` / ``"async"`` / ``None`` (Rust worker threads on every core; batches too
    cheap to hand out run inline). ``max_episode_steps`` in ``kwargs`` replaces the
    registered time limit; other kwargs reach the env's constructor.
    """
    if env_id.startswith(NAMESPACE + "/"):
        env_id = env_id[len(NAMESPACE) + 1 :]
    mode = {None: "threaded", "async": "threaded", "vector_entry_point": "threaded"}.get(vectorization_mode, vectorization_mode)
    return VlmgymVectorEnv(env_id, num_envs, vectorization_mode=mode, autoreset_mode=autoreset_mode, **kwargs)


def _vector_entry_point(env_id: str):
    def entry(num_envs: int, **kwargs):
        kwargs.pop("env_id", None)  # the registration's own kwarg
        if kwargs.pop("render_mode", None) is not None:
            raise InvalidArgumentError("vlmgym vector envs do not render; render a single env")
        return VlmgymVectorEnv(env_id, num_envs, **kwargs)

    return entry


def _register_all() -> None:
    for env_id in env_ids():
        full = f"{NAMESPACE}/{env_id}"
        if full in gymnasium.registry:
            continue
        spec = json.loads(_native.env_spec(env_id))
        gymnasium.register(
            id=full,
            entry_point=VlmgymEnv,
            vector_entry_point=_vector_entry_point(env_id),
            max_episode_steps=spec.get("max_episode_steps"),
            reward_threshold=spec.get("reward_threshold"),
            kwargs={"env_id": env_id},
        )


_register_all()

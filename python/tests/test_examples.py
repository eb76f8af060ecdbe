"""The torch / Ray examples, opt in (they train for minutes and need stable-baselines3,
torch and ray[rllib] in the venv): `scripts/python_tests.sh -m examples`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def last_json(cmd, timeout):
    out = subprocess.run([sys.executable, *cmd], check=True, capture_output=True, text=True, timeout=timeout).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.examples
def test_sb3_ppo_solves_vlmgym_cartpole_within_100k_steps():
    r = last_json([str(EXAMPLES / "sb3_cartpole.py"), "--steps", "100000", "--seed", "0"], timeout=1800)
    assert r["mean_return"] >= 475, r


@pytest.mark.examples
def test_rllib_ppo_with_two_env_runners_reaches_475():
    r = last_json([str(EXAMPLES / "rllib_cartpole.py"), "--env-runners", "2"], timeout=3600)
    assert r["reached"], r


@pytest.mark.examples
def test_sb3_learns_driving_from_the_text_goal_without_errors():
    r = last_json([str(EXAMPLES / "sb3_driving_language.py"), "--steps", "4096"], timeout=1800)
    assert r["steps"] >= 4096 and r["language_return"] == r["language_return"], r

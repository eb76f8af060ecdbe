//! The navigation family's registry entries (the `ego` reward camera at 4 Hz, the arrow-key
//! map, the `navigation_vlmrl` reward config) and their state sampler.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::{Nav, NavConfig};
use crate::env::{Info, Options};
use crate::error::Result;
use crate::metadata::{keymaps, EnvMetadata, Keys, ResetPlan, StateSampler};
use crate::registry::{boxed, EnvSpec};
use crate::spaces::{Space, Value};

/// Go to the named object in one room (MiniWorld's OneRoom, Habitat's ObjectNav success).
pub const NAV_GOTO_ID: &str = "NavGoTo-v0";
/// Go to the named object in another of four rooms joined by doors.
pub const NAV_ROOMS_ID: &str = "NavRooms-v0";

/// The robot's keys: left / right arrows turn, up moves forward, down stops (the episode's
/// end in `stop` mode); nothing held waits. Continuous: up / down drive forward / back.
pub fn keymap(space: &Space, keys: Keys) -> Result<Value> {
    match space {
        Space::Discrete(d) if d.n == 5 => Ok(Value::Discrete(match (keys.horizontal(), keys.vertical()) {
            (-1, _) => 0,
            (1, _) => 1,
            (_, 1) => 2,
            (_, -1) => 3,
            _ => 4,
        })),
        Space::Box(b) if b.shape() == [2] => Ok(Value::Box(vec![keys.vertical() as f32, -keys.horizontal() as f32])),
        other => Err(keymaps::unsupported(other)),
    }
}

/// The registry entries of the navigation envs.
pub fn specs() -> Vec<EnvSpec> {
    let meta = EnvMetadata::default()
        .render_fps(4.0)
        .reward_camera("ego")
        .keyboard(keymap)
        .keyboard_help("left/right turn  up forward  down stop")
        .reward_config("navigation_vlmrl")
        .sampler(NavSampler);
    vec![
        EnvSpec::new(
            NAV_GOTO_ID,
            "A round robot in a room with objects: go to the red ball and stop within 1 m (ObjectNav success)",
            move |k| boxed(NavConfig::from_kwargs(NavConfig::goto(), k).map(Nav::new)),
        )
        .max_episode_steps(250)
        .metadata(meta.clone()),
        EnvSpec::new(
            NAV_ROOMS_ID,
            "A round robot in four rooms joined by doors: go to the red ball in another room and stop by it",
            move |k| boxed(NavConfig::from_kwargs(NavConfig::rooms(), k).map(Nav::new)),
        )
        .max_episode_steps(500)
        .metadata(meta),
    ]
}

/// Navigation states for reward-model datasets and `reward-check`: the robot placed by
/// `agent_view` with the target straight ahead (1-3.5 m, within 10 degrees; four groups in
/// ten), off to a side but in view (two in ten), or out of view (behind, 60-180 degrees
/// away; four in ten), then a few random turns and steps. With `hard_cases`, also the
/// target just inside and just outside the view's edge, and the target right by the robot.
/// Labels: "the target is right in front of the robot" (`target.in_front`) against "no
/// target is in view" (`target.not_in_view`).
pub struct NavSampler;

impl StateSampler for NavSampler {
    fn plan(&self, rng: &mut ChaCha8Rng, hard_cases: bool) -> ResetPlan {
        let scenario = rng.random_range(0..if hard_cases { 13 } else { 10 });
        let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let (d, bearing): (f64, f64) = match scenario {
            0..4 => (rng.random_range(1.2..3.5), rng.random_range(-10.0..10.0)),
            4..6 => (rng.random_range(1.2..4.0), sign * rng.random_range(18.0..35.0)),
            6..10 => (rng.random_range(1.0..5.0), sign * rng.random_range(60.0..180.0)),
            10 => (rng.random_range(1.2..4.0), sign * rng.random_range(32.0..45.0)),
            11 => (rng.random_range(0.5..1.0), rng.random_range(-15.0..15.0)),
            _ => (rng.random_range(4.0..6.0), rng.random_range(-10.0..10.0)),
        };
        let mut options = Options::new();
        options.insert("agent_view".into(), json!([d, bearing]));
        ResetPlan { options, steps: 2, record_every: 2, record_reset: true }
    }

    /// Waits and small turns, so the view changes a little.
    fn action(&self, space: &Space, rng: &mut ChaCha8Rng) -> Value {
        match space {
            Space::Discrete(_) => Value::Discrete([0, 1, 4, 4][rng.random_range(0..4)]),
            _ => Value::Box(vec![0.0, rng.random_range(-0.3..0.3)]),
        }
    }

    fn success(&self, info: &Info, _terminated: bool) -> bool {
        info.get("success").and_then(|s| s.as_bool()).unwrap_or(false)
    }

    fn label(&self, facts: &[&str], _success: bool) -> Option<bool> {
        if facts.contains(&"target.in_front") {
            Some(true)
        } else if facts.contains(&"target.not_in_view") {
            Some(false)
        } else {
            None
        }
    }
}

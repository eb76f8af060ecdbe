//! The driving family's registry entries and metadata: 15 Hz like VLM-RL's CARLA, the
//! bird's-eye reward camera, arrow-key driving, the `driving_vlmrl` reward config, and the
//! state sampler behind Driving's reward-model datasets and `reward-check`.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::{Driving, DISCRETE_STEER, DISCRETE_THROTTLE};
use crate::env::{Info, Options};
use crate::error::Result;
use crate::metadata::{keymaps, EnvMetadata, Keys, ResetPlan, StateSampler};
use crate::registry::{boxed, EnvSpec};
use crate::spaces::{Space, Value};

/// The id of the continuous-action driving env.
pub const DRIVING_ID: &str = "Driving-v0";

/// Gap (m) to the car ahead under which a frame without contact looks like a rear-end crash
/// (a bird's-eye pixel of the `bev` frame is about 0.48 m at 84x84, 0.36 m at 112x112).
pub const AMBIGUOUS_GAP: f64 = 0.3;

/// Driving states on every map: cars placed across and off the lane, skewed, at all
/// speeds, some rear-ending a stopped car ahead; with `hard_cases`, also close following,
/// near misses and crashes from several gaps, speeds and lateral offsets. Labels: centred
/// in the lane without collision (success) vs any collision (failure).
pub struct DrivingSampler;

impl StateSampler for DrivingSampler {
    fn sources(&self) -> Vec<Options> {
        ["loop", "town", "country"]
            .iter()
            .map(|map| {
                let mut kwargs = Options::new();
                kwargs.insert("map".into(), json!(map));
                kwargs
            })
            .collect()
    }

    fn plan(&self, rng: &mut ChaCha8Rng, hard_cases: bool) -> ResetPlan {
        let mut options = Options::new();
        options.insert("route_progress".into(), json!(rng.random_range(0.0..150.0)));
        let scenario = rng.random_range(0..if hard_cases { 16 } else { 10 });
        if scenario >= 10 {
            return crash_plan(scenario, options, rng);
        }
        if scenario < 3 {
            // Rear-end a stopped car ahead.
            options.insert("speed".into(), json!(rng.random_range(6.0..12.0)));
            options.insert("npc_ahead".into(), json!(rng.random_range(6.0..14.0)));
            return ResetPlan { options, steps: 40, record_every: 8, record_reset: true };
        }
        let lateral: f64 = if scenario < 7 { rng.random_range(-0.6..0.6) } else { rng.random_range(-2.9..2.9) };
        options.insert("lateral_offset".into(), json!(lateral));
        options.insert("heading_error".into(), json!(rng.random_range(-0.5..0.5)));
        options.insert("speed".into(), json!(rng.random_range(0.0..12.0)));
        ResetPlan { options, steps: 24, record_every: 8, record_reset: true }
    }

    /// Random actions with the steering kept small (so cars drift rather than spin).
    fn action(&self, space: &Space, rng: &mut ChaCha8Rng) -> Value {
        if let Space::Box(_) = space {
            let steer: f32 = rng.random_range(-0.25..0.25);
            return Value::Box(vec![steer, rng.random_range(-0.2..0.9)]);
        }
        space.sample(rng)
    }

    fn success(&self, info: &Info, terminated: bool) -> bool {
        info.get("collision").is_none_or(|c| c.is_null()) && !terminated
    }

    /// A frame of two cars touching without contact (the car ahead within
    /// [`AMBIGUOUS_GAP`]) looks like a rear-end crash but is captioned "there is no
    /// collision", which no picture can tell apart.
    fn ambiguous(&self, state: &BTreeMap<String, f64>) -> bool {
        state.get("collision") == Some(&0.0) && state.get("gap_ahead").is_some_and(|g| *g < AMBIGUOUS_GAP)
    }

    fn label(&self, facts: &[&str], _success: bool) -> Option<bool> {
        let has = |f: &str| facts.contains(&f);
        if has("collision.car") || has("collision.barrier") {
            Some(false)
        } else if has("lane.centre") && has("collision.none") {
            Some(true)
        } else {
            None
        }
    }
}

/// The hard-case groups (scenarios 10 to 15): frames every 3 steps, so the gap to the car
/// ahead or to the barrier closes in small steps up to (and sometimes into) the crash.
fn crash_plan(scenario: u32, mut options: Options, rng: &mut ChaCha8Rng) -> ResetPlan {
    let mut put = |k: &str, v: f64| options.insert(k.into(), json!(v));
    match scenario {
        10 | 11 => {
            // Follow a moving car closely (mostly no crash: close-following positives).
            let v = rng.random_range(6.0..12.0);
            put("speed", v);
            put("npc_ahead", rng.random_range(5.0..12.0));
            put("npc_ahead_speed", (v + rng.random_range(-2.5..1.0)).max(0.0));
            put("lateral_offset", rng.random_range(-0.4..0.4));
        }
        12 | 13 => {
            // Run into a stopped car from further away, centred or offset (partial overlap).
            put("speed", rng.random_range(4.0..12.0));
            put("npc_ahead", rng.random_range(5.0..20.0));
            put("lateral_offset", rng.random_range(-1.2..1.2));
            put("heading_error", rng.random_range(-0.1..0.1));
            return ResetPlan { options, steps: 60, record_every: 3, record_reset: true };
        }
        14 => {
            // Catch up with a slow car.
            put("speed", rng.random_range(8.0..14.0));
            put("npc_ahead", rng.random_range(5.0..15.0));
            put("npc_ahead_speed", rng.random_range(0.0..4.0));
            put("lateral_offset", rng.random_range(-0.5..0.5));
        }
        _ => {
            // Drift off the lane towards the barrier on either side.
            let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            put("lateral_offset", side * rng.random_range(1.0..2.9));
            put("heading_error", side * rng.random_range(0.1..0.6));
            put("speed", rng.random_range(4.0..12.0));
        }
    }
    ResetPlan { options, steps: 45, record_every: 3, record_reset: true }
}

/// Arrow keys for `Driving-v0`: left/right steer (+ is left), up/down throttle and brake.
pub fn drive_keys(space: &Space, keys: Keys) -> Result<Value> {
    match space {
        Space::Box(b) if b.shape() == [2] => Ok(Value::Box(vec![-keys.horizontal() as f32, keys.vertical() as f32])),
        other => Err(keymaps::unsupported(other)),
    }
}

/// Arrow keys for `Driving-Discrete-v0`: the action `3 * steer + throttle` whose steer
/// ([`DISCRETE_STEER`], + is left) and throttle ([`DISCRETE_THROTTLE`]) the keys point at;
/// with no key held the car keeps rolling.
pub fn drive_keys_discrete(space: &Space, keys: Keys) -> Result<Value> {
    match space {
        Space::Discrete(d) if d.n as usize == DISCRETE_STEER.len() * DISCRETE_THROTTLE.len() => {
            let steer = [4, 2, 0][(keys.horizontal() + 1) as usize];
            let throttle = (keys.vertical() + 1) as i64;
            Ok(Value::Discrete(d.start + 3 * steer + throttle))
        }
        other => Err(keymaps::unsupported(other)),
    }
}

/// The driving registry entries. 1,500 steps at 15 Hz = 100 s: a loop lap or a town route
/// at VLM-RL's 25 km/h with room to spare.
pub fn specs() -> Vec<EnvSpec> {
    let meta = EnvMetadata::default()
        .render_fps(15.0)
        .reward_camera("bev")
        .reward_config("driving_vlmrl")
        .sampler(DrivingSampler);
    vec![
        EnvSpec::new(DRIVING_ID, "drive a route on generated roads with traffic, continuous steer/throttle", |k| {
            boxed(Driving::from_kwargs(k, false))
        })
        .max_episode_steps(1500)
        .metadata(meta.clone().keyboard(drive_keys)),
        EnvSpec::new(
            "Driving-Discrete-v0",
            "drive a route on generated roads with traffic, 15 discrete actions",
            |k| boxed(Driving::from_kwargs(k, true)),
        )
        .max_episode_steps(1500)
        .metadata(meta.keyboard(drive_keys_discrete)),
    ]
}

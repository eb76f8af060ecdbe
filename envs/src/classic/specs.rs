//! The classic-control family's registry entries and metadata: render rates as Gymnasium
//! declares them, keyboard maps, and state samplers for the envs that draw a Scene.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::{cartpole_scene, Acrobot, CartPole, MountainCar, MountainCarContinuous, Pendulum};
use crate::env::Options;
use crate::metadata::{keymaps, EnvMetadata, Landscape, ResetPlan, StateSampler};
use crate::registry::{boxed, EnvSpec};

/// The id of CartPole with Gymnasium's v1 limit (500 steps).
pub const CARTPOLE_ID: &str = "CartPole-v1";

/// CartPole states: half with the pole near upright (inside the 12 degree limit), half
/// anywhere from upright to lying flat, the cart anywhere on the track. Labels: pole upright
/// (success) vs fallen (failure).
pub struct CartPoleSampler;

impl StateSampler for CartPoleSampler {
    fn plan(&self, rng: &mut ChaCha8Rng, _hard_cases: bool) -> ResetPlan {
        let mut options = Options::new();
        let theta = if rng.random_bool(0.5) { rng.random_range(-0.2..0.2) } else { rng.random_range(-1.5..1.5) };
        let x = rng.random_range(-2.6..2.6);
        options.insert("init_state".into(), json!([x, rng.random_range(-0.5..0.5), theta, 0.0]));
        ResetPlan { options, steps: 3, record_every: 3, record_reset: false }
    }

    fn label(&self, facts: &[&str], _success: bool) -> Option<bool> {
        if facts.contains(&"pole.upright") {
            Some(true)
        } else if facts.contains(&"pole.fallen") {
            Some(false)
        } else {
            None
        }
    }
}

/// MountainCar states anywhere on the hill, moving either way (the default reset starts in
/// the valley); with hard cases, more of them near the flag. Labels: at the flag or not.
pub struct MountainCarSampler;

impl StateSampler for MountainCarSampler {
    fn plan(&self, rng: &mut ChaCha8Rng, hard_cases: bool) -> ResetPlan {
        let mut options = Options::new();
        // Hard cases: a third of the groups start near the flag (at it, or just short).
        let position = if hard_cases && rng.random_bool(1.0 / 3.0) {
            rng.random_range(0.3..0.6)
        } else {
            rng.random_range(-1.2..0.6)
        };
        let state = json!([position, rng.random_range(-0.07..0.07)]);
        options.insert("init_state".into(), state);
        ResetPlan { options, steps: 3, record_every: 3, record_reset: true }
    }

    /// At the flag (the env's own goal: `car.at_goal` in the captions) is a success; every
    /// other place, on either slope or in the valley, a failure.
    fn label(&self, facts: &[&str], _success: bool) -> Option<bool> {
        Some(facts.contains(&"car.at_goal"))
    }
}

/// The classic-control registry entries.
pub fn specs() -> Vec<EnvSpec> {
    let cartpole = EnvMetadata::default()
        .render_fps(50.0)
        .keyboard(keymaps::left_right)
        .reward_config("cartpole_vlmrm")
        .sampler(CartPoleSampler)
        .landscape(Landscape {
            x_label: "pole angle (rad)",
            x_range: (-1.5, 1.5),
            y_label: "cart x (m)",
            y_range: (-2.4, 2.4),
            scene: |angle, x| cartpole_scene([x, 0.0, angle, 0.0]),
        });
    let mountain_car = |config: &str| {
        EnvMetadata::default()
            .render_fps(30.0)
            .keyboard(keymaps::left_right_or_push)
            .reward_config(config)
            .sampler(MountainCarSampler)
    };
    vec![
        EnvSpec::new("CartPole-v0", "CartPole with the v0 limit of 200 steps", |k| boxed(CartPole::from_kwargs(k)))
            .max_episode_steps(200)
            .reward_threshold(195.0)
            .metadata(cartpole.clone()),
        EnvSpec::new(CARTPOLE_ID, "balance a pole on a cart (Gymnasium's dynamics)", |k| {
            boxed(CartPole::from_kwargs(k))
        })
        .max_episode_steps(500)
        .reward_threshold(475.0)
        .metadata(cartpole),
        EnvSpec::new("MountainCar-v0", "drive an underpowered car up a hill, discrete pushes", |k| {
            boxed(MountainCar::from_kwargs(k))
        })
        .max_episode_steps(200)
        .reward_threshold(-110.0)
        .metadata(mountain_car("semantic_only")),
        EnvSpec::new("MountainCarContinuous-v0", "drive an underpowered car up a hill, continuous force", |k| {
            boxed(MountainCarContinuous::from_kwargs(k))
        })
        .max_episode_steps(999)
        .reward_threshold(90.0)
        .metadata(mountain_car("mountaincar_continuous_shaped")),
        EnvSpec::new("Pendulum-v1", "swing a pendulum upright with limited torque", |k| {
            boxed(Pendulum::from_kwargs(k))
        })
        .max_episode_steps(200)
        .metadata(EnvMetadata::default().render_fps(30.0).keyboard(keymaps::push)),
        EnvSpec::new("Acrobot-v1", "swing a two-link arm's tip above a line", |k| boxed(Acrobot::from_kwargs(k)))
            .max_episode_steps(500)
            .reward_threshold(-100.0)
            .metadata(EnvMetadata::default().render_fps(15.0).keyboard(keymaps::left_right)),
    ]
}

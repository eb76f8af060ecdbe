//! What tools need to know about an env beyond `reset` and `step`, kept with the env
//! (Gymnasium's `metadata` and `EnvSpec`): its render rate, the camera reward models watch
//! it from, the viewer's keyboard map, its default reward-synthesis config, and how to
//! sample varied states of it with labels for reward-model datasets and `reward-check`.
//!
//! Each env family fills an [`EnvMetadata`] in its own folder and hands it to the registry
//! with its [`EnvSpec`](crate::EnvSpec). Tools ask the spec
//! ([`EnvSpec::metadata`](crate::EnvSpec)) and never match env ids. A piece an env does not
//! have is an error naming the env and what was needed ([`EnvMetadata::sampler`] and the
//! other `require_*` accessors), not a silent default.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::env::{Info, Options};
use crate::error::{EnvError, Result};
use crate::scene::Scene;
use crate::spaces::{Space, Value};

/// The keys held in the viewer at one step: the arrows, and for envs that move in 3-D
/// (the arm) W / S (raise, lower) and G (grip).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    /// Left arrow.
    pub left: bool,
    /// Right arrow.
    pub right: bool,
    /// Up arrow.
    pub up: bool,
    /// Down arrow.
    pub down: bool,
    /// W: raise.
    pub raise: bool,
    /// S: lower.
    pub lower: bool,
    /// G: close the gripper (open while released).
    pub grip: bool,
}

impl Keys {
    /// -1 (left), 0 or +1 (right).
    pub fn horizontal(&self) -> i32 {
        i32::from(self.right) - i32::from(self.left)
    }

    /// -1 (down), 0 or +1 (up).
    pub fn vertical(&self) -> i32 {
        i32::from(self.up) - i32::from(self.down)
    }
}

/// Turns the held arrow keys into an action of the given action space.
pub type KeyMap = fn(&Space, Keys) -> Result<Value>;

/// A group of states for a dataset: reset with `options`, take `steps` sampled actions and
/// record every `record_every`-th state (and the state after the reset when
/// `record_reset`), stopping early when the episode ends.
#[derive(Clone, Debug, PartialEq)]
pub struct ResetPlan {
    /// Reset options (e.g. an exact start state, a placement on the road).
    pub options: Options,
    /// Actions to take after the reset.
    pub steps: usize,
    /// Record every n-th step.
    pub record_every: usize,
    /// Also record the state right after the reset.
    pub record_reset: bool,
}

/// How to draw varied, labelled states of an env, for reward-model datasets
/// (`vlmgym dataset`) and for judging a goal against the ground truth (`vlmgym
/// reward-check`). Every method draws from the generator it is given, so a seeded caller
/// gets the same states every time.
pub trait StateSampler: Send + Sync {
    /// The constructor kwargs frames are drawn from, sharing the frames equally (Driving:
    /// one per map). Default: the env as registered.
    fn sources(&self) -> Vec<Options> {
        vec![Options::new()]
    }

    /// The next group of states. `hard_cases` adds the close calls and failures a reward
    /// model needs to train on (off: the plain groups `reward-check` samples).
    fn plan(&self, rng: &mut ChaCha8Rng, hard_cases: bool) -> ResetPlan;

    /// An action to take in the group (default: a uniform sample of the action space).
    fn action(&self, space: &Space, rng: &mut ChaCha8Rng) -> Value {
        space.sample(rng)
    }

    /// Whether the state a step (or reset) led to counts as the task going well.
    fn success(&self, info: &Info, terminated: bool) -> bool {
        let _ = info;
        !terminated
    }

    /// Whether a frame of this state would look like another fact than its captions say
    /// (such frames can be left out of training data). `state` is `info["state"]`.
    fn ambiguous(&self, state: &BTreeMap<String, f64>) -> bool {
        let _ = state;
        false
    }

    /// A state's label for `reward-check`: a clear success (`Some(true)`), a clear failure
    /// (`Some(false)`) or neither, from the facts of its captions and its success flag.
    fn label(&self, facts: &[&str], success: bool) -> Option<bool> {
        let _ = facts;
        Some(success)
    }
}

/// A two-parameter family of states to draw a goal's score over (VLM-RMs' reward
/// landscape figure: CartPole's pole angle by cart position).
#[derive(Clone, Copy, Debug)]
pub struct Landscape {
    /// What the x axis varies, with its unit (e.g. "pole angle (rad)").
    pub x_label: &'static str,
    /// The x range.
    pub x_range: (f64, f64),
    /// What the y axis varies, with its unit.
    pub y_label: &'static str,
    /// The y range.
    pub y_range: (f64, f64),
    /// The scene of the state at (x, y).
    pub scene: fn(f64, f64) -> Scene,
}

/// Everything about an env that tools other than `reset`/`step` need (see the module doc).
#[derive(Clone, Default)]
pub struct EnvMetadata {
    /// Steps per second of simulated time, as Gymnasium's `render_fps` (the viewer plays
    /// at this rate).
    pub render_fps: Option<f64>,
    /// The scene camera reward models see the env from (None: the scene's first camera).
    pub reward_camera: Option<String>,
    /// The viewer's keyboard map.
    pub keyboard: Option<KeyMap>,
    /// What the keys do, for the viewer's HUD (None: "arrows act").
    pub keyboard_help: Option<String>,
    /// The reward-synthesis config (a name under `assets/rewards`) a language reward goes
    /// through by default.
    pub reward_config: Option<String>,
    /// How to sample labelled states for datasets and `reward-check`.
    pub sampler: Option<Arc<dyn StateSampler>>,
    /// The states `reward-check --landscape` scores.
    pub landscape: Option<Landscape>,
}

impl fmt::Debug for EnvMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvMetadata")
            .field("render_fps", &self.render_fps)
            .field("reward_camera", &self.reward_camera)
            .field("keyboard", &self.keyboard.is_some())
            .field("keyboard_help", &self.keyboard_help)
            .field("reward_config", &self.reward_config)
            .field("sampler", &self.sampler.is_some())
            .field("landscape", &self.landscape.is_some())
            .finish()
    }
}

fn missing(id: &str, what: &str, needed_for: &str) -> EnvError {
    EnvError::MissingMetadata { id: id.to_string(), what: what.to_string(), needed_for: needed_for.to_string() }
}

impl EnvMetadata {
    /// Sets the render rate.
    pub fn render_fps(mut self, fps: f64) -> Self {
        self.render_fps = Some(fps);
        self
    }

    /// Sets the reward camera.
    pub fn reward_camera(mut self, name: &str) -> Self {
        self.reward_camera = Some(name.to_string());
        self
    }

    /// Sets the keyboard map.
    pub fn keyboard(mut self, map: KeyMap) -> Self {
        self.keyboard = Some(map);
        self
    }

    /// Sets what the keys do, as the viewer's HUD says it ("arrows move the gripper ...").
    pub fn keyboard_help(mut self, help: &str) -> Self {
        self.keyboard_help = Some(help.to_string());
        self
    }

    /// Sets the default reward-synthesis config.
    pub fn reward_config(mut self, name: &str) -> Self {
        self.reward_config = Some(name.to_string());
        self
    }

    /// Sets the state sampler.
    pub fn sampler(mut self, sampler: impl StateSampler + 'static) -> Self {
        self.sampler = Some(Arc::new(sampler));
        self
    }

    /// Sets the landscape.
    pub fn landscape(mut self, landscape: Landscape) -> Self {
        self.landscape = Some(landscape);
        self
    }

    /// The landscape of env `id`, or an error saying `needed_for` needs it.
    pub fn require_landscape(&self, id: &str, needed_for: &str) -> Result<Landscape> {
        self.landscape.ok_or_else(|| missing(id, "a reward landscape", needed_for))
    }

    /// The render rate of env `id`, or an error saying `needed_for` needs it.
    pub fn require_render_fps(&self, id: &str, needed_for: &str) -> Result<f64> {
        self.render_fps.filter(|f| *f > 0.0).ok_or_else(|| missing(id, "a render rate (render_fps)", needed_for))
    }

    /// The keyboard map of env `id`, or an error saying `needed_for` needs it.
    pub fn require_keyboard(&self, id: &str, needed_for: &str) -> Result<KeyMap> {
        self.keyboard.ok_or_else(|| missing(id, "a keyboard map", needed_for))
    }

    /// The default reward config of env `id`, or an error saying `needed_for` needs it.
    pub fn require_reward_config(&self, id: &str, needed_for: &str) -> Result<&str> {
        self.reward_config.as_deref().ok_or_else(|| missing(id, "a default reward-synthesis config", needed_for))
    }

    /// The state sampler of env `id`, or an error saying `needed_for` needs it.
    pub fn require_sampler(&self, id: &str, needed_for: &str) -> Result<&dyn StateSampler> {
        self.sampler.as_deref().ok_or_else(|| missing(id, "a state sampler (reward metadata)", needed_for))
    }
}

/// Keyboard maps shared by several envs.
pub mod keymaps {
    use super::*;

    /// Discrete actions: left is the first action, right the last; with an odd count the
    /// middle one (a no-op, e.g. MountainCar's and Acrobot's) when no key is held.
    pub fn left_right(space: &Space, keys: Keys) -> Result<Value> {
        match space {
            Space::Discrete(d) => {
                let n = d.n;
                Ok(Value::Discrete(
                    d.start
                        + match keys.horizontal() {
                            -1 => 0,
                            1 => n - 1,
                            _ if n % 2 == 1 => n / 2,
                            _ => 0,
                        },
                ))
            }
            other => Err(unsupported(other)),
        }
    }

    /// A one-element Box (a force or torque): left is the lowest value, right the highest.
    pub fn push(space: &Space, keys: Keys) -> Result<Value> {
        match space {
            Space::Box(b) if b.shape() == [1] => Ok(Value::Box(vec![keys.horizontal() as f32 * b.high()[0]])),
            other => Err(unsupported(other)),
        }
    }

    /// [`left_right`] for discrete spaces, [`push`] for one-element Boxes.
    pub fn left_right_or_push(space: &Space, keys: Keys) -> Result<Value> {
        match space {
            Space::Discrete(_) => left_right(space, keys),
            _ => push(space, keys),
        }
    }

    /// The arm's `pd_ee_delta_pos` actions (4-dim): the up / down arrows move the gripper
    /// away from / toward the robot's base (+-x), left / right to +-y, W / S raise and lower
    /// it, each at half the largest step; G held closes the gripper.
    pub fn arm(space: &Space, keys: Keys) -> Result<Value> {
        match space {
            Space::Box(b) if b.shape() == [4] => Ok(Value::Box(vec![
                0.5 * keys.vertical() as f32,
                -0.5 * keys.horizontal() as f32,
                0.5 * (i32::from(keys.raise) - i32::from(keys.lower)) as f32,
                if keys.grip { -1.0 } else { 1.0 },
            ])),
            other => Err(unsupported(other)),
        }
    }

    /// The error of a key map given a space it does not act in.
    pub fn unsupported(space: &Space) -> EnvError {
        EnvError::InvalidAction { space: space.to_string(), reason: "the keyboard cannot act in this space".into() }
    }
}

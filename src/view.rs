//! `vlmgym view`: play one env in a window, driven by the keyboard or a trained checkpoint,
//! with the language reward (a `--goal`, or the one the checkpoint was trained on) scored
//! live and each of its terms on the HUD.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vlmgym_agents::Device;
use vlmgym_envs::{make_with, Env, Options, Scene, Space, Value};
use vlmgym_render::viewer::{self, Controls, Driver, HudState, ViewerConfig};

use crate::language_reward::{LiveReward, RewardSettings};
use crate::train::{checkpoint_file, Act, CheckpointRun};

/// What `vlmgym view` plays.
pub struct ViewArgs {
    /// Env id (optional with a checkpoint: the one it trained on).
    pub env_id: Option<String>,
    /// A run directory (its newest checkpoint) or a checkpoint file; None: the keyboard acts.
    pub checkpoint: Option<PathBuf>,
    /// Constructor kwargs (with a checkpoint: over the run's).
    pub kwargs: Options,
    /// Seed of the first reset (and of the policy's sampling).
    pub seed: u64,
    /// Sample the policy's actions instead of taking the most likely one.
    pub stochastic: bool,
    /// A language reward to score live; None: the checkpoint's, if it trained on one.
    pub reward: Option<RewardSettings>,
    /// The window.
    pub window: ViewerConfig,
    /// Where the policy and the reward model run.
    pub device: Device,
}

/// Seconds per step: one over the env's `render_fps` (its metadata).
pub fn step_seconds(env_id: &str) -> Result<f64> {
    let spec = vlmgym_envs::registry::spec(env_id)?;
    Ok(1.0 / spec.metadata.require_render_fps(env_id, "`vlmgym view`")?)
}

/// The action the arrow keys stand for in `env_id`, by the env's keyboard map (its
/// metadata): arrows drive the car, push the cart, push the mountain car, torque the
/// pendulum or the acrobot, move the arm's gripper (with W / S up and down, G to grip).
pub fn keyboard_action(env_id: &str, space: &Space, c: Controls) -> Result<Value> {
    let spec = vlmgym_envs::registry::spec(env_id)?;
    let keys = spec.metadata.require_keyboard(env_id, "`vlmgym view` without --checkpoint")?;
    let keys_held = vlmgym_envs::Keys {
        left: c.left,
        right: c.right,
        up: c.up,
        down: c.down,
        raise: c.raise,
        lower: c.lower,
        grip: c.grip,
    };
    keys(space, keys_held).with_context(|| format!("{env_id}: the keyboard cannot act here; pass --checkpoint"))
}

/// A trained policy and how its observations are prepared.
struct Player {
    act: Act,
    rng: ChaCha8Rng,
    /// How far its run had trained ("update 12", "step 30000").
    progress: String,
}

/// The [`Driver`] of `vlmgym view`: an env, the keyboard or a policy, and the live reward.
pub struct EnvDriver {
    env_id: String,
    env: Box<dyn Env>,
    obs_space: Space,
    obs: Vec<f32>,
    player: Option<Player>,
    live: Option<LiveReward>,
    hud: HudState,
    ended: bool,
    step_seconds: f64,
}

impl EnvDriver {
    /// Makes the env (and loads the checkpoint and the reward model), resets it with `seed`.
    pub fn new(args: &ViewArgs) -> Result<Self> {
        let (checkpoint, run) = match &args.checkpoint {
            Some(path) => {
                let file = checkpoint_file(path)?;
                let run = CheckpointRun::read(&file)?;
                (Some(file), Some(run))
            }
            None => (None, None),
        };
        let env_id = match (&args.env_id, &run) {
            (Some(id), _) => id.clone(),
            (None, Some(r)) => r.env_id.clone(),
            (None, None) => bail!("name an env id (see `vlmgym list`) or pass --checkpoint"),
        };
        let mut kwargs = match &run {
            Some(r) => r.kwargs.clone(),
            None => Options::new(),
        };
        kwargs.extend(args.kwargs.clone());
        let mut env = make_with(&env_id, &kwargs)?;
        if let Some(r) = &run {
            // A pixel policy watches the frames it trained on.
            env = r.observing(env)?;
        }
        let (obs, _) = env.reset(Some(args.seed), &Options::new())?;
        if env.scene().is_none() {
            bail!("{env_id} does not describe a scene, so it cannot be viewed");
        }
        let obs_space = env.observation_space().clone();
        let player = match (&checkpoint, &run) {
            (Some(file), Some(r)) => {
                let act = r.policy(file, &env_id, env.as_ref(), !args.stochastic, &args.device)?;
                let rng = ChaCha8Rng::seed_from_u64(args.seed);
                Some(Player { act, rng, progress: r.progress.clone() })
            }
            _ => {
                // Fail now, not at the first key press, if the keyboard cannot act here.
                keyboard_action(&env_id, env.action_space(), Controls::default())?;
                None
            }
        };
        let settings = match (&args.reward, &run) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(r)) => RewardSettings::from_table(&r.reward)?,
            (None, None) => None,
        };
        let live = settings.as_ref().map(|s| LiveReward::new(s, &env_id, &kwargs, &args.device)).transpose()?;
        let controller = match (&args.checkpoint, &player) {
            (Some(given), Some(p)) => format!("checkpoint {} ({})", given.display(), p.progress),
            _ => "keyboard".into(),
        };
        let keys = match &player {
            Some(_) => String::new(),
            None => vlmgym_envs::registry::spec(&env_id)?.metadata.keyboard_help.clone().unwrap_or_default(),
        };
        let hud = HudState {
            env_id: env_id.clone(),
            controller,
            keys,
            goal: live.as_ref().map(|l| l.goal.clone()),
            ..HudState::default()
        };
        let obs = obs_space.flatten(&obs)?;
        let step_seconds = step_seconds(&env_id)?;
        Ok(EnvDriver { env_id, env, obs_space, obs, player, live, hud, ended: false, step_seconds })
    }

    fn action(&mut self, controls: Controls) -> Result<Value> {
        match &mut self.player {
            Some(p) => (p.act)(&self.obs, &mut p.rng),
            None => keyboard_action(&self.env_id, self.env.action_space(), controls),
        }
    }

    fn start_episode(&mut self, seed: Option<u64>) -> Result<()> {
        let (obs, _) = self.env.reset(seed, &Options::new())?;
        self.obs = self.obs_space.flatten(&obs)?;
        if let Some(l) = &mut self.live {
            l.start_episode()?;
        }
        self.hud.step = 0;
        self.hud.episode_return = 0.0;
        self.hud.reward = 0.0;
        self.hud.terms.clear();
        self.hud.ended = None;
        self.ended = false;
        Ok(())
    }
}

impl Driver for EnvDriver {
    fn scene(&self) -> Scene {
        self.env.scene().expect("checked when the driver was made")
    }

    fn step(&mut self, controls: Controls) -> Result<()> {
        if self.ended {
            self.hud.episode += 1;
            return self.start_episode(None);
        }
        let action = self.action(controls)?;
        let step = self.env.step(&action)?;
        self.obs = self.obs_space.flatten(&step.obs)?;
        let mut terms = vec![("env_reward".to_string(), step.reward)];
        let reward = match &mut self.live {
            Some(l) => {
                let scene = self.env.scene().context("the env stopped describing its scene")?;
                let (r, t) = l.score(scene, &step.info, step.terminated, step.truncated)?;
                terms.extend(t);
                r
            }
            None => step.reward,
        };
        self.hud.step += 1;
        self.hud.reward = reward;
        self.hud.episode_return += reward;
        self.hud.terms = terms;
        if step.done() {
            self.ended = true;
            let why = step.info.get("termination").and_then(|t| t.as_str()).map(str::to_string).unwrap_or_else(|| {
                if step.terminated {
                    "terminated".into()
                } else {
                    "time limit".into()
                }
            });
            self.hud.ended = Some(why);
        }
        Ok(())
    }

    fn reset(&mut self) -> Result<()> {
        self.hud.episode += 1;
        self.start_episode(None)
    }

    fn hud(&self) -> HudState {
        self.hud.clone()
    }

    fn step_seconds(&self) -> f64 {
        self.step_seconds
    }
}

/// Opens the viewer (see [`viewer`]); returns the HUD text last shown.
pub fn view(args: ViewArgs) -> Result<String> {
    let driver = EnvDriver::new(&args)?;
    let mut window = args.window;
    window.title = format!("vlmgym: {}", driver.env_id);
    viewer::run(Box::new(driver), window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vlmgym_envs::registry;

    fn keys(left: bool, right: bool, up: bool, down: bool) -> Controls {
        Controls { left, right, up, down, ..Controls::default() }
    }

    #[test]
    fn arrows_act_through_the_envs_keyboard_map() {
        let space = |id: &str| registry::make(id).unwrap().action_space().clone();
        let cp = space("CartPole-v1");
        assert_eq!(keyboard_action("CartPole-v1", &cp, keys(false, true, false, false)).unwrap(), Value::Discrete(1));
        let dr = space("Driving-v0");
        assert_eq!(
            keyboard_action("Driving-v0", &dr, keys(true, false, true, false)).unwrap(),
            Value::Box(vec![1.0, 1.0])
        );
        assert!((step_seconds("Driving-v0").unwrap() - 1.0 / 15.0).abs() < 1e-12);
        assert!((step_seconds("CartPole-v1").unwrap() - 1.0 / 50.0).abs() < 1e-12);
    }

    /// Viewer arguments with the defaults but for what the tests vary.
    fn view_args(env_id: Option<&str>, checkpoint: Option<PathBuf>, seed: u64) -> ViewArgs {
        ViewArgs {
            env_id: env_id.map(str::to_string),
            checkpoint,
            kwargs: Options::new(),
            seed,
            stochastic: false,
            reward: None,
            window: ViewerConfig::default(),
            device: Device::Cpu,
        }
    }

    #[test]
    fn the_driver_steps_resets_and_keeps_the_return() {
        let args = view_args(Some("CartPole-v1"), None, 3);
        let mut d = EnvDriver::new(&args).unwrap();
        let mut steps = 0;
        // Always pushing right ends the episode well before the time limit.
        while d.hud().ended.is_none() {
            d.step(keys(false, true, false, false)).unwrap();
            steps += 1;
            assert!(steps < 500, "pushing one way should topple the pole");
        }
        let hud = d.hud();
        assert_eq!(hud.step, steps);
        assert_eq!(hud.episode_return, steps as f64);
        assert_eq!(hud.ended.as_deref(), Some("terminated"));
        d.step(Controls::default()).unwrap();
        let hud = d.hud();
        assert_eq!((hud.episode, hud.step, hud.episode_return, hud.ended.clone()), (1, 0, 0.0, None));
        assert_eq!(hud.terms, vec![]);
    }

    #[test]
    fn the_hud_says_what_the_keys_do_in_the_env() {
        let arm = EnvDriver::new(&view_args(Some("ArmPushCube-v0"), None, 1)).unwrap();
        let text = arm.hud().text(false, "front");
        assert!(text.contains("arrows move the gripper  w/s raise/lower  g hold to grip  space pause"), "{text}");
        let cart = EnvDriver::new(&view_args(Some("CartPole-v1"), None, 1)).unwrap();
        assert!(cart.hud().text(false, "side").lines().last().unwrap().starts_with("arrows act  space pause"));
    }

    #[test]
    fn a_sac_checkpoint_drives_the_env() {
        use vlmgym_agents::{Sac, SacConfig, SacSpec};
        let dir = tempfile::tempdir().unwrap();
        let cfg = SacConfig::from_toml(
            "total_timesteps = 200\nlearning_starts = 100\nbatch_size = 16\nhidden = [16, 16]\nlog_every = 100\ncheckpoint_every = 200\n",
        )
        .unwrap();
        let mut sac = Sac::new(SacSpec::new("MountainCarContinuous-v0", 1, cfg)).unwrap();
        while !sac.finished() {
            sac.train_chunk().unwrap();
        }
        let file = dir.path().join("checkpoints").join("step_000000200.safetensors");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        sac.save(&file).unwrap();
        let args = view_args(None, Some(dir.path().to_path_buf()), 3);
        let mut d = EnvDriver::new(&args).unwrap();
        assert_eq!(d.hud().env_id, "MountainCarContinuous-v0");
        assert!(d.hud().controller.ends_with("(step 200)"), "{}", d.hud().controller);
        // The actor's (deterministic) action is what the env gets: MountainCarContinuous
        // charges 0.1 a^2 per step, so the return says the action was not zero.
        let before = d.obs.clone();
        for _ in 0..5 {
            d.step(Controls::default()).unwrap();
        }
        assert_eq!(d.hud().step, 5);
        assert!(d.obs != before && d.hud().episode_return < 0.0, "{:?}", d.hud().episode_return);
    }

    #[test]
    fn without_an_env_or_checkpoint_it_says_what_is_missing() {
        let args = view_args(None, None, 0);
        let err = EnvDriver::new(&args).err().unwrap().to_string();
        assert!(err.contains("env id"), "{err}");
    }
}

//! Vector environments: N copies of an env stepped together, observations gathered into
//! one contiguous `f32` batch, with Gymnasium 1.x's autoreset modes.
//!
//! [`VecEnv::sync`] steps the envs one after another on the caller's thread, like
//! `gymnasium.vector.SyncVectorEnv`; [`VecEnv::threaded`] splits them into contiguous
//! chunks, one per thread: the caller's thread steps the first and persistent worker threads
//! the others, handed each batch through an atomic counter and spinning briefly between
//! batches (EnvPool's design), so the hand-off costs far less than even a CartPole step.
//! Both give identical results.

use crate::env::{Env, Info, Options};
use crate::error::{EnvError, Result};
use crate::registry;
use crate::scene::{Caption, Scene};
use crate::spaces::{Space, Value};
pub use crate::workers::Schedule;
use crate::workers::{Piece, Workers};

/// What happens when a sub-env's episode ends (Gymnasium's `AutoresetMode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AutoresetMode {
    /// The step after an episode ends resets that env instead of stepping it: its action
    /// is ignored and it returns the reset observation with reward 0 and both flags false.
    #[default]
    NextStep,
    /// An env whose episode ends is reset in the same step: the returned observation is
    /// the new episode's first one, and [`VecStep::final_obs`] / [`VecStep::final_info`]
    /// keep the last observation and info of the episode that ended.
    SameStep,
    /// Envs are never reset automatically; call [`VecEnv::reset_envs`] with a mask.
    Disabled,
}

/// How [`make_vec`] runs the sub-envs. The default is threaded on every core: it runs
/// batches too cheap to hand out (CartPole's) inline on the caller's thread by itself, so
/// it does not lose to sync there and gains where steps cost more (see [`Schedule`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorizationMode {
    /// One after another on the caller's thread.
    Sync,
    /// On worker threads; `threads == 0` uses every available core.
    Threaded {
        /// Number of worker threads.
        threads: usize,
    },
}

impl Default for VectorizationMode {
    fn default() -> Self {
        VectorizationMode::Threaded { threads: 0 }
    }
}

/// What [`VecEnv::step`] returns for the whole batch.
#[derive(Clone, Debug, PartialEq)]
pub struct VecStep {
    /// Flattened observations, `num_envs x obs_dim`, row-major.
    pub obs: Vec<f32>,
    /// One reward per env.
    pub rewards: Vec<f64>,
    /// One termination flag per env.
    pub terminations: Vec<bool>,
    /// One truncation flag per env.
    pub truncations: Vec<bool>,
    /// One info per env.
    pub infos: Vec<Info>,
    /// [`AutoresetMode::SameStep`] only: for each env whose episode ended in this step, the
    /// flattened last observation of that episode.
    pub final_obs: Vec<Option<Vec<f32>>>,
    /// [`AutoresetMode::SameStep`] only: for each env whose episode ended in this step, the
    /// info of its last step.
    pub final_info: Vec<Option<Info>>,
    /// [`AutoresetMode::SameStep`] with [`VecEnv::with_final_scenes`] only: for each env
    /// whose episode ended in this step, the Scene of its last state (drawn before the reset),
    /// so a renderer can show the final frame.
    pub final_scene: Vec<Option<Scene>>,
}

struct Slot {
    env: Box<dyn Env>,
    /// NextStep mode: this env's episode ended on the previous step.
    autoreset: bool,
}

struct SlotOut {
    reward: f64,
    terminated: bool,
    truncated: bool,
    info: Info,
    final_obs: Option<Vec<f32>>,
    final_info: Option<Info>,
    final_scene: Option<Scene>,
}

/// What a chunk does in the next batch.
enum Job {
    Idle,
    /// Step each env with its entry of the chunk's `actions`.
    Step {
        mode: AutoresetMode,
        scenes: bool,
    },
    Reset {
        mask: Vec<bool>,
        seed: Option<u64>,
        options: Options,
    },
}

/// A contiguous run of envs, stepped by one thread, with its rows of the observation batch.
struct Chunk {
    slots: Vec<Slot>,
    /// The index of its first env in the batch.
    first: usize,
    space: Space,
    obs: Vec<f32>,
    /// The chunk's actions of the next step (a buffer kept between steps).
    actions: Vec<Value>,
    job: Job,
    steps: Vec<Result<SlotOut>>,
    resets: Vec<Result<Info>>,
}

impl Piece for Chunk {
    fn run(&mut self) {
        let dim = self.space.flatdim();
        match std::mem::replace(&mut self.job, Job::Idle) {
            Job::Idle => {}
            Job::Step { mode, scenes } => {
                self.steps.clear();
                for ((slot, out), action) in self.slots.iter_mut().zip(self.obs.chunks_mut(dim)).zip(&self.actions) {
                    self.steps.push(step_slot(slot, action, mode, &self.space, scenes, out));
                }
            }
            Job::Reset { mask, seed, options } => {
                self.resets.clear();
                for (i, (slot, out)) in self.slots.iter_mut().zip(self.obs.chunks_mut(dim)).enumerate() {
                    if !mask[i] {
                        self.resets.push(Ok(Info::new()));
                        continue;
                    }
                    let seed = seed.map(|s| s.wrapping_add((self.first + i) as u64));
                    let r = slot.env.reset(seed, &options).and_then(|(obs, info)| {
                        self.space.flatten_into(&obs, out)?;
                        slot.autoreset = false;
                        Ok(info)
                    });
                    self.resets.push(r);
                }
            }
        }
    }
}

/// N envs with the same spaces, stepped as one (see the module docs).
pub struct VecEnv {
    chunks: Workers<Chunk>,
    num_envs: usize,
    mode: AutoresetMode,
    observation_space: Space,
    action_space: Space,
    final_scenes: bool,
}

impl VecEnv {
    /// Steps the envs sequentially on the caller's thread.
    pub fn sync(envs: Vec<Box<dyn Env>>) -> Result<Self> {
        Self::build(envs, 1)
    }

    /// Steps the envs on `threads` threads, the caller's and `threads - 1` workers, each a
    /// contiguous chunk of envs (0: one per available core, at most one per env).
    pub fn threaded(envs: Vec<Box<dyn Env>>, threads: usize) -> Result<Self> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let threads = if threads == 0 { cores } else { threads }.clamp(1, envs.len().max(1));
        Self::build(envs, threads)
    }

    fn build(envs: Vec<Box<dyn Env>>, threads: usize) -> Result<Self> {
        let first = envs.first().ok_or_else(|| EnvError::kwarg("num_envs", "a vector env needs at least one env"))?;
        let observation_space = first.observation_space().clone();
        let action_space = first.action_space().clone();
        for (i, e) in envs.iter().enumerate() {
            if e.observation_space() != &observation_space || e.action_space() != &action_space {
                return Err(EnvError::SpaceMismatch {
                    space: observation_space.to_string(),
                    reason: format!(
                        "env {i} has spaces {} / {}, env 0 has {observation_space} / {action_space}",
                        e.observation_space(),
                        e.action_space()
                    ),
                });
            }
        }
        let dim = observation_space.flatdim();
        if dim == 0 {
            return Err(EnvError::SpaceMismatch {
                space: observation_space.to_string(),
                reason: "observations are empty".into(),
            });
        }
        let num_envs = envs.len();
        let per_chunk = num_envs.div_ceil(threads.max(1)).max(1);
        let mut chunks = Vec::new();
        let mut envs = envs.into_iter().peekable();
        while envs.peek().is_some() {
            let slots: Vec<Slot> = envs.by_ref().take(per_chunk).map(|env| Slot { env, autoreset: false }).collect();
            chunks.push(Chunk {
                first: chunks.len() * per_chunk,
                obs: vec![0.0; slots.len() * dim],
                actions: Vec::with_capacity(slots.len()),
                slots,
                space: observation_space.clone(),
                job: Job::Idle,
                steps: Vec::new(),
                resets: Vec::new(),
            });
        }
        let chunks = Workers::new(chunks, |i| format!("vecenv-{i}"))
            .map_err(|e| EnvError::kwarg("threads", format!("cannot start worker threads: {e}")))?;
        Ok(VecEnv {
            chunks,
            num_envs,
            mode: AutoresetMode::NextStep,
            observation_space,
            action_space,
            final_scenes: false,
        })
    }

    /// Runs every batch `schedule`'s way, or (None, the default) whichever way the env's
    /// own timing finds faster: handed out to the worker threads, or all on the caller's
    /// thread when a batch costs less than a hand-off. The results are the same either way.
    pub fn with_schedule(mut self, schedule: Option<Schedule>) -> Self {
        self.chunks.pin(schedule);
        self
    }

    /// The way the env runs its batches now, between the short trials of the other way
    /// (always [`Schedule::Inline`] with one thread).
    pub fn schedule(&self) -> Schedule {
        self.chunks.schedule()
    }

    /// Sets the autoreset mode (default [`AutoresetMode::NextStep`]).
    pub fn with_autoreset_mode(mut self, mode: AutoresetMode) -> Self {
        self.mode = mode;
        self
    }

    /// The autoreset mode.
    pub fn autoreset_mode(&self) -> AutoresetMode {
        self.mode
    }

    /// In [`AutoresetMode::SameStep`], also keep the Scene of each episode's last state in
    /// [`VecStep::final_scene`] (off by default: drawing a Scene costs a little).
    pub fn with_final_scenes(mut self, on: bool) -> Self {
        self.final_scenes = on;
        self
    }

    /// Calls `f` on every env in order.
    fn each_env<R>(&self, mut f: impl FnMut(&dyn Env) -> R) -> Vec<R> {
        let mut out = Vec::with_capacity(self.num_envs);
        self.chunks.for_each_ref(|_, c| out.extend(c.slots.iter().map(|s| f(s.env.as_ref()))));
        out
    }

    /// Each env's Scene of its current state (None for envs that draw none).
    pub fn scenes(&self) -> Vec<Option<Scene>> {
        self.each_env(|e| e.scene())
    }

    /// Each env's captions of its current state.
    pub fn captions(&self) -> Vec<Vec<Caption>> {
        self.each_env(|e| e.captions())
    }

    /// Number of sub-envs.
    pub fn num_envs(&self) -> usize {
        self.num_envs
    }

    /// Each sub-env's observation space.
    pub fn single_observation_space(&self) -> &Space {
        &self.observation_space
    }

    /// Each sub-env's action space.
    pub fn single_action_space(&self) -> &Space {
        &self.action_space
    }

    /// Length of one env's flattened observation (a row of the batch).
    pub fn obs_dim(&self) -> usize {
        self.observation_space.flatdim()
    }

    /// Number of threads stepping the envs, the caller's included (1 for a sync vector env).
    pub fn num_threads(&self) -> usize {
        self.chunks.len()
    }

    /// Resets every env; with a seed, env `i` gets `seed + i`. Returns the observation
    /// batch and one info per env.
    pub fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Vec<f32>, Vec<Info>)> {
        let mask = vec![true; self.num_envs()];
        self.reset_envs(&mask, seed, options)
    }

    /// Resets the envs whose `mask` entry is true (seeded `seed + i`), leaving the others
    /// as they are; returns the whole observation batch. This is how envs are reset in
    /// [`AutoresetMode::Disabled`].
    pub fn reset_envs(&mut self, mask: &[bool], seed: Option<u64>, options: &Options) -> Result<(Vec<f32>, Vec<Info>)> {
        if mask.len() != self.num_envs() {
            return Err(EnvError::kwarg(
                "reset_mask",
                format!("expected {} entries, got {}", self.num_envs(), mask.len()),
            ));
        }
        self.chunks.run(|_, c| {
            let mask = mask[c.first..c.first + c.slots.len()].to_vec();
            c.job = Job::Reset { mask, seed, options: options.clone() };
        });
        let mut infos = Vec::with_capacity(self.num_envs);
        let mut obs = Vec::with_capacity(self.num_envs * self.obs_dim());
        self.chunks.for_each(|_, c| {
            obs.extend_from_slice(&c.obs);
            infos.append(&mut c.resets);
        });
        let infos = infos.into_iter().collect::<Result<Vec<_>>>()?;
        Ok((obs, infos))
    }

    /// Steps every env with its action (one per env) and autoresets as the mode says.
    pub fn step(&mut self, actions: &[Value]) -> Result<VecStep> {
        if actions.len() != self.num_envs() {
            return Err(EnvError::InvalidAction {
                space: self.action_space.to_string(),
                reason: format!("expected {} actions (one per env), got {}", self.num_envs(), actions.len()),
            });
        }
        let (mode, scenes) = (self.mode, self.final_scenes);
        self.chunks.run(|_, c| {
            c.actions.clear();
            c.actions.extend_from_slice(&actions[c.first..c.first + c.slots.len()]);
            c.job = Job::Step { mode, scenes };
        });
        let n = self.num_envs();
        let mut step = VecStep {
            obs: Vec::with_capacity(n * self.observation_space.flatdim()),
            rewards: Vec::with_capacity(n),
            terminations: Vec::with_capacity(n),
            truncations: Vec::with_capacity(n),
            infos: Vec::with_capacity(n),
            final_obs: Vec::with_capacity(n),
            final_info: Vec::with_capacity(n),
            final_scene: Vec::with_capacity(n),
        };
        let mut error = None;
        self.chunks.for_each(|_, c| {
            step.obs.extend_from_slice(&c.obs);
            for out in c.steps.drain(..) {
                match out {
                    Ok(out) => {
                        step.rewards.push(out.reward);
                        step.terminations.push(out.terminated);
                        step.truncations.push(out.truncated);
                        step.infos.push(out.info);
                        step.final_obs.push(out.final_obs);
                        step.final_info.push(out.final_info);
                        step.final_scene.push(out.final_scene);
                    }
                    Err(e) => {
                        error.get_or_insert(e);
                    }
                }
            }
        });
        match error {
            Some(e) => Err(e),
            None => Ok(step),
        }
    }

    /// Closes every env.
    pub fn close(&mut self) {
        self.chunks.for_each(|_, c| c.slots.iter_mut().for_each(|s| s.env.close()));
    }
}

fn step_slot(
    slot: &mut Slot,
    action: &Value,
    mode: AutoresetMode,
    space: &Space,
    keep_scene: bool,
    out: &mut [f32],
) -> Result<SlotOut> {
    if mode == AutoresetMode::NextStep && slot.autoreset {
        let (obs, info) = slot.env.reset(None, &Options::new())?;
        space.flatten_into(&obs, out)?;
        slot.autoreset = false;
        return Ok(SlotOut {
            reward: 0.0,
            terminated: false,
            truncated: false,
            info,
            final_obs: None,
            final_info: None,
            final_scene: None,
        });
    }
    let step = slot.env.step(action)?;
    let done = step.done();
    let (mut final_obs, mut final_info, mut final_scene) = (None, None, None);
    let info = if mode == AutoresetMode::SameStep && done {
        final_obs = Some(space.flatten(&step.obs)?);
        final_info = Some(step.info);
        if keep_scene {
            final_scene = slot.env.scene();
        }
        let (obs, info) = slot.env.reset(None, &Options::new())?;
        space.flatten_into(&obs, out)?;
        info
    } else {
        space.flatten_into(&step.obs, out)?;
        step.info
    };
    slot.autoreset = mode == AutoresetMode::NextStep && done;
    Ok(SlotOut {
        reward: step.reward,
        terminated: step.terminated,
        truncated: step.truncated,
        info,
        final_obs,
        final_info,
        final_scene,
    })
}

/// `gymnasium.make_vec`: `num_envs` copies of a registered env (each with its time
/// limit), sync or threaded, autoresetting on the next step.
pub fn make_vec(id: &str, num_envs: usize, kwargs: &Options, mode: VectorizationMode) -> Result<VecEnv> {
    if num_envs == 0 {
        return Err(EnvError::kwarg("num_envs", "must be at least 1"));
    }
    let envs = (0..num_envs).map(|_| registry::make_with(id, kwargs)).collect::<Result<Vec<_>>>()?;
    match mode {
        VectorizationMode::Sync => VecEnv::sync(envs),
        VectorizationMode::Threaded { threads } => VecEnv::threaded(envs, threads),
    }
}

/// What a trainer needs of a batch of envs: [`VecEnv`] and the vector wrappers built on
/// it (e.g. pixel observations from the renderer) implement it, like Gymnasium's
/// `VectorEnv` base class.
pub trait VectorEnv {
    /// Number of sub-envs.
    fn num_envs(&self) -> usize;
    /// Each sub-env's observation space.
    fn single_observation_space(&self) -> &Space;
    /// Each sub-env's action space.
    fn single_action_space(&self) -> &Space;
    /// The autoreset mode the batch steps with.
    fn autoreset_mode(&self) -> AutoresetMode;
    /// Resets every env (env `i` seeded `seed + i`); the observation batch and the infos.
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Vec<f32>, Vec<Info>)>;
    /// Steps every env with its action.
    fn step(&mut self, actions: &[Value]) -> Result<VecStep>;
    /// Closes every env.
    fn close(&mut self);
    /// Length of one env's flattened observation.
    fn obs_dim(&self) -> usize {
        self.single_observation_space().flatdim()
    }
}

impl VectorEnv for VecEnv {
    fn num_envs(&self) -> usize {
        VecEnv::num_envs(self)
    }
    fn single_observation_space(&self) -> &Space {
        VecEnv::single_observation_space(self)
    }
    fn single_action_space(&self) -> &Space {
        VecEnv::single_action_space(self)
    }
    fn autoreset_mode(&self) -> AutoresetMode {
        self.mode
    }
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Vec<f32>, Vec<Info>)> {
        VecEnv::reset(self, seed, options)
    }
    fn step(&mut self, actions: &[Value]) -> Result<VecStep> {
        VecEnv::step(self, actions)
    }
    fn close(&mut self) {
        VecEnv::close(self)
    }
}

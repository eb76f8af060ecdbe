//! Throughput workloads shared by the criterion benches and `vlmgym bench`.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use vlmgym_agents::{Ppo, PpoConfig, RunSpec};
use vlmgym_envs::classic::CARTPOLE_ID;
use vlmgym_envs::driving::DRIVING_ID;
use vlmgym_envs::{make_vec, make_with, Env, Options, Result, Schedule, Space, Value, VecEnv, VectorizationMode};

/// How many pre-drawn actions each env cycles through (so timing excludes the RNG).
const ACTION_TABLE: usize = 1024;

/// What a workload steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// One env, reset by hand at each episode end.
    Single,
    /// A vector env of `num_envs` copies.
    Vector {
        /// Sync or threaded.
        mode: VectorizationMode,
        /// Number of sub-envs.
        num_envs: usize,
    },
}

enum Stepper {
    Single(Box<dyn Env>),
    Vector(Box<VecEnv>),
}

/// A seeded env (or vector env) and a table of random actions to step it with.
pub struct Workload {
    stepper: Stepper,
    actions: Vec<Vec<Value>>,
    cursor: usize,
}

fn action_table(space: &Space, num_envs: usize, seed: u64) -> Vec<Vec<Value>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..ACTION_TABLE).map(|_| (0..num_envs).map(|_| space.sample(&mut rng)).collect()).collect()
}

impl Workload {
    /// Makes and resets the env(s) of `id`.
    pub fn new(id: &str, target: Target, seed: u64) -> Result<Self> {
        Self::with_kwargs(id, &Options::new(), target, seed)
    }

    /// Makes and resets the env(s) of `id` with constructor `kwargs`.
    pub fn with_kwargs(id: &str, kwargs: &Options, target: Target, seed: u64) -> Result<Self> {
        let (stepper, actions) = match target {
            Target::Single => {
                let mut env = make_with(id, kwargs)?;
                env.reset(Some(seed), &Options::new())?;
                let actions = action_table(env.action_space(), 1, seed);
                (Stepper::Single(env), actions)
            }
            Target::Vector { mode, num_envs } => {
                let mut venv = make_vec(id, num_envs, kwargs, mode)?;
                venv.reset(Some(seed), &Options::new())?;
                let actions = action_table(venv.single_action_space(), num_envs, seed);
                (Stepper::Vector(Box::new(venv)), actions)
            }
        };
        Ok(Workload { stepper, actions, cursor: ChaCha8Rng::seed_from_u64(seed).random_range(0..ACTION_TABLE) })
    }

    /// How a threaded vector env runs its next batch (None: not a threaded vector env).
    pub fn schedule(&self) -> Option<Schedule> {
        match &self.stepper {
            Stepper::Vector(v) if v.num_threads() > 1 => Some(v.schedule()),
            _ => None,
        }
    }

    /// Env steps taken by one call of [`Workload::step`].
    pub fn env_steps_per_call(&self) -> usize {
        match &self.stepper {
            Stepper::Single(_) => 1,
            Stepper::Vector(v) => v.num_envs(),
        }
    }

    /// One step of the env or of every sub-env.
    pub fn step(&mut self) -> Result<()> {
        let acts = &self.actions[self.cursor];
        self.cursor = (self.cursor + 1) % ACTION_TABLE;
        match &mut self.stepper {
            Stepper::Single(env) => {
                if env.step(&acts[0])?.done() {
                    env.reset(None, &Options::new())?;
                }
            }
            Stepper::Vector(v) => {
                v.step(acts)?;
            }
        }
        Ok(())
    }

    /// Steps for at least `min_time` and returns env steps per second.
    pub fn steps_per_second(&mut self, min_time: Duration) -> Result<f64> {
        for _ in 0..100 {
            self.step()?; // warm up
        }
        let start = Instant::now();
        let mut calls = 0u64;
        loop {
            for _ in 0..64 {
                self.step()?;
            }
            calls += 64;
            let elapsed = start.elapsed();
            if elapsed >= min_time {
                return Ok((calls * self.env_steps_per_call() as u64) as f64 / elapsed.as_secs_f64());
            }
        }
    }
}

/// One line of a `vlmgym bench` report.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// What was measured, e.g. `threaded_vecenv_8`.
    pub name: String,
    /// Environment id.
    pub env_id: String,
    /// Number of envs stepped together.
    pub num_envs: usize,
    /// Worker threads (1 for sync).
    pub threads: usize,
    /// Env steps per second.
    pub steps_per_sec: f64,
    /// Constructor kwargs, when not the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kwargs: Option<Options>,
    /// How a threaded vector env was running its batches at the end (its own timing
    /// chooses: `parallel` on the workers, or `inline` on one thread when a batch costs
    /// less than a hand-off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

impl Measurement {
    /// A row for one env stepped on one thread, with its constructor `kwargs` if not the
    /// defaults.
    fn single_env(name: impl Into<String>, env_id: &str, steps_per_sec: f64, kwargs: Option<Options>) -> Self {
        Measurement {
            name: name.into(),
            env_id: env_id.into(),
            num_envs: 1,
            threads: 1,
            steps_per_sec,
            kwargs,
            schedule: None,
        }
    }
}

/// The report of `vlmgym bench classic`: steps/s of one CartPole and of sync vs threaded
/// vector envs of 1, 2, 8 and 32 CartPoles (threaded on every core, at most one per env),
/// each the median of [`ROUNDS`] interleaved rounds.
pub fn classic(min_time: Duration) -> Result<Vec<Measurement>> {
    let id = CARTPOLE_ID;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut targets = vec![("single_env".to_string(), Target::Single, 1)];
    for n in [1, 2, 8, 32] {
        targets.push((format!("sync_vecenv_{n}"), Target::Vector { mode: VectorizationMode::Sync, num_envs: n }, 1));
        let threads = cores.min(n);
        let mode = VectorizationMode::Threaded { threads };
        targets.push((format!("threaded_vecenv_{n}"), Target::Vector { mode, num_envs: n }, threads));
    }
    let mut works = targets.iter().map(|(_, target, _)| Workload::new(id, *target, 0)).collect::<Result<Vec<_>>>()?;
    let rates = interleaved(&mut works, min_time)?;
    Ok(targets
        .into_iter()
        .zip(works.iter().zip(rates))
        .map(|((name, target, threads), (work, steps_per_sec))| {
            let num_envs = match target {
                Target::Single => 1,
                Target::Vector { num_envs, .. } => num_envs,
            };
            let schedule = work.schedule();
            Measurement { name, env_id: id.to_string(), num_envs, threads, steps_per_sec, kwargs: None, schedule }
        })
        .collect())
}

/// Rounds of measurement: each workload is timed for a third of `min_time` in each of
/// [`ROUNDS`] rounds, one workload after the other, and keeps its median. Workloads compared
/// with each other (sync against threaded) thus share the machine's slow and fast moments
/// instead of each getting its own window.
const ROUNDS: usize = 3;

/// Steps/s of each workload, measured in [`ROUNDS`] interleaved rounds (the median of each).
fn interleaved(works: &mut [Workload], min_time: Duration) -> Result<Vec<f64>> {
    let mut rates = vec![Vec::with_capacity(ROUNDS); works.len()];
    for _ in 0..ROUNDS {
        for (w, r) in works.iter_mut().zip(&mut rates) {
            r.push(w.steps_per_second(min_time / ROUNDS as u32)?);
        }
    }
    Ok(rates
        .into_iter()
        .map(|mut r| {
            r.sort_by(f64::total_cmp);
            r[r.len() / 2]
        })
        .collect())
}

/// The report of `vlmgym bench ppo`: env steps per second of full PPO training (rollout
/// collection, policy forward passes and updates with CleanRL's defaults) on CartPole-v1
/// with 8 threaded envs, over whole updates for at least `min_time`.
pub fn ppo(min_time: Duration) -> anyhow::Result<Measurement> {
    let num_envs = 8;
    let cfg = PpoConfig { num_envs, total_timesteps: u64::MAX / 2, ..PpoConfig::discrete() };
    let spec = RunSpec {
        env_id: CARTPOLE_ID.into(),
        env_kwargs: Default::default(),
        seed: 0,
        ppo: cfg,
        reward: Default::default(),
        observation: Default::default(),
    };
    let mut ppo = Ppo::new(spec)?;
    ppo.train_iteration(None)?; // warm up
    let start = Instant::now();
    let first = ppo.global_step();
    while start.elapsed() < min_time {
        ppo.train_iteration(None)?;
    }
    let steps = ppo.global_step() - first;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(num_envs);
    Ok(Measurement {
        name: "ppo_train_cartpole_8_envs".into(),
        env_id: CARTPOLE_ID.into(),
        num_envs,
        threads,
        steps_per_sec: steps as f64 / start.elapsed().as_secs_f64(),
        kwargs: None,
        schedule: None,
    })
}

/// The report of `vlmgym bench driving`: steps/s of `Driving-v0` on the town map with 0
/// and 20 NPCs, for one env and for sync and threaded (every core) vector envs of 8 envs.
pub fn driving(min_time: Duration) -> Result<Vec<Measurement>> {
    let id = DRIVING_ID;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut out = Vec::new();
    for npcs in [0, 20] {
        let mut kwargs = Options::new();
        kwargs.insert("map".into(), "town".into());
        kwargs.insert("npcs".into(), npcs.into());
        let n = 8;
        let threads = cores.min(n);
        let targets = [
            (format!("single_env_{npcs}_npcs"), Target::Single, 1, 1),
            (
                format!("sync_vecenv_{n}_{npcs}_npcs"),
                Target::Vector { mode: VectorizationMode::Sync, num_envs: n },
                n,
                1,
            ),
            (
                format!("threaded_vecenv_{n}_{npcs}_npcs"),
                Target::Vector { mode: VectorizationMode::Threaded { threads }, num_envs: n },
                n,
                threads,
            ),
        ];
        let mut works = targets
            .iter()
            .map(|(_, target, _, _)| Workload::with_kwargs(id, &kwargs, *target, 0))
            .collect::<Result<Vec<_>>>()?;
        let rates = interleaved(&mut works, min_time)?;
        for ((name, _, num_envs, threads), (work, steps_per_sec)) in targets.into_iter().zip(works.iter().zip(rates)) {
            out.push(Measurement {
                name,
                env_id: id.to_string(),
                num_envs,
                threads,
                steps_per_sec,
                kwargs: Some(kwargs.clone()),
                schedule: work.schedule(),
            });
        }
    }
    Ok(out)
}

/// `vlmgym bench manipulation`: the arm tasks' steps/s (one env, one thread), state
/// observations alone and with the reward camera's 112 px raster frame every step.
pub fn manipulation(min_time: Duration) -> anyhow::Result<Vec<Measurement>> {
    use vlmgym_envs::manipulation::{ARM_PICK_ID, ARM_PUSH_ID, ARM_REACH_ID};
    steps_with_reward_frames(&[ARM_REACH_ID, ARM_PUSH_ID, ARM_PICK_ID], min_time, (112, 112))
}

/// `vlmgym bench locomotion`: the legged bodies' steps/s (one env, one thread, random
/// actions), and HumanoidPose-v0's with its reward camera's frame every step; the peer
/// is MuJoCo through Gymnasium (`scripts/locomotion_peer_bench.sh`).
///
/// The Ant and the Humanoid are also timed on rapier's default solver (4 substeps of one
/// sweep, `state_obs_rapier_default_solver`), the envs' own before the twenty-third
/// session, so that the Gymnasium solver's speed-up shows in the same run.
pub fn locomotion(min_time: Duration) -> anyhow::Result<Vec<Measurement>> {
    use vlmgym_envs::locomotion::HUMANOID_POSE_ID;
    let ids = ["Ant-v0", "HalfCheetah-v0", "Hopper-v0", "Walker2d-v0", "Humanoid-v0", HUMANOID_POSE_ID];
    let mut out = steps_with_reward_frames(&ids, min_time, (112, 112))?;
    let mut kwargs = Options::new();
    kwargs.insert("solver_iterations".into(), 4.into());
    kwargs.insert("pgs_iterations".into(), 1.into());
    for id in ["Ant-v0", "Humanoid-v0"] {
        let steps_per_sec = Workload::with_kwargs(id, &kwargs, Target::Single, 0)?.steps_per_second(min_time)?;
        out.push(Measurement::single_env("state_obs_rapier_default_solver", id, steps_per_sec, Some(kwargs.clone())));
    }
    Ok(out)
}

/// `vlmgym bench navigation`: the navigation envs' steps/s (one env, one thread, random
/// actions), state observations alone and with the `ego` camera's 80 x 60 raster frame (the
/// size of MiniWorld's observations) every step; the peer is MiniWorld
/// (`scripts/navigation_peer_bench.sh`).
pub fn navigation(min_time: Duration) -> anyhow::Result<Vec<Measurement>> {
    use vlmgym_envs::navigation::{NAV_GOTO_ID, NAV_ROOMS_ID};
    steps_with_reward_frames(&[NAV_GOTO_ID, NAV_ROOMS_ID], min_time, (80, 60))
}

/// Steps/s of each env in `ids` (one env, one thread, uniform random actions): state
/// observations alone (`state_obs`), and for an env that declares a reward camera, with
/// that camera's `width x height` raster frame drawn every step
/// (`state_obs_and_CAMERA_112px_raster_frame` for square frames, `..._80x60px_...` otherwise).
fn steps_with_reward_frames(ids: &[&str], min_time: Duration, size: (u32, u32)) -> anyhow::Result<Vec<Measurement>> {
    let mut out = Vec::new();
    for &id in ids {
        let steps_per_sec = Workload::new(id, Target::Single, 0)?.steps_per_second(min_time)?;
        out.push(Measurement::single_env("state_obs", id, steps_per_sec, None));
        let spec = vlmgym_envs::registry::spec(id)?;
        let Some(camera) = spec.metadata.reward_camera.clone() else { continue };
        let mut env = make_with(id, &Options::new())?;
        let (width, height) = size;
        let config = vlmgym_render::RenderConfig { width, height, camera: Some(camera.clone()) };
        let mut renderer = vlmgym_render::RasterRenderer::new(1, config)?;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        env.reset(Some(0), &Options::new())?;
        let mut step = |env: &mut Box<dyn Env>| -> anyhow::Result<()> {
            let s = env.step(&env.action_space().sample(&mut rng))?;
            // A step ended by a locomotion env's divergence check leaves no scene to draw.
            match env.scene() {
                Some(scene) => {
                    renderer.render(&[scene])?;
                }
                None if s.done() => {}
                None => anyhow::bail!("{id} has no scene"),
            };
            if s.done() {
                env.reset(None, &Options::new())?;
            }
            Ok(())
        };
        for _ in 0..20 {
            step(&mut env)?;
        }
        let (start, mut n) = (Instant::now(), 0u64);
        while start.elapsed() < min_time {
            step(&mut env)?;
            n += 1;
        }
        let steps_per_sec = n as f64 / start.elapsed().as_secs_f64();
        let name = if width == height {
            format!("state_obs_and_{camera}_{width}px_raster_frame")
        } else {
            format!("state_obs_and_{camera}_{width}x{height}px_raster_frame")
        };
        out.push(Measurement::single_env(name, id, steps_per_sec, None));
    }
    Ok(out)
}

/// One `vlmgym bench render` measurement: frames per second of one renderer drawing
/// `num_envs` envs of `env_id` at `width x height`, with the mean time per batch by stage.
#[derive(Clone, Debug, Serialize)]
pub struct RenderMeasurement {
    /// Which renderer.
    pub renderer: vlmgym_render::RendererKind,
    /// Registered env id.
    pub env_id: String,
    /// Scene camera.
    pub camera: String,
    /// Envs drawn per batch (one camera each).
    pub num_envs: usize,
    /// Frame width, pixels.
    pub width: u32,
    /// Frame height, pixels.
    pub height: u32,
    /// Frames rendered per second (batches/s x num_envs), env stepping excluded.
    pub frames_per_sec: f64,
    /// Mean seconds per batch: building the Scenes from the envs.
    pub scene_s: f64,
    /// Mean seconds per batch in each of the renderer's stages (bevy: sync, draw, readback,
    /// convert; raster: prepare, draw).
    pub stages: serde_json::Value,
}

/// A renderer under measurement, with its own stage timings. The raster one draws into one
/// reused batch, as the rendered vector env does.
enum Timed {
    Raster(Box<vlmgym_render::RasterRenderer>, Option<vlmgym_render::Frames>),
    #[cfg(feature = "bevy")]
    Bevy(Box<vlmgym_render::BatchRenderer>),
}

impl Timed {
    fn new(kind: vlmgym_render::RendererKind, n: usize, cfg: vlmgym_render::RenderConfig) -> anyhow::Result<Self> {
        use vlmgym_render::RendererKind;
        Ok(match kind {
            RendererKind::Raster => Timed::Raster(Box::new(vlmgym_render::RasterRenderer::new(n, cfg)?), None),
            #[cfg(feature = "bevy")]
            RendererKind::Bevy => Timed::Bevy(Box::new(vlmgym_render::BatchRenderer::new(n, cfg)?)),
            #[cfg(not(feature = "bevy"))]
            RendererKind::Bevy => anyhow::bail!("this build of vlmgym has no bevy backend (feature `bevy`)"),
        })
    }

    /// Renders `scenes`; returns the stage timings of the call.
    fn render(&mut self, scenes: &[vlmgym_envs::Scene]) -> anyhow::Result<Vec<(&'static str, f64)>> {
        Ok(match self {
            Timed::Raster(r, frames) => {
                match frames {
                    Some(f) => r.render_into(scenes, f)?,
                    None => *frames = Some(r.render(scenes)?),
                }
                let t = r.timings();
                vec![("prepare", t.prepare), ("draw", t.draw)]
            }
            #[cfg(feature = "bevy")]
            Timed::Bevy(r) => {
                r.render(scenes)?;
                let t = r.timings();
                vec![("sync", t.sync), ("draw", t.draw), ("readback", t.readback), ("convert", t.convert)]
            }
        })
    }
}

/// The report of `vlmgym bench render`: frames/s of each of `renderers` at each of `sizes`
/// (the CLI: 84, 112 and 224 px) for each of `counts` (the CLI: 1, 8 and 32) envs of
/// Driving-v0 (`bev` and `chase` cameras, default map and traffic) and CartPole-v1 (`side`), each
/// run for `min_time` after a warm-up batch. Envs step with random actions between batches
/// (not timed).
pub fn render(
    renderers: &[vlmgym_render::RendererKind],
    min_time: Duration,
    sizes: &[u32],
    counts: &[usize],
) -> anyhow::Result<Vec<RenderMeasurement>> {
    use vlmgym_render::RenderConfig;
    let mut out = Vec::new();
    for &kind in renderers {
        for (env_id, camera) in [(DRIVING_ID, "bev"), (DRIVING_ID, "chase"), (CARTPOLE_ID, "side")] {
            for &size in sizes {
                for &n in counts {
                    let mut venv = make_vec(env_id, n, &Options::new(), VectorizationMode::Sync)?;
                    venv.reset(Some(0), &Options::new())?;
                    let actions = action_table(venv.single_action_space(), n, 0);
                    let cfg = RenderConfig { width: size, height: size, camera: Some(camera.into()) };
                    let mut r = Timed::new(kind, n, cfg)?;
                    let scenes = |v: &VecEnv| -> anyhow::Result<Vec<vlmgym_envs::Scene>> {
                        v.scenes()
                            .into_iter()
                            .map(|s| s.ok_or_else(|| anyhow::anyhow!("{env_id} has no scene")))
                            .collect()
                    };
                    r.render(&scenes(&venv)?)?; // prepare / spawn + warm-up
                    let (mut batches, mut rendering, mut scene_s) = (0usize, 0.0f64, 0.0f64);
                    let mut sums: Vec<(&'static str, f64)> = Vec::new();
                    while rendering + scene_s < min_time.as_secs_f64() {
                        venv.step(&actions[batches % ACTION_TABLE])?;
                        let t = Instant::now();
                        let sc = scenes(&venv)?;
                        scene_s += t.elapsed().as_secs_f64();
                        let t = Instant::now();
                        let stages = r.render(&sc)?;
                        rendering += t.elapsed().as_secs_f64();
                        if sums.is_empty() {
                            sums = stages.iter().map(|(k, _)| (*k, 0.0)).collect();
                        }
                        for (sum, (_, v)) in sums.iter_mut().zip(&stages) {
                            sum.1 += v;
                        }
                        batches += 1;
                    }
                    let b = batches as f64;
                    let stages: serde_json::Map<String, serde_json::Value> =
                        sums.into_iter().map(|(k, v)| (k.to_string(), (v / b).into())).collect();
                    out.push(RenderMeasurement {
                        renderer: kind,
                        env_id: env_id.into(),
                        camera: camera.into(),
                        num_envs: n,
                        width: size,
                        height: size,
                        frames_per_sec: b * n as f64 / rendering,
                        scene_s: scene_s / b,
                        stages: stages.into(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The report of `vlmgym bench reward`: frames embedded per second at batch 64 by the simlit
/// image tower (frames at the tower's input size, 112x112 for the shipped one) and by CLIP
/// ViT-B/32 with random weights (the same compute as the pretrained model; 224x224 frames
/// squashed as CLIP's preprocessing does), on this CPU.
pub fn reward(
    tower: &std::path::Path,
    seconds: f64,
    device: &vlmgym_agents::Device,
) -> anyhow::Result<Vec<RewardMeasurement>> {
    use vlmgym_reward::backend::bench_embed_images;
    use vlmgym_reward::clip::{random_weights, ClipBackend, ClipConfig, ClipImpl};
    use vlmgym_reward::tower_cpu::Kernel;
    let tower = vlmgym_reward::tower::ImageTower::load_on(tower, device)?;
    let mut out = Vec::new();
    match tower.cpu_kernel()? {
        Some(best) => {
            // Every kernel this CPU runs, the one `embed` picks first.
            let kernels = if best.is_bf16() { vec![best, Kernel::F32Gemm] } else { vec![best] };
            for kernel in kernels {
                tower.set_cpu_kernel(kernel)?;
                out.push(RewardMeasurement {
                    model: "simlit tower".into(),
                    kernel: Some(kernel),
                    bench: tower_bench(&tower, seconds)?,
                });
            }
        }
        None => out.push(RewardMeasurement {
            model: "simlit tower".into(),
            kernel: None,
            bench: tower_bench(&tower, seconds)?,
        }),
    }
    // CLIP the way `--clip` runs it (the AMX kernel where the CPU has one), then in f32.
    let config = ClipConfig::named("ViT-B-32")?;
    let best = ClipImpl::best(&config, device);
    let mut ways = vec![best];
    if best == ClipImpl::NativeBf16 {
        ways.push(ClipImpl::auto(&config));
    }
    for way in ways {
        let clip = ClipBackend::from_tensors_on(random_weights(&config, 0)?, config.clone(), None, Some(way), device)?;
        out.push(RewardMeasurement {
            model: "CLIP ViT-B/32 (random weights)".into(),
            kernel: (way == ClipImpl::NativeBf16).then_some(Kernel::best()),
            bench: bench_embed_images(&clip, 64, 3, 224, 224)?,
        });
    }
    Ok(out)
}

/// One model's line in `vlmgym bench reward`.
#[derive(Clone, Debug, Serialize)]
pub struct RewardMeasurement {
    /// What was measured.
    pub model: String,
    /// The model's CPU kernel (None: candle's own f32 one, or a GPU's).
    pub kernel: Option<vlmgym_reward::tower_cpu::Kernel>,
    /// The timing.
    #[serde(flatten)]
    pub bench: vlmgym_reward::backend::ImageBench,
}

/// Frames/s of an image tower at batch 64, fed frames at its own input size (as `train`,
/// `view` and `reward-check` render them), for about `seconds`.
fn tower_bench(
    tower: &vlmgym_reward::tower::ImageTower,
    seconds: f64,
) -> anyhow::Result<vlmgym_reward::backend::ImageBench> {
    let size = tower.input_size();
    let probe = vlmgym_reward::backend::bench_embed_images(&TowerOnly(tower), 64, 1, size, size)?;
    let repeats = ((seconds * 1000.0 / probe.ms_per_batch).ceil() as usize).clamp(3, 100_000);
    vlmgym_reward::backend::bench_embed_images(&TowerOnly(tower), 64, repeats, size, size)
}

/// An image tower alone as a backend (benchmarks need no text encoder).
struct TowerOnly<'a>(&'a vlmgym_reward::tower::ImageTower);

impl vlmgym_reward::Backend for TowerOnly<'_> {
    fn embed_texts(&self, _: &[String]) -> anyhow::Result<vlmgym_reward::Embeddings> {
        anyhow::bail!("the benchmark tower embeds no text")
    }
    fn embed_images(&self, frames: &vlmgym_reward::Frames) -> anyhow::Result<vlmgym_reward::Embeddings> {
        self.0.embed(frames)
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
}

/// The report of `vlmgym bench e2e`: PPO on Driving-v0 (loop map) with the CLG language
/// reward through the VLM-RL synthesis, 8 envs, the rollout and update settings of
/// `assets/configs/ppo/driving.toml`, for whole updates; env steps/s and the seconds spent
/// per stage.
#[derive(Clone, Debug, Serialize)]
pub struct E2eMeasurement {
    /// Env id.
    pub env_id: String,
    /// Envs.
    pub num_envs: usize,
    /// The renderer of the reward frames.
    pub renderer: vlmgym_render::RendererKind,
    /// Steps per env per update.
    pub num_steps: usize,
    /// Env steps timed.
    pub steps: u64,
    /// Env steps per second, everything included.
    pub steps_per_sec: f64,
    /// Seconds stepping the envs (physics, NPCs, observations).
    pub physics_s: f64,
    /// Seconds building Scenes and rendering frames.
    pub render_s: f64,
    /// Seconds embedding and scoring frames and synthesizing rewards.
    pub score_s: f64,
    /// The rest: policy forward passes during collection and PPO updates.
    pub ppo_s: f64,
}

/// Runs the end-to-end benchmark (see [`E2eMeasurement`]) for `updates` updates after one
/// warm-up update.
/// `renderer` draws the reward frames (None: the tower's own; another is used even when the
/// tower was trained on the other one, since only the time is measured). `num_steps`
/// overrides driving.toml's steps per env per update (tests use a few).
pub fn e2e(
    tower: &std::path::Path,
    renderer: Option<vlmgym_render::RendererKind>,
    num_steps: Option<usize>,
    updates: usize,
    device: &vlmgym_agents::Device,
) -> anyhow::Result<E2eMeasurement> {
    use crate::language_reward::{build, RewardKind, RewardSettings};
    let num_envs = 8;
    let path = crate::reward_model::assets_dir().join("configs").join("ppo").join("driving.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let base = PpoConfig::from_toml(&text, false)?;
    let num_steps = num_steps.unwrap_or(base.num_steps);
    let cfg = PpoConfig { num_envs, num_steps, total_timesteps: u64::MAX / 2, ..base };
    let mut spec = RunSpec {
        env_id: DRIVING_ID.into(),
        env_kwargs: Default::default(),
        seed: 0,
        ppo: cfg,
        reward: Default::default(),
        observation: Default::default(),
    };
    spec.env_kwargs.insert("map".into(), "loop".into());
    let settings = RewardSettings {
        renderer,
        force_renderer: true,
        ..RewardSettings::new(
            DRIVING_ID,
            RewardKind::Clg,
            Some("the car drives in the centre of its lane".into()),
            Some("the car has crashed".into()),
            None,
            0.5,
            0.03,
            None,
            Some(tower.to_path_buf()),
        )?
    };
    let renderer = settings.frame_renderer()?;
    spec.reward = settings.to_table()?;
    let (env, mut hook) = build(&spec, &settings, device)?;
    let mut ppo = Ppo::with_env_on(spec, Box::new(env), device)?;
    ppo.train_iteration(Some(&mut hook))?; // warm up
    let (env0, render0) = hook.env_and_render_seconds();
    let score0 = hook.score_seconds;
    let first = ppo.global_step();
    let start = Instant::now();
    for _ in 0..updates {
        ppo.train_iteration(Some(&mut hook))?;
    }
    let total = start.elapsed().as_secs_f64();
    let (env1, render1) = hook.env_and_render_seconds();
    let (physics_s, render_s, score_s) = (env1 - env0, render1 - render0, hook.score_seconds - score0);
    let steps = ppo.global_step() - first;
    Ok(E2eMeasurement {
        env_id: DRIVING_ID.into(),
        num_envs,
        renderer,
        num_steps,
        steps,
        steps_per_sec: steps as f64 / total,
        physics_s,
        render_s,
        score_s,
        ppo_s: total - physics_s - render_s - score_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vlmgym_reward::tower::{ImageTower, TowerConfig};

    #[test]
    fn the_tower_is_timed_on_frames_of_its_own_input_size() {
        for size in [36, 48] {
            let tower = ImageTower::init(&TowerConfig::with_input_size(size), 0).unwrap();
            let b = tower_bench(&tower, 0.0).unwrap();
            assert_eq!((b.batch, b.repeats, b.frame_size), (64, 3, (size, size)));
            assert!(b.frames_per_second > 0.0 && b.ms_per_batch > 0.0);
        }
    }
}

/// The report of `vlmgym bench sac`.
#[derive(Debug, Serialize)]
pub struct SacBench {
    /// Environment id.
    pub env_id: String,
    /// Hidden layer sizes of the actor and of each Q network.
    pub hidden: Vec<usize>,
    /// Transitions per gradient update.
    pub batch_size: usize,
    /// Env steps/s of collection with the actor sampling every action (no updates).
    pub collect_env_steps_per_sec: f64,
    /// Gradient updates/s: CleanRL's training-loop body (one critic update; every second
    /// one also two actor and two alpha updates; the Polyak target update).
    pub gradient_updates_per_sec: f64,
    /// Env steps/s of full training after learning starts, one gradient update per env step.
    pub train_env_steps_per_sec: f64,
    /// Threads candle may use (all cores).
    pub threads: usize,
}

/// `vlmgym bench sac`: SAC with CleanRL's defaults on Pendulum-v1 (one env), each of
/// collection, updates and full training timed for at least `min_time`.
pub fn sac(min_time: Duration) -> anyhow::Result<SacBench> {
    use vlmgym_agents::{Sac, SacConfig, SacSpec};
    let id = "Pendulum-v1";
    let cfg = SacConfig { total_timesteps: u64::MAX / 2, ..SacConfig::default() };
    // Collection with the actor: learning starts at once, but no update is ever due.
    let mut collect =
        Sac::new(SacSpec::new(id, 0, SacConfig { learning_starts: 0, train_freq: u64::MAX, ..cfg.clone() }))?;
    collect.train_chunk()?; // warm up
    let (start, first) = (Instant::now(), collect.global_step());
    while start.elapsed() < min_time {
        collect.train_chunk()?;
    }
    let collect_rate = (collect.global_step() - first) as f64 / start.elapsed().as_secs_f64();
    // Updates, on a buffer of learning_starts random transitions.
    let mut sac = Sac::new(SacSpec::new(id, 0, cfg.clone()))?;
    while sac.global_step() < cfg.learning_starts {
        sac.train_chunk()?;
    }
    for _ in 0..20 {
        sac.gradient_update()?; // warm up
    }
    let (start, mut updates) = (Instant::now(), 0u64);
    while start.elapsed() < min_time {
        sac.gradient_update()?;
        updates += 1;
    }
    let update_rate = updates as f64 / start.elapsed().as_secs_f64();
    // Full training: collection and one update per env step.
    let (start, first) = (Instant::now(), sac.global_step());
    while start.elapsed() < min_time {
        sac.train_chunk()?;
    }
    let train_rate = (sac.global_step() - first) as f64 / start.elapsed().as_secs_f64();
    Ok(SacBench {
        env_id: id.into(),
        hidden: cfg.hidden.clone(),
        batch_size: cfg.batch_size,
        collect_env_steps_per_sec: collect_rate,
        gradient_updates_per_sec: update_rate,
        train_env_steps_per_sec: train_rate,
        threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    })
}

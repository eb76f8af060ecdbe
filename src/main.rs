//! The `vlmgym` command-line tool.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use vlmgym::language_reward::RewardSettings;
use vlmgym::rollout::{self, Policy, Rollout, RolloutArgs};
use vlmgym_envs::{registry, Options};
use vlmgym_render::RendererKind;

#[derive(Parser)]
#[command(name = "vlmgym", version, about = "Embodied RL environments with vision-language-model rewards")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where candle models run (the reward model, the policy): cpu, or cuda:N with a build
    /// that has the `cuda` feature.
    #[arg(long, global = true, default_value = "cpu", value_name = "cpu|cuda:N")]
    device: String,
}

#[derive(Subcommand)]
enum Command {
    /// List the registered environments with their observation and action spaces.
    List,
    /// Run an environment and write one JSON line per step.
    Rollout {
        /// Environment id, e.g. CartPole-v1 (see `vlmgym list`).
        env_id: String,
        /// Seed of the first reset.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Number of steps; ended episodes are reset and continued.
        #[arg(long)]
        steps: usize,
        /// Exact start state, comma-separated, e.g. "0,0,0.05,0" for CartPole or "-0.5,0" for
        /// MountainCar.
        #[arg(long, value_name = "V1,V2,...", allow_hyphen_values = true)]
        init_state: Option<String>,
        /// JSON file with an array of actions, one per step.
        #[arg(long, value_name = "FILE.json", conflicts_with = "policy")]
        actions: Option<PathBuf>,
        /// Policy when no actions file is given.
        #[arg(long, value_enum, default_value_t = PolicyArg::Random)]
        policy: PolicyArg,
        /// Constructor argument, KEY=VALUE with VALUE as JSON (e.g. g=9.81); repeatable.
        #[arg(long = "kwarg", value_name = "KEY=VALUE")]
        kwargs: Vec<String>,
        /// Output file (JSON lines).
        #[arg(long, value_name = "FILE.jsonl")]
        out: PathBuf,
        /// Also score each step with a language reward (written as `language_reward` and
        /// `language_terms`; default with --goal: clg with --negative, vlmrm with --baseline,
        /// else semantic).
        #[arg(long, value_enum)]
        reward: Option<vlmgym::language_reward::RewardKind>,
        #[command(flatten)]
        goal: GoalOpts,
        #[command(flatten)]
        renderer: RewardRendererOpts,
    },
    /// Train a PPO agent; writes config.toml, metrics.csv, checkpoints and curves.png to --out.
    Train {
        /// Environment id (see `vlmgym list`); optional with --resume.
        #[arg(long = "env")]
        env_id: Option<String>,
        /// Learning algorithm of a new run (a resumed run keeps its own): PPO, or SAC for
        /// continuous (Box) actions.
        #[arg(long, value_enum, default_value = "ppo")]
        algo: AlgoArg,
        /// Total env steps (default: 500k for discrete actions, 1M for continuous).
        #[arg(long)]
        steps: Option<u64>,
        /// Number of parallel envs (default 4 discrete, 1 continuous, as CleanRL).
        #[arg(long)]
        num_envs: Option<usize>,
        /// Run seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Hyper-parameters in TOML over the algorithm's defaults (e.g. assets/configs/ppo/pendulum.toml,
        /// assets/configs/sac/pendulum.toml).
        #[arg(long, value_name = "FILE.toml")]
        config: Option<PathBuf>,
        /// Run directory, e.g. runs/cartpole.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Continue the run in --out from its last checkpoint (bit-identical to an uninterrupted run).
        #[arg(long)]
        resume: bool,
        /// Env constructor argument, KEY=VALUE with VALUE as JSON (e.g. map=loop); repeatable.
        #[arg(long = "kwarg", value_name = "KEY=VALUE")]
        kwargs: Vec<String>,
        /// Reward to learn from: the env's own, or a language reward from --goal.
        #[arg(long, value_enum, default_value = "ground-truth")]
        reward: vlmgym::language_reward::RewardKind,
        /// CLG: before training, score 600 sampled states of the env (seed 1,000,000, as
        /// `reward-check`) and set --offset and --window to span the middle 98% of their
        /// contrasts (`reward-check`'s `range`, no labels); the check goes to OUT/window_check.
        #[arg(long, conflicts_with = "resume")]
        place_window: bool,
        #[command(flatten)]
        goal: GoalOpts,
        /// Scene camera the language reward sees, NAME or ENV=NAME (default: the camera the tower
        /// was trained on for the env, from its report; else bev for Driving, else the env's first).
        #[arg(long)]
        camera: Option<String>,
        #[command(flatten)]
        renderer: RewardRendererOpts,
        /// Observe this scene camera's frames instead of the env's observation (PPO with
        /// policy = "cnn", e.g. assets/configs/ppo/nav_pixels.toml); drawn by the CPU rasteriser.
        #[arg(long, value_name = "CAMERA")]
        pixels: Option<String>,
        /// Size of the --pixels frames (the Nature CNN takes sides of 36 + 8k: 36, 44, ..., 84).
        #[arg(long, default_value = "84x84", value_name = "WxH")]
        pixel_size: String,
    },
    /// Evaluate a checkpoint and print JSON: mean/std return, success rate, env metrics.
    Eval {
        /// A run directory (its newest checkpoint) or a checkpoint file.
        #[arg(long, value_name = "PATH")]
        checkpoint: PathBuf,
        /// Number of episodes.
        #[arg(long, default_value_t = 10)]
        episodes: usize,
        /// Take the most likely action instead of sampling.
        #[arg(long)]
        deterministic: bool,
        /// Seed of the first episode (episode i uses seed + i).
        #[arg(long, default_value_t = 1_000_000)]
        seed: u64,
        /// Evaluate on another env id than the one trained on (must have the same spaces).
        #[arg(long = "env")]
        env_id: Option<String>,
        /// Env constructor argument over the run's own, KEY=VALUE with VALUE as JSON (e.g.
        /// map="country" or npcs=40 for an unseen scenario); repeatable.
        #[arg(long = "kwarg", value_name = "KEY=VALUE")]
        kwargs: Vec<String>,
        /// Also score every visited state with the run's own language reward and report how
        /// that score separates the env's clear successes from its clear failures (`visited`).
        #[arg(long)]
        score_visited: bool,
        /// With --score-visited: score with this image tower instead of the run's (e.g. one
        /// retrained since, to see whether it still takes the policy's states for success).
        #[arg(long, value_name = "FILE", requires = "score_visited")]
        score_tower: Option<PathBuf>,
        /// With --score-visited: this CLG window instead of the run's (the one `reward-check`
        /// calibrates for --score-tower).
        #[arg(long, value_name = "W", requires = "score_visited")]
        score_window: Option<f64>,
        /// With --score-visited: this CLG window offset instead of the run's (the `range`
        /// offset `reward-check` reports for --score-tower; pass it with --score-window).
        #[arg(long, value_name = "Z0", requires = "score_visited", allow_negative_numbers = true)]
        score_offset: Option<f64>,
        /// Write the first episode step by step to this JSON-lines file (action, reward,
        /// observation and info per step), to see what a policy does.
        #[arg(long, value_name = "FILE.jsonl")]
        trace: Option<PathBuf>,
    },
    /// Render an env headless (random policy): the last frame as PNG, or every frame as GIF.
    Render {
        /// Environment id (see `vlmgym list`; optional with --checkpoint: the env it trained on).
        env_id: Option<String>,
        /// A run directory (its newest checkpoint) or a checkpoint file whose policy acts
        /// instead of random actions.
        #[arg(long, value_name = "PATH")]
        checkpoint: Option<PathBuf>,
        /// With --checkpoint: sample the policy's actions instead of taking the most likely one.
        #[arg(long, requires = "checkpoint")]
        stochastic: bool,
        /// Reset seed (also seeds the random actions).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Steps before the last frame (random actions, or the checkpoint's policy).
        #[arg(long, default_value_t = 0)]
        steps: usize,
        /// Scene camera, e.g. side (CartPole), chase, bev or hood (Driving); default: the env's first.
        #[arg(long)]
        camera: Option<String>,
        /// Image size.
        #[arg(long, default_value = "224x224", value_name = "WxH")]
        size: String,
        /// Env constructor argument, KEY=VALUE with VALUE as JSON; repeatable.
        #[arg(long = "kwarg", value_name = "KEY=VALUE")]
        kwargs: Vec<String>,
        /// Output: FILE.png (last frame) or FILE.gif (the whole run).
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Renderer: bevy (PBR, the viewer's look) or raster (the CPU rasteriser that draws
        /// training and reward frames).
        #[arg(long, default_value = "bevy", value_name = "raster|bevy")]
        renderer: RendererKind,
    },
    /// Render frames of envs in many states with their captions, for reward models.
    Dataset {
        /// Comma-separated env ids, e.g. CartPole-v1,Driving-v0 (an env may draw from several
        /// configurations: Driving from all three maps).
        #[arg(long, value_delimiter = ',', required = true)]
        envs: Vec<String>,
        /// Frames per env.
        #[arg(long, default_value_t = 2000)]
        frames: usize,
        /// Output folder (frames.safetensors + meta.json).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Square frame side, pixels.
        #[arg(long, default_value_t = 84)]
        size: u32,
        /// Base seed (each group of frames gets its own seed from here).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Hold out every n-th seed as the test split.
        #[arg(long, default_value_t = 5)]
        held_out_every: u64,
        /// Scene camera: NAME for every env whose scene has it, or ENV=NAME[,ENV=NAME] (default:
        /// bev for Driving, else the env's first); recorded per env in meta.json.
        #[arg(long)]
        camera: Option<String>,
        /// Add the hard cases a reward model needs (training data; without it the states are
        /// those reward-check samples): Driving's close following, near misses and crashes,
        /// MountainCar's states near the flag.
        #[arg(long)]
        extra_crashes: bool,
        /// Driving: leave out frames of a car within 0.3 m of the car ahead without contact
        /// (they look like rear-end crashes but are captioned as none).
        #[arg(long)]
        skip_ambiguous: bool,
        /// Renderer of the frames (recorded in meta.json; a tower trained on them scores this
        /// renderer's frames).
        #[arg(long, default_value = "raster", value_name = "raster|bevy")]
        renderer: RendererKind,
        /// Keep at most N phrasings of each fact (the first N; default: all).
        #[arg(long, value_name = "N")]
        max_phrasings: Option<usize>,
        /// Leave out the compound facts ("the car is centred in its lane and it has not hit
        /// anything"). With --max-phrasings 3: three phrasings per fact, as the shipped tower's
        /// captions had.
        #[arg(long)]
        no_compound_facts: bool,
        /// Also render the states a trained policy visits (a checkpoint file or run folder;
        /// repeatable), captioned from the env's state: the odd states an agent reaches that
        /// a reward model may take for success. The checkpoint's env must be in --envs; with
        /// --frames 0 the dataset holds only these.
        #[arg(long, value_name = "CHECKPOINT")]
        policy: Vec<PathBuf>,
        /// Frames per --policy (every 5th step of its episodes; half of the episodes take
        /// its most likely actions, half sample).
        #[arg(long, default_value_t = 1000, value_name = "N")]
        policy_frames: usize,
        /// Also render N frames per env of its scripted expert solving the task from the
        /// env's own starts (every 5th step; half of the episodes exact, half with noise on
        /// the actions): the states a solution passes through, e.g. the arm pushing a cube
        /// out to its goal at full stretch. Every env in --envs needs an expert (the arm
        /// tasks, NavGoTo-v0); with --frames 0 the dataset holds only these.
        #[arg(long, default_value_t = 0, value_name = "N")]
        expert_frames: usize,
    },
    /// Train or inspect the simlit image tower.
    RewardModel {
        #[command(subcommand)]
        action: RewardModelCommand,
    },
    /// Score sampled states of an env against a text goal and compare with its ground truth:
    /// correlation, EPIC distance, AUC, histogram PNG, CLG window calibration, retrieval.
    RewardCheck {
        /// Environment id.
        env_id: String,
        /// The goal, e.g. "the pole is balanced upright on the cart".
        #[arg(long, required_unless_present = "goals")]
        goal: Option<String>,
        /// A negative goal: score with VLM-RL's CLG reward.
        #[arg(long)]
        negative: Option<String>,
        /// A baseline: score with VLM-RMs' projection reward.
        #[arg(long)]
        baseline: Option<String>,
        /// A file of goal pairs (e.g. assets/goals/heldout/driving.toml): score every pair
        /// (CLG) on the same states and print the AUC table; writes goals_report.json.
        #[arg(long, value_name = "FILE.toml", conflicts_with_all = ["goal", "negative", "baseline", "landscape"])]
        goals: Option<PathBuf>,
        /// VLM-RM alpha (with --baseline).
        #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
        alpha: f64,
        /// CLG window w (with --negative).
        #[arg(long, default_value_t = 0.03, allow_negative_numbers = true)]
        window: f64,
        /// Where CLG's window starts on the contrast (with --negative; VLM-RL: 0).
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        offset: f64,
        /// Image tower (default: the shipped assets/models/simlit_tower.safetensors).
        #[arg(long)]
        tower: Option<PathBuf>,
        /// Score with a CLIP model instead: a folder of Hugging Face `CLIPModel` files
        /// (model.safetensors, tokenizer.json, config.json).
        #[arg(long, value_name = "DIR", conflicts_with = "tower")]
        clip: Option<PathBuf>,
        /// States to sample.
        #[arg(long, default_value_t = 600)]
        samples: usize,
        /// Seed of the sampled states (the shipped tower trained on seeds below 100000).
        #[arg(long, default_value_t = 1_000_000)]
        seed: u64,
        /// Folder for report.json and the PNGs.
        #[arg(long, value_name = "DIR", default_value = "reward-check")]
        out: PathBuf,
        /// Also plot the score against pole angle and cart position (CartPole-v1).
        #[arg(long)]
        landscape: bool,
        /// Frame side, pixels (default: the tower's input size).
        #[arg(long)]
        size: Option<u32>,
        /// Scene camera to render, NAME or ENV=NAME (default: the camera the tower was trained on
        /// for the env, from its report; else bev for Driving, else the env's first).
        #[arg(long)]
        camera: Option<String>,
        /// Label each state by whether this fact holds (a caption fact key, e.g.
        /// `arms.raised` on HumanoidPose-v0) instead of the env's own success.
        #[arg(long, value_name = "KEY")]
        fact: Option<String>,
        #[command(flatten)]
        renderer: RewardRendererOpts,
        #[command(flatten)]
        head: TextHeadArgs,
    },
    /// Play an env in a window: arrow keys (the arm also W / S to raise and lower, G to
    /// grip) or a checkpoint act; the HUD shows the step,
    /// goal, reward, each reward term and the return. Space pauses, N steps, R resets,
    /// C cycles cameras (last: orbit, drag to turn, wheel to zoom), Esc quits.
    View {
        /// Environment id (optional with --checkpoint: the env it trained on).
        env_id: Option<String>,
        /// A run directory (its newest checkpoint) or a checkpoint file that acts instead of the keyboard.
        #[arg(long, value_name = "PATH")]
        checkpoint: Option<PathBuf>,
        /// Seed of the first reset and of the policy's sampling.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Sample the policy's actions instead of taking the most likely one.
        #[arg(long)]
        stochastic: bool,
        /// Env constructor argument, KEY=VALUE with VALUE as JSON; repeatable.
        #[arg(long = "kwarg", value_name = "KEY=VALUE")]
        kwargs: Vec<String>,
        /// Language reward to score live (default with --goal: clg with --negative, vlmrm with
        /// --baseline, else semantic; without --goal: the checkpoint's own reward).
        #[arg(long, value_enum)]
        reward: Option<vlmgym::language_reward::RewardKind>,
        #[command(flatten)]
        goal: GoalOpts,
        /// Window camera to start from (a Scene camera such as chase, bev, hood, side; or orbit).
        #[arg(long)]
        camera: Option<String>,
        /// Window size.
        #[arg(long, default_value = "960x640", value_name = "WxH")]
        size: String,
        /// Save a PNG of the window after --frames steps (one step per drawn frame), then exit.
        #[arg(long, value_name = "FILE.png", requires = "frames")]
        screenshot: Option<PathBuf>,
        /// Steps to take, one per drawn frame, then exit (or take the --screenshot).
        #[arg(long)]
        frames: Option<u64>,
        #[command(flatten)]
        renderer: RewardRendererOpts,
    },
    /// Measure throughput and print it as JSON.
    Bench {
        /// What to measure.
        #[arg(value_enum)]
        suite: BenchSuite,
        /// Seconds to run each measurement.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// render: the renderers to measure (default both); e2e: the renderer of the reward
        /// frames (default the tower's).
        #[arg(long, value_delimiter = ',', value_name = "raster|bevy")]
        renderer: Vec<RendererKind>,
        /// render: frame sides to measure, pixels.
        #[arg(long, value_delimiter = ',', default_value = "84,112,224")]
        sizes: Vec<u32>,
        /// render: env counts to measure.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        envs: Vec<usize>,
    },
    /// Rebuild a results table (Markdown, mean +- std over seeds) and the learning curves
    /// of finished runs: folders GROUP_SEED under --runs holding metrics.csv and --eval.
    Results {
        /// Folder of run folders (e.g. docs/runs/driving).
        #[arg(long, value_name = "DIR")]
        runs: PathBuf,
        /// Which evaluation file of each run to tabulate (e.g. eval_country.json).
        #[arg(long, default_value = "eval.json")]
        eval: String,
        /// Where to write table.md and curves.png (default: --runs).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// metrics.csv column to plot.
        #[arg(long, default_value = "episodic_return")]
        column: String,
    },
}

/// The text goal of a language reward and how it is scored.
#[derive(clap::Args)]
struct GoalOpts {
    /// The text goal, e.g. "the car drives in the centre of its lane".
    #[arg(long)]
    goal: Option<String>,
    /// CLG's negative goal, e.g. "the car has crashed".
    #[arg(long)]
    negative: Option<String>,
    /// VLM-RM's baseline, e.g. "a car on a road".
    #[arg(long)]
    baseline: Option<String>,
    /// VLM-RM alpha.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    alpha: f64,
    /// CLG window w.
    #[arg(long, default_value_t = 0.03, allow_negative_numbers = true)]
    window: f64,
    /// Where CLG's window starts on the contrast cos(neg) - cos(pos) (VLM-RL: 0); `reward-check`
    /// reports an offset and window for a goal pair under `range`.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    offset: f64,
    /// Reward synthesis: a built-in name (driving_vlmrl, cartpole_vlmrm, ...) or a TOML path.
    #[arg(long, value_name = "NAME|FILE.toml")]
    reward_config: Option<String>,
    /// Image tower (default: the shipped assets/models/simlit_tower.safetensors).
    #[arg(long)]
    tower: Option<PathBuf>,
    /// Score with a CLIP model instead of the simlit tower: a folder of Hugging Face
    /// `CLIPModel` files (model.safetensors, tokenizer.json, config.json). Frames are drawn
    /// by the CPU rasteriser (or --renderer) at the model's input size.
    #[arg(long, value_name = "DIR", conflicts_with = "tower")]
    clip: Option<PathBuf>,
    #[command(flatten)]
    head: TextHeadArgs,
}

impl GoalOpts {
    /// The reward settings for `kind` on `env_id`.
    fn settings(self, env_id: &str, kind: vlmgym::language_reward::RewardKind) -> Result<RewardSettings> {
        let clip = self.clip;
        Ok(RewardSettings {
            clip,
            offset: self.offset,
            text_head: self.head.text_head,
            no_text_head: self.head.no_text_head,
            ..RewardSettings::new(
                env_id,
                kind,
                self.goal,
                self.negative,
                self.baseline,
                self.alpha,
                self.window,
                self.reward_config,
                self.tower,
            )?
        })
    }
}

/// The language reward `view` and `rollout` score live (None: the env's own reward): `kind`,
/// else CLG with a negative, VLM-RM with a baseline, the semantic score without either.
fn live_reward(
    kind: Option<vlmgym::language_reward::RewardKind>,
    goal: GoalOpts,
    renderer: RewardRendererOpts,
    env_id: impl FnOnce() -> Result<String>,
) -> Result<Option<RewardSettings>> {
    use vlmgym::language_reward::RewardKind;
    match (kind, goal.goal.is_some()) {
        (Some(RewardKind::GroundTruth), true) => bail!("--reward ground-truth takes no --goal"),
        (Some(RewardKind::GroundTruth), false) | (None, false) => Ok(None),
        (Some(_), false) => bail!("--reward clg, vlmrm or semantic needs --goal"),
        (kind, true) => {
            let kind = kind.unwrap_or(match (&goal.negative, &goal.baseline) {
                (Some(_), _) => RewardKind::Clg,
                (None, Some(_)) => RewardKind::Vlmrm,
                (None, None) => RewardKind::Semantic,
            });
            let id = env_id()?;
            Ok(Some(RewardSettings {
                renderer: renderer.renderer,
                force_renderer: renderer.force_renderer,
                ..goal.settings(&id, kind)?
            }))
        }
    }
}

/// Which renderer draws the frames a reward model scores.
#[derive(clap::Args)]
struct RewardRendererOpts {
    /// Renderer of the reward frames: raster (the CPU rasteriser) or bevy (default: the one
    /// the tower was trained on, from its report; bevy for towers that do not say).
    #[arg(long, value_name = "raster|bevy")]
    renderer: Option<RendererKind>,
    /// Score frames of another renderer than the tower was trained on (otherwise an error).
    #[arg(long)]
    force_renderer: bool,
}

/// Which text head a simlit reward maps its goals through.
#[derive(clap::Args, Clone, Default)]
struct TextHeadArgs {
    /// Text head to map goals through instead of the tower's own
    /// (`<tower>.text_head.safetensors`, from `vlmgym reward-model text-head`).
    #[arg(long, value_name = "FILE", conflicts_with = "no_text_head")]
    text_head: Option<PathBuf>,
    /// Read goals in the sentence encoder's own embeddings, without the tower's text head.
    #[arg(long)]
    no_text_head: bool,
}

#[derive(Subcommand)]
enum RewardModelCommand {
    /// Train the image tower contrastively on a dataset from `vlmgym dataset`.
    Train {
        /// Dataset folder; repeat to train on several as one (same frame size, renderer and
        /// cameras), e.g. a sampled dataset and one of a policy's visited states.
        #[arg(long, value_name = "DIR", required = true)]
        data: Vec<PathBuf>,
        /// Output tower file (.safetensors); the report is written next to it (.json).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Training config TOML (e.g. assets/configs/reward_model/simlit_tower.toml); its
        /// input_size must match the dataset's frames. Without it: the defaults at the dataset's size.
        #[arg(long, value_name = "FILE.toml")]
        config: Option<PathBuf>,
        /// Override the config's number of steps.
        #[arg(long)]
        steps: Option<usize>,
        /// Override the config's seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Train a tower's text head: a residual map on the sentence embeddings, trained
    /// against the frozen tower's frames on every phrasing of every fact in the dataset
    /// (render it without --max-phrasings), written next to the tower as
    /// `<tower>.text_head.safetensors`.
    TextHead {
        /// Dataset folder from `vlmgym dataset` (frames at the tower's input size).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The frozen tower.
        #[arg(long, value_name = "FILE")]
        tower: PathBuf,
        /// Training settings TOML (keys of `HeadConfig`; default: its defaults).
        #[arg(long, value_name = "FILE.toml")]
        config: Option<PathBuf>,
        /// Output file (default: next to the tower).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgoArg {
    /// Proximal Policy Optimization (CleanRL's defaults for the action space).
    Ppo,
    /// Soft Actor-Critic (CleanRL's `sac_continuous_action.py` defaults; Box actions only).
    Sac,
}

#[derive(Clone, Copy, ValueEnum)]
enum PolicyArg {
    /// Uniform random actions, seeded by --seed.
    Random,
}

#[derive(Clone, Copy, ValueEnum)]
enum BenchSuite {
    /// CartPole steps/s: one env, and sync vs threaded vector envs with 1, 2, 8 and 32 envs.
    Classic,
    /// Driving-v0 steps/s (town map, 0 and 20 NPCs): one env and a threaded vector env.
    Driving,
    /// Arm tasks' steps/s (one env, one thread): state observations alone, and with the
    /// reward camera's 112 px raster frame every step.
    Manipulation,
    /// The legged bodies' steps/s (one env, one thread, random actions), and
    /// HumanoidPose-v0's with its reward camera's 112 px raster frame every step.
    Locomotion,
    /// The navigation envs' steps/s (one env, one thread, random actions), and with the ego
    /// camera's 80 x 60 raster frame every step (MiniWorld's observation size).
    Navigation,
    /// Full PPO training steps/s (env + policy + update) on CartPole-v1 with 8 envs.
    Ppo,
    /// SAC on Pendulum-v1 (CleanRL's networks and batch 256): env steps/s of collection
    /// with the actor, gradient updates/s, and env steps/s of full training at one update a step.
    Sac,
    /// Frames/s of the raster and bevy renderers at 84, 112 (the shipped tower's input) and
    /// 224 px for 1, 8, 32 envs (Driving bev and chase, CartPole side), time per stage.
    Render,
    /// Frames scored/s at batch 64: the simlit tower and CLIP ViT-B/32 (random weights).
    Reward,
    /// PPO on Driving-v0 with the CLG language reward, 8 envs, driving.toml's rollout and
    /// update settings: steps/s and time per stage.
    E2e,
}

fn parse_kwargs(pairs: &[String]) -> Result<Options> {
    let mut out = Options::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else { bail!("--kwarg `{p}` is not KEY=VALUE") };
        let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
        out.insert(k.trim().to_string(), value);
    }
    Ok(out)
}

fn parse_init_state(text: &str) -> Result<Vec<f64>> {
    text.split(',')
        .map(|s| {
            let s = s.trim();
            s.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .with_context(|| format!("--init-state: `{s}` is not a finite number (expected e.g. \"0,0,0.05,0\")"))
        })
        .collect()
}

fn list() -> Result<()> {
    let ids = registry::ids();
    let width = ids.iter().map(|s| s.len()).max().unwrap_or(0);
    for id in ids {
        let spec = registry::spec(&id)?;
        let env = registry::make(&id)?;
        let limit = spec.max_episode_steps.map_or("none".to_string(), |n| n.to_string());
        let threshold = spec.reward_threshold.map_or("none".to_string(), |t| t.to_string());
        println!(
            "{id:width$}  obs {}  action {}  max_steps {limit}  reward_threshold {threshold}",
            env.observation_space(),
            env.action_space()
        );
    }
    Ok(())
}

fn main() {
    vlmgym_agents::cache_thread_count();
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let device = vlmgym_reward::parse_device(&cli.device)?;
    match cli.command {
        Command::List => list(),
        Command::Rollout {
            env_id,
            seed,
            steps,
            init_state,
            actions,
            policy: PolicyArg::Random,
            kwargs,
            out,
            reward,
            goal,
            renderer,
        } => {
            let reward = live_reward(reward, goal, renderer, || Ok(env_id.clone()))?;
            let policy = match &actions {
                Some(path) => Policy::Scripted(rollout::read_actions(path)?),
                None => Policy::Random,
            };
            let init_state = init_state.as_deref().map(parse_init_state).transpose()?;
            let kwargs = parse_kwargs(&kwargs)?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let args = RolloutArgs { env_id: &env_id, kwargs, seed, steps, init_state, policy, reward };
            let prepared = Rollout::prepare(args)?;
            let file = File::create(&out).with_context(|| format!("cannot write {}", out.display()))?;
            let mut writer = BufWriter::new(file);
            let summary = prepared
                .run(&mut writer)
                .with_context(|| format!("rollout of {env_id} stopped; output so far is in {}", out.display()))?;
            eprintln!(
                "wrote {} steps of {env_id} to {}; {} episodes ended, returns {:?}",
                summary.steps,
                out.display(),
                summary.episode_returns.len(),
                summary.episode_returns
            );
            Ok(())
        }
        Command::Train {
            env_id,
            algo,
            steps,
            num_envs,
            seed,
            config,
            out,
            resume,
            kwargs,
            reward,
            place_window,
            goal,
            camera,
            renderer,
            pixels,
            pixel_size,
        } => {
            use std::io::IsTerminal;
            use vlmgym::language_reward::RewardKind;
            let progress = std::io::stderr().is_terminal();
            let kwargs = parse_kwargs(&kwargs)?;
            let reward = match (reward, &env_id) {
                (RewardKind::GroundTruth, _) => {
                    if goal.goal.is_some() || goal.negative.is_some() || goal.baseline.is_some() {
                        bail!("--goal/--negative/--baseline need --reward clg, vlmrm or semantic");
                    }
                    None
                }
                (_, None) => bail!("--reward needs --env (with --resume the run keeps its own reward)"),
                (kind, Some(id)) => Some(RewardSettings {
                    camera,
                    renderer: renderer.renderer,
                    force_renderer: renderer.force_renderer,
                    ..goal.settings(id, kind)?
                }),
            };
            // The run's config.toml names the text head its goal is read through.
            let mut reward = reward;
            if let Some(settings) = reward.as_mut() {
                settings.pin_text_head()?;
            }
            let reward = match (reward, place_window) {
                (Some(mut settings), true) => {
                    if vlmgym::train::latest_checkpoint(&out)?.is_some() {
                        bail!("{} already holds a run; choose another --out", out.display());
                    }
                    let id = env_id.as_deref().expect("a language reward has --env");
                    let check = out.join("window_check");
                    let r = vlmgym::reward_model::place_window(&mut settings, id, 600, &check, &device)?;
                    eprintln!(
                        "placed the CLG window: --offset {} --window {} (check in {})",
                        r.offset,
                        r.window,
                        check.display()
                    );
                    Some(settings)
                }
                (None, true) => bail!("--place-window needs --reward clg with --goal and --negative"),
                (reward, false) => reward,
            };
            let args = vlmgym::train::TrainArgs {
                algo: match algo {
                    AlgoArg::Ppo => vlmgym::train::Algo::Ppo,
                    AlgoArg::Sac => vlmgym::train::Algo::Sac,
                },
                env_id,
                steps,
                num_envs,
                seed,
                config,
                out: out.clone(),
                resume,
                progress,
                kwargs,
                reward,
                pixels: match pixels {
                    Some(camera) => {
                        let (width, height) = vlmgym::render::parse_size(&pixel_size)?;
                        Some(vlmgym::train::PixelObs { camera, width, height })
                    }
                    None => None,
                },
                device,
            };
            let last = vlmgym::train::train(args)?;
            eprintln!(
                "done: checkpoint {}, metrics {}, curves {}",
                last.display(),
                out.join("metrics.csv").display(),
                out.join("curves.png").display()
            );
            Ok(())
        }
        Command::Render { env_id, checkpoint, stochastic, seed, steps, camera, size, kwargs, out, renderer } => {
            let args = vlmgym::render::RenderArgs {
                env_id,
                checkpoint,
                stochastic,
                device,
                kwargs: parse_kwargs(&kwargs)?,
                seed,
                steps,
                camera,
                size: vlmgym::render::parse_size(&size)?,
                out,
                renderer,
            };
            let out = vlmgym::render::render(args)?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::Eval {
            checkpoint,
            episodes,
            deterministic,
            seed,
            env_id,
            kwargs,
            score_visited,
            score_tower,
            score_window,
            score_offset,
            trace,
        } => {
            let kwargs = parse_kwargs(&kwargs)?;
            let mut trace = trace
                .map(|p| {
                    std::fs::File::create(&p)
                        .map(std::io::BufWriter::new)
                        .with_context(|| format!("cannot create the trace file {}", p.display()))
                })
                .transpose()?;
            let score_visited = score_visited.then(|| {
                let mut over = toml::Table::new();
                if let Some(t) = &score_tower {
                    over.insert("tower".into(), toml::Value::String(t.display().to_string()));
                }
                if let Some(w) = score_window {
                    over.insert("window".into(), toml::Value::Float(w));
                }
                if let Some(o) = score_offset {
                    over.insert("offset".into(), toml::Value::Float(o));
                }
                over
            });
            let report = vlmgym::train::eval(
                &checkpoint,
                env_id.as_deref(),
                &kwargs,
                episodes,
                deterministic,
                seed,
                score_visited.as_ref(),
                trace.as_mut().map(|w| w as &mut dyn std::io::Write),
                &device,
            )?;
            if let Some(mut w) = trace {
                std::io::Write::flush(&mut w)?;
            }
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Dataset {
            envs,
            frames,
            out,
            size,
            seed,
            held_out_every,
            camera,
            extra_crashes,
            skip_ambiguous,
            renderer,
            max_phrasings,
            no_compound_facts,
            policy,
            policy_frames,
            expert_frames,
        } => {
            if !(8..=1024).contains(&size) {
                bail!("--size must be 8 to 1024 pixels, got {size}");
            }
            if max_phrasings == Some(0) {
                bail!("--max-phrasings must be at least 1 (a fact needs a sentence that says it)");
            }
            let args = vlmgym::dataset::DatasetArgs {
                envs,
                frames,
                out,
                size,
                seed,
                held_out_every,
                camera,
                extra_crashes,
                skip_ambiguous,
                renderer,
                max_phrasings,
                compound_facts: !no_compound_facts,
                policies: policy,
                policy_frames,
                expert_frames,
            };
            let (n, dir) = vlmgym::dataset::write(&args)?;
            println!("wrote {n} frames to {}", dir.display());
            Ok(())
        }
        Command::RewardModel { action: RewardModelCommand::Train { data, out, config, steps, seed } } => {
            let args = vlmgym::reward_model::TrainArgs { data, out: out.clone(), config, steps, seed, device };
            let report = vlmgym::reward_model::train(&args)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            eprintln!("wrote {} (report: {})", out.display(), out.with_extension("json").display());
            Ok(())
        }
        Command::RewardModel { action: RewardModelCommand::TextHead { data, tower, config, out } } => {
            let out = out.unwrap_or_else(|| vlmgym_reward::head_path(&tower));
            let report = vlmgym::reward_model::train_text_head(&data, &tower, config.as_deref(), &out, &device)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::RewardCheck {
            env_id,
            goal,
            negative,
            baseline,
            goals,
            alpha,
            window,
            offset,
            tower,
            clip,
            samples,
            seed,
            out,
            landscape,
            size,
            camera,
            fact,
            renderer,
            head,
        } => {
            let tower = tower.unwrap_or_else(vlmgym::reward_model::default_tower);
            let args = vlmgym::reward_model::CheckArgs {
                env_id,
                goal: goal.unwrap_or_default(),
                negative,
                baseline,
                alpha,
                window,
                offset,
                tower,
                clip,
                samples,
                seed,
                out,
                landscape,
                size,
                camera,
                renderer: renderer.renderer,
                force_renderer: renderer.force_renderer,
                text_head: head.text_head,
                no_text_head: head.no_text_head,
                device,
                fact,
            };
            if let Some(goals) = goals {
                let report = vlmgym::reward_model::check_goals(&goals, &args)?;
                print!("{}", report.table());
                return Ok(());
            }
            let report = vlmgym::reward_model::check(&args)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::View {
            env_id,
            checkpoint,
            seed,
            stochastic,
            kwargs,
            reward,
            goal,
            camera,
            size,
            screenshot,
            frames,
            renderer,
        } => {
            let reward = live_reward(reward, goal, renderer, || match (&env_id, &checkpoint) {
                (Some(id), _) => Ok(id.clone()),
                (None, Some(c)) => vlmgym::train::run_env_id(c),
                (None, None) => bail!("name an env id (see `vlmgym list`) or pass --checkpoint"),
            })?;
            let (width, height) = vlmgym::render::parse_size(&size)?;
            let window =
                vlmgym_render::viewer::ViewerConfig { width, height, camera, screenshot, frames, ..Default::default() };
            let args = vlmgym::view::ViewArgs {
                env_id,
                checkpoint,
                kwargs: parse_kwargs(&kwargs)?,
                seed,
                stochastic,
                reward,
                window,
                device,
            };
            // What the window showed last, for scripts and tests.
            println!("{}", vlmgym::view::view(args)?);
            Ok(())
        }
        Command::Results { runs, eval, out, column } => {
            let groups = vlmgym::results::collect(&runs, &eval)?;
            let out = out.unwrap_or_else(|| runs.clone());
            std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
            let table = vlmgym::results::markdown(&groups);
            let stem = eval.trim_end_matches(".json");
            std::fs::write(out.join(format!("table_{stem}.md")), &table)?;
            let title = format!("{column} (mean +- std over seeds)");
            vlmgym::results::plot(&groups, &column, &title, &out.join(format!("curves_{column}.png")))?;
            print!("{table}");
            Ok(())
        }
        Command::Bench { suite, seconds, renderer, sizes, envs } => {
            if !(seconds > 0.0 && seconds.is_finite()) {
                bail!("--seconds must be a positive number");
            }
            let time = Duration::from_secs_f64(seconds);
            let (name, results) = match suite {
                BenchSuite::Classic => ("classic", vlmgym::bench::classic(time)?),
                BenchSuite::Driving => ("driving", vlmgym::bench::driving(time)?),
                BenchSuite::Manipulation => ("manipulation", vlmgym::bench::manipulation(time)?),
                BenchSuite::Locomotion => ("locomotion", vlmgym::bench::locomotion(time)?),
                BenchSuite::Navigation => ("navigation", vlmgym::bench::navigation(time)?),
                BenchSuite::Ppo => ("ppo", vec![vlmgym::bench::ppo(time)?]),
                BenchSuite::Sac => {
                    let result = vlmgym::bench::sac(time)?;
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({ "suite": "sac", "results": result }))?
                    );
                    return Ok(());
                }
                BenchSuite::Reward => {
                    let results = vlmgym::bench::reward(&vlmgym::reward_model::default_tower(), seconds, &device)?;
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({ "suite": "reward", "results": results }))?
                    );
                    return Ok(());
                }
                BenchSuite::E2e => {
                    let updates = (seconds / 30.0).ceil().max(1.0) as usize;
                    if renderer.len() > 1 {
                        bail!("bench e2e takes one --renderer");
                    }
                    let tower = vlmgym::reward_model::default_tower();
                    let result = vlmgym::bench::e2e(&tower, renderer.first().copied(), None, updates, &device)?;
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({ "suite": "e2e", "results": [result] }))?
                    );
                    return Ok(());
                }
                BenchSuite::Render => {
                    let renderers =
                        if renderer.is_empty() { vec![RendererKind::Raster, RendererKind::Bevy] } else { renderer };
                    if sizes.iter().any(|s| !(8..=1024).contains(s)) || envs.contains(&0) {
                        bail!("--sizes must be 8 to 1024 pixels and --envs at least 1");
                    }
                    let results = vlmgym::bench::render(&renderers, time, &sizes, &envs)?;
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({ "suite": "render", "results": results }))?
                    );
                    return Ok(());
                }
            };
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "suite": name, "results": results }))?);
            Ok(())
        }
    }
}

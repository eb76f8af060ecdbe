//! `vlmgym reward-model train` and `vlmgym reward-check`: train the simlit image tower on a
//! rendered caption dataset, and measure how well a language goal scored by it tracks an
//! env's ground truth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use vlmgym_render::{make_renderer, RenderConfig, RendererKind};
use vlmgym_reward::dataset::{Dataset, Sample};
use vlmgym_reward::device::Device;
use vlmgym_reward::diagnostics::{
    calibrate_clg_window, contrast_range, epic_distance, histogram, pearson, roc_auc, spearman,
};
use vlmgym_reward::score::GoalScore;
use vlmgym_reward::simlit::{SimlitBackend, SimlitEncoder};
use vlmgym_reward::tower::ImageTower;
use vlmgym_reward::train::{evaluate_retrieval, train_tower_on, RetrievalReport, TrainConfig, TrainReport};
use vlmgym_reward::{Frames, RewardPipeline};

use crate::dataset::{generate, DatasetArgs};
use crate::language_reward::RewardSettings;

/// The folder of shipped assets: `$VLMGYM_ASSETS`, else `assets/` of this source tree.
pub fn assets_dir() -> PathBuf {
    std::env::var_os("VLMGYM_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"))
}

/// The shipped simlit image tower.
pub fn default_tower() -> PathBuf {
    assets_dir().join("models").join("simlit_tower.safetensors")
}

/// Loads the simlit backend: the sentence encoder from the model cache and `tower`.
pub fn load_simlit(tower: &Path, device: &Device) -> Result<SimlitBackend> {
    if !tower.exists() {
        bail!(
            "image tower {} does not exist; train one with `vlmgym reward-model train` or pass --tower",
            tower.display()
        );
    }
    let encoder = SimlitEncoder::load_default_on(device)?;
    SimlitBackend::new(encoder, ImageTower::load_on(tower, device)?)
}

/// Trains the text head of `tower` on the dataset at `data` (settings from the TOML at
/// `config`, else the defaults) with a progress bar, writes it to `out` and returns its
/// report.
pub fn train_text_head(
    data: &Path,
    tower: &Path,
    config: Option<&Path>,
    out: &Path,
    device: &Device,
) -> Result<vlmgym_reward::text_head::HeadReport> {
    use vlmgym_reward::text_head::{HeadConfig, TextHead};
    let config: HeadConfig = match config {
        Some(p) => toml::from_str(&std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?)
            .with_context(|| format!("{} is not a text head config", p.display()))?,
        None => HeadConfig::default(),
    };
    let backend = load_simlit(tower, device)?;
    let dataset = Dataset::load(data)?;
    let bar = ProgressBar::new(config.steps as u64);
    bar.set_style(ProgressStyle::with_template("text head {bar:30} {pos}/{len} loss {msg} [{elapsed}<{eta}]")?);
    let head = TextHead::train(backend.encoder(), backend.tower(), &dataset, &config, device, |_, loss| {
        bar.inc(1);
        bar.set_message(format!("{loss:.4}"));
    })?;
    bar.finish_and_clear();
    let head = head.for_tower(tower)?;
    head.save(out)?;
    head.report().cloned().context("a trained head has a report")
}

/// The tower's training report (`<tower>.json`) as JSON; None when there is none.
fn tower_report(tower: &Path) -> Result<Option<serde_json::Value>> {
    let path = tower.with_extension("json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let report =
        serde_json::from_str(&text).with_context(|| format!("{} is not the tower's JSON report", path.display()))?;
    Ok(Some(report))
}

/// The scene camera per env that the tower at `tower` was trained on: the `cameras` of its
/// training report (`<tower>.json`). Empty when there is no report or it names no cameras
/// (towers trained before reports recorded them); errors when the report is unreadable.
pub fn tower_cameras(tower: &Path) -> Result<BTreeMap<String, String>> {
    let Some(report) = tower_report(tower)? else {
        return Ok(BTreeMap::new());
    };
    match report.get("cameras") {
        None | Some(serde_json::Value::Null) => Ok(BTreeMap::new()),
        Some(c) => serde_json::from_value(c.clone()).with_context(|| {
            format!("{}: `cameras` is not a map of env id to camera name", tower.with_extension("json").display())
        }),
    }
}

/// The renderer whose frames the tower at `tower` was trained on: the `renderer` of its
/// training report; bevy when the report names none or is missing (every tower before the
/// CPU rasteriser was trained on bevy frames).
pub fn tower_renderer(tower: &Path) -> Result<RendererKind> {
    match tower_report(tower)?.as_ref().and_then(|r| r.get("renderer")).and_then(|r| r.as_str()) {
        Some(name) => name.parse().with_context(|| format!("{}: `renderer`", tower.with_extension("json").display())),
        None => Ok(RendererKind::Bevy),
    }
}

/// The renderer a reward model's frames come from: `requested` (`--renderer`) or else the
/// one its tower was trained on. Asking for the other renderer is an error that names both,
/// unless `force` (a tower scores frames like those it learnt from; another renderer's
/// colours and edges shift its scores).
pub fn reward_renderer(requested: Option<RendererKind>, tower: &Path, force: bool) -> Result<RendererKind> {
    let trained = tower_renderer(tower)?;
    match requested {
        None => Ok(trained),
        Some(r) if r == trained || force => Ok(r),
        Some(r) => bail!(
            "the reward model {} was trained on {trained} frames, but --renderer asks for {r} frames; \
             score with --renderer {trained}, train a tower on {r} frames (`vlmgym dataset --renderer {r}`), \
             or pass --force-renderer to score {r} frames anyway",
            tower.display()
        ),
    }
}

/// `vlmgym reward-model train`.
pub struct TrainArgs {
    /// Dataset folders from `vlmgym dataset`, trained on as one (see [`Dataset::merge`]).
    pub data: Vec<PathBuf>,
    /// Where to write the tower (`.safetensors`); a report goes next to it (`.json`).
    pub out: PathBuf,
    /// Training config TOML; without one, the defaults at the dataset's frame size.
    pub config: Option<PathBuf>,
    /// Override the config's steps.
    pub steps: Option<usize>,
    /// Override the config's seed.
    pub seed: Option<u64>,
    /// Where the tower trains.
    pub device: Device,
}

/// Trains the tower with a progress bar; writes it and `<out>.json` (the report).
pub fn train(args: &TrainArgs) -> Result<TrainReport> {
    let parts = args.data.iter().map(|d| Dataset::load(d)).collect::<Result<Vec<_>>>()?;
    let dataset = Dataset::merge(parts)?;
    let mut config = match &args.config {
        Some(p) => TrainConfig::from_file(p)?,
        None => TrainConfig { input_size: dataset.width(), ..TrainConfig::default() },
    };
    if let Some(s) = args.steps {
        config.steps = s;
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
    let encoder = SimlitEncoder::load_default_on(&args.device)?;
    let bar = ProgressBar::new(config.steps as u64).with_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} steps, {msg} ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let report = train_tower_on(
        &dataset,
        &encoder,
        &config,
        &args.out,
        &mut |p| {
            bar.set_position(p.step as u64);
            bar.set_message(format!("loss {:.3}, tau {:.3}", p.loss, p.temperature));
        },
        &args.device,
    )?;
    bar.finish_and_clear();
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(args.out.with_extension("json"), json + "\n")
        .with_context(|| format!("cannot write the report next to {}", args.out.display()))?;
    Ok(report)
}

/// `vlmgym reward-check`.
pub struct CheckArgs {
    /// Env id.
    pub env_id: String,
    /// Goal text (positive).
    pub goal: String,
    /// CLG negative goal.
    pub negative: Option<String>,
    /// VLM-RM baseline.
    pub baseline: Option<String>,
    /// VLM-RM alpha.
    pub alpha: f64,
    /// CLG window w.
    pub window: f64,
    /// Where CLG's window starts on the contrast (VLM-RL: 0).
    pub offset: f64,
    /// Image tower.
    pub tower: PathBuf,
    /// A CLIP model folder that scores instead of the tower.
    pub clip: Option<PathBuf>,
    /// States to sample.
    pub samples: usize,
    /// Seed of the sampled states (use seeds the tower never trained on).
    pub seed: u64,
    /// Folder for the PNGs and report.json.
    pub out: PathBuf,
    /// Also plot the score over CartPole's pole angle and cart position.
    pub landscape: bool,
    /// Frame side in pixels (None: the tower's input size).
    pub size: Option<u32>,
    /// Scene camera, `NAME` or `ENV=NAME[,...]` (None: the tower's camera for the env, see
    /// [`crate::dataset::resolve_cameras`]).
    pub camera: Option<String>,
    /// Renderer of the frames (None: the one the tower was trained on).
    pub renderer: Option<RendererKind>,
    /// Score frames of another renderer than the tower was trained on.
    pub force_renderer: bool,
    /// A text head to map goals through instead of the tower's own.
    pub text_head: Option<PathBuf>,
    /// Read goals without the tower's text head.
    pub no_text_head: bool,
    /// Where the reward model runs.
    pub device: Device,
    /// A fact key (e.g. `arms.raised`) whose holding labels each sampled state, instead of
    /// the env's own success (see [`labels`]).
    pub fact: Option<String>,
}

/// Whether a sampled state is a clear success (`Some(true)`), a clear failure
/// (`Some(false)`) or neither, as its env's state sampler labels it (see
/// [`vlmgym_envs::StateSampler::label`]).
pub fn label(sample: &Sample) -> Result<Option<bool>> {
    let spec = vlmgym_envs::registry::spec(&sample.env)?;
    let sampler = spec.metadata.require_sampler(&sample.env, "`vlmgym reward-check`")?;
    let facts: Vec<&str> = sample.captions.iter().map(|c| c.fact.as_str()).collect();
    Ok(sampler.label(&facts, sample.success))
}

/// Every sampled state's label: with `fact`, whether that fact's caption holds (an error
/// names the facts seen when it holds in none of them, e.g. a misspelt key); else [`label`].
pub fn labels(samples: &[Sample], fact: Option<&str>) -> Result<Vec<Option<bool>>> {
    let Some(fact) = fact else { return samples.iter().map(label).collect() };
    let holds = |s: &Sample| s.captions.iter().any(|c| c.fact == fact);
    if !samples.iter().any(holds) {
        let mut seen: Vec<&str> = samples.iter().flat_map(|s| s.captions.iter().map(|c| c.fact.as_str())).collect();
        seen.sort_unstable();
        seen.dedup();
        bail!(
            "the fact `{fact}` holds in none of the {} sampled states; the facts seen are: {}",
            samples.len(),
            seen.join(", ")
        );
    }
    Ok(samples.iter().map(|s| Some(holds(s))).collect())
}

/// What `reward-check` found.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// Env id.
    pub env_id: String,
    /// The score used: clg, vlmrm or cosine.
    pub score: String,
    /// States sampled.
    pub samples: usize,
    /// Pearson correlation of the score with the success flag.
    pub pearson_success: f64,
    /// Spearman correlation of the score with the success flag.
    pub spearman_success: f64,
    /// Pearson correlation with the env's ground-truth reward of the step.
    pub pearson_reward: Option<f64>,
    /// EPIC-style (Pearson) distance between the score and the success flag.
    pub epic_distance_success: f64,
    /// Labelled states: clear successes and clear failures (see [`label`]).
    pub labelled: (usize, usize),
    /// ROC AUC of the score's ranking separating successes from failures (for CLG, of the
    /// unclipped contrast `-z`, which the window only saturates).
    pub auc: Option<f64>,
    /// ROC AUC of the reward itself (CLG: after clipping to the window, ties count half).
    pub auc_reward: Option<f64>,
    /// Mean score of successes and of failures.
    pub mean_score: (f64, f64),
    /// CLG only: the recommended window and what it gives.
    pub calibration: Option<vlmgym_reward::diagnostics::ClgCalibration>,
    /// CLG only: a window and offset (`--window`, `--offset`) spanning the middle 98% of
    /// every sampled state's contrast, from no labels (see
    /// [`vlmgym_reward::diagnostics::contrast_range`]); None when the contrasts do not spread.
    pub range: Option<vlmgym_reward::diagnostics::ContrastRange>,
    /// Top-1 caption-to-frame and frame-to-caption retrieval on these (unseen) states.
    pub retrieval: Option<RetrievalReport>,
    /// The scene camera the states were rendered from.
    pub camera: String,
    /// The renderer that drew them.
    pub renderer: RendererKind,
    /// Side of the rendered frames, pixels.
    pub size: u32,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// The share of sampled states left at each end of [`CheckReport::range`].
const RANGE_TAIL: f64 = 0.01;

/// Samples states, renders and scores them, and writes the report and plots.
pub fn check(args: &CheckArgs) -> Result<CheckReport> {
    let (pipeline, renderer) = check_pipeline(args, &args.goal, args.negative.clone(), args.baseline.clone())?;
    let name = pipeline.score().name();
    let (frame_side, camera) = (pipeline.size(), pipeline.camera().to_string());
    let (samples, frames) = sample_states(args, &pipeline, renderer)?;
    let n = samples.len();
    let size = frame_side as usize;
    let dataset = Dataset::from_parts(size, size, frames.as_slice().to_vec(), samples.clone())?;
    let emb = pipeline.embed(&frames)?;
    let scores = pipeline.score_embeddings(&emb)?;
    let success: Vec<f64> = samples.iter().map(|s| f64::from(u8::from(s.success))).collect();
    let rewards: Vec<f64> = samples.iter().map(|s| s.reward).collect();
    let labels = labels(&samples, args.fact.as_deref())?;
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for (s, l) in scores.iter().zip(&labels) {
        match l {
            Some(true) => good.push(*s),
            Some(false) => bad.push(*s),
            None => {}
        }
    }
    let lab_scores: Vec<f64> = good.iter().chain(&bad).copied().collect();
    let lab: Vec<bool> = good.iter().map(|_| true).chain(bad.iter().map(|_| false)).collect();
    let auc_reward = if !good.is_empty() && !bad.is_empty() { Some(roc_auc(&lab_scores, &lab)?) } else { None };
    let contrast = pipeline.contrast(&emb)?;
    let contrast_all = contrast.clone();
    let auc = match &contrast {
        Some(z) if auc_reward.is_some() => {
            let ranked: Vec<f64> = labels.iter().zip(z).filter(|(l, _)| l.is_some()).map(|(_, z)| -z).collect();
            let lab: Vec<bool> = labels.iter().filter_map(|l| *l).collect();
            Some(roc_auc(&ranked, &lab)?)
        }
        _ => auc_reward,
    };
    let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
    let calibration = match contrast {
        Some(z) if !good.is_empty() && !bad.is_empty() => {
            let (mut zg, mut zb) = (Vec::new(), Vec::new());
            for (z, l) in z.iter().zip(&labels) {
                match l {
                    Some(true) => zg.push(*z),
                    Some(false) => zb.push(*z),
                    None => {}
                }
            }
            Some(calibrate_clg_window(&zg, &zb, 0.5)?)
        }
        _ => None,
    };
    let range = contrast_all.as_deref().and_then(|z| contrast_range(z, RANGE_TAIL).ok());
    let mut files = Vec::new();
    if !good.is_empty() && !bad.is_empty() {
        let path = args.out.join("histogram.png");
        plot_histogram(&good, &bad, &path, &format!("{}: \"{}\" ({name})", args.env_id, args.goal))?;
        files.push(path);
    }
    if args.landscape {
        let path = args.out.join("landscape.png");
        landscape(&args.env_id, &pipeline, renderer, &path, &args.goal)?;
        files.push(path);
    }
    let path = args.out.join("scores.csv");
    write_scores(&path, &samples, &labels, &scores, contrast_all.as_deref())?;
    files.push(path);
    let retrieval = evaluate_retrieval(pipeline.backend(), &dataset, vlmgym_reward::dataset::Split::Test).ok();
    let report = CheckReport {
        env_id: args.env_id.clone(),
        score: name.into(),
        samples: n,
        pearson_success: pearson(&scores, &success).unwrap_or(f64::NAN),
        spearman_success: spearman(&scores, &success).unwrap_or(f64::NAN),
        pearson_reward: pearson(&scores, &rewards).ok(),
        epic_distance_success: epic_distance(&scores, &success).unwrap_or(f64::NAN),
        labelled: (good.len(), bad.len()),
        auc,
        auc_reward,
        mean_score: (mean(&good), mean(&bad)),
        calibration,
        range,
        retrieval,
        camera,
        renderer,
        size: frame_side,
        files: files.clone(),
    };
    let path = args.out.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(report)
}

/// Places a CLG reward's window where `env_id`'s frames are before training (`vlmgym train
/// --place-window`): samples `samples` states from seed 1,000,000 as `reward-check` does,
/// writes that check's report and plots to `out`, and sets `settings.offset` and
/// `settings.window` to the contrasts' [`CheckReport::range`]. Errors unless the reward is
/// CLG, or when the contrasts do not spread (the goal and negative do not tell the states
/// apart).
pub fn place_window(
    settings: &mut RewardSettings,
    env_id: &str,
    samples: usize,
    out: &Path,
    device: &Device,
) -> Result<vlmgym_reward::diagnostics::ContrastRange> {
    use crate::language_reward::RewardKind;
    let negative = match (settings.kind, &settings.negative) {
        (RewardKind::Clg, Some(n)) => n.clone(),
        _ => bail!("--place-window places CLG's window: it needs --reward clg with --negative"),
    };
    let args = CheckArgs {
        env_id: env_id.to_string(),
        goal: settings.goal.clone(),
        negative: Some(negative),
        baseline: None,
        alpha: settings.alpha,
        window: settings.window,
        offset: 0.0,
        tower: settings.tower.clone(),
        clip: settings.clip.clone(),
        samples,
        seed: 1_000_000,
        out: out.to_path_buf(),
        landscape: false,
        size: settings.size,
        camera: settings.camera.clone(),
        renderer: settings.renderer,
        force_renderer: settings.force_renderer,
        text_head: settings.text_head.clone(),
        no_text_head: settings.no_text_head,
        device: device.clone(),
        fact: None,
    };
    let report = check(&args)?;
    let range = report.range.with_context(|| {
        format!(
            "cannot place the CLG window: the contrasts of {samples} sampled {env_id} states do not spread, so \
             \"{}\" and \"{}\" do not tell them apart (report in {})",
            settings.goal,
            settings.negative.as_deref().unwrap_or_default(),
            out.display()
        )
    })?;
    settings.offset = range.offset;
    settings.window = range.window;
    Ok(range)
}

/// The reward pipeline of a check of `goal` (with `negative` or `baseline`) under `args`'
/// tower, camera, size and renderer, and the renderer its frames come from.
fn check_pipeline(
    args: &CheckArgs,
    goal: &str,
    negative: Option<String>,
    baseline: Option<String>,
) -> Result<(RewardPipeline, RendererKind)> {
    let settings = RewardSettings {
        renderer: args.renderer,
        force_renderer: args.force_renderer,
        clip: args.clip.clone(),
        text_head: args.text_head.clone(),
        no_text_head: args.no_text_head,
        offset: args.offset,
        ..RewardSettings::for_goal(
            goal,
            negative,
            baseline,
            args.alpha,
            args.window,
            args.tower.clone(),
            args.camera.clone(),
            args.size,
        )?
    };
    let renderer = settings.frame_renderer()?;
    Ok((settings.pipeline(&args.env_id, &vlmgym_envs::Options::new(), &args.device)?, renderer))
}

/// `args.samples` states of `args.env_id` from seed `args.seed` (all in the test split),
/// rendered by `renderer` from `pipeline`'s camera at its frame size.
fn sample_states(args: &CheckArgs, pipeline: &RewardPipeline, renderer: RendererKind) -> Result<(Vec<Sample>, Frames)> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let size = pipeline.size();
    let ds_args = DatasetArgs {
        envs: vec![args.env_id.clone()],
        frames: args.samples,
        out: args.out.clone(),
        size,
        seed: args.seed,
        held_out_every: u64::MAX,
        camera: Some(format!("{}={}", args.env_id, pipeline.camera())),
        extra_crashes: false,
        skip_ambiguous: false,
        renderer,
        max_phrasings: None,
        compound_facts: true,
        policies: Vec::new(),
        policy_frames: 0,
        expert_frames: 0,
    };
    let (mut data, mut samples) = (Vec::new(), Vec::new());
    generate(&ds_args, &mut |f, s| {
        data.extend_from_slice(f);
        samples.push(s);
        Ok(())
    })?;
    // All sampled states count as the evaluation split.
    for s in &mut samples {
        s.split = vlmgym_reward::dataset::Split::Test;
    }
    let n = samples.len();
    Ok((samples, Frames::new(data, n, size as usize, size as usize)?))
}

/// A file of goal pairs for one env (`assets/goals/heldout/*.toml`): wordings to judge a
/// reward model on, each a goal and a negative (CLG).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalFile {
    /// The env ids the pairs describe.
    pub envs: Vec<String>,
    /// The pairs.
    pub pair: Vec<GoalPair>,
}

/// One goal pair of a [`GoalFile`].
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GoalPair {
    /// What the agent should achieve.
    pub goal: String,
    /// Its opposite.
    pub negative: String,
}

impl GoalFile {
    /// Reads and checks a goal file: at least one pair, no empty text.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read goal file {}", path.display()))?;
        let file: GoalFile = toml::from_str(&text).with_context(|| format!("goal file {}", path.display()))?;
        if file.pair.is_empty() {
            bail!("goal file {} has no [[pair]]", path.display());
        }
        for (i, p) in file.pair.iter().enumerate() {
            if p.goal.trim().is_empty() || p.negative.trim().is_empty() {
                bail!("goal file {}: pair {} has an empty goal or negative", path.display(), i + 1);
            }
        }
        Ok(file)
    }
}

/// One pair's result in [`GoalsReport`].
#[derive(Clone, Debug, Serialize)]
pub struct PairAuc {
    /// The pair.
    #[serde(flatten)]
    pub pair: GoalPair,
    /// ROC AUC of CLG's contrast `-z` separating successes from failures.
    pub auc: f64,
}

/// What `reward-check --goals FILE` found: every pair's AUC on the same states.
#[derive(Clone, Debug, Serialize)]
pub struct GoalsReport {
    /// Env id.
    pub env_id: String,
    /// The goal file.
    pub goals: PathBuf,
    /// Seed of the sampled states.
    pub seed: u64,
    /// States sampled.
    pub samples: usize,
    /// Clear successes and clear failures among them.
    pub labelled: (usize, usize),
    /// Each pair, in file order.
    pub pairs: Vec<PairAuc>,
    /// Mean AUC over the pairs.
    pub mean_auc: f64,
    /// The lowest AUC.
    pub worst_auc: f64,
    /// The scene camera, renderer and frame side of the states.
    pub camera: String,
    /// The renderer that drew them.
    pub renderer: RendererKind,
    /// Side of the frames, pixels.
    pub size: u32,
}

impl GoalsReport {
    /// The report as a Markdown table: AUC per pair, then mean and worst.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} on seed {} ({} states: {} successes, {} failures; {} frames, {} camera)\n\n| AUC | goal | negative |\n|---:|---|---|\n",
            self.env_id, self.seed, self.samples, self.labelled.0, self.labelled.1, self.renderer, self.camera
        );
        for p in &self.pairs {
            s += &format!("| {:.3} | {} | {} |\n", p.auc, p.pair.goal, p.pair.negative);
        }
        s += &format!("\nmean AUC {:.3}, worst {:.3} over {} pairs\n", self.mean_auc, self.worst_auc, self.pairs.len());
        s
    }
}

/// Scores every pair of the goal file `goals` on the same sampled states (rendered and
/// embedded once) and writes `goals_report.json` to `args.out`. `args.goal` and
/// `args.negative` are ignored.
pub fn check_goals(goals: &Path, args: &CheckArgs) -> Result<GoalsReport> {
    let file = GoalFile::load(goals)?;
    if !file.envs.iter().any(|e| e == &args.env_id) {
        bail!("the goals in {} are for {}, not {}", goals.display(), file.envs.join(", "), args.env_id);
    }
    let first = &file.pair[0];
    let (pipeline, renderer) = check_pipeline(args, &first.goal, Some(first.negative.clone()), None)?;
    let (samples, frames) = sample_states(args, &pipeline, renderer)?;
    let emb = pipeline.embed(&frames)?;
    let labels = labels(&samples, args.fact.as_deref())?;
    let lab: Vec<bool> = labels.iter().filter_map(|l| *l).collect();
    let (good, bad) = (lab.iter().filter(|l| **l).count(), lab.iter().filter(|l| !**l).count());
    if good == 0 || bad == 0 {
        bail!("the {} sampled states hold {good} successes and {bad} failures; an AUC needs both", samples.len());
    }
    let mut pairs = Vec::with_capacity(file.pair.len());
    for p in &file.pair {
        let score = GoalScore::from_texts(
            pipeline.backend(),
            &p.goal,
            Some(&p.negative),
            None,
            args.alpha as f32,
            args.window as f32,
        )?;
        let z = score.contrast_batch(&emb)?.context("a goal with a negative has a CLG contrast")?;
        let ranked: Vec<f64> =
            labels.iter().zip(&z).filter(|(l, _)| l.is_some()).map(|(_, z)| -f64::from(*z)).collect();
        pairs.push(PairAuc { pair: p.clone(), auc: roc_auc(&ranked, &lab)? });
    }
    let aucs: Vec<f64> = pairs.iter().map(|p| p.auc).collect();
    let report = GoalsReport {
        env_id: args.env_id.clone(),
        goals: goals.to_path_buf(),
        seed: args.seed,
        samples: samples.len(),
        labelled: (good, bad),
        mean_auc: aucs.iter().sum::<f64>() / aucs.len() as f64,
        worst_auc: aucs.iter().copied().fold(f64::INFINITY, f64::min),
        pairs,
        camera: pipeline.camera().to_string(),
        renderer,
        size: pipeline.size(),
    };
    let path = args.out.join("goals_report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(report)
}

/// One line per sampled state: where it came from, its label, score, CLG contrast and facts.
fn write_scores(
    path: &Path,
    samples: &[Sample],
    labels: &[Option<bool>],
    scores: &[f64],
    contrast: Option<&[f64]>,
) -> Result<()> {
    let mut out = String::from("index,seed,step,label,score,contrast,facts\n");
    for (i, s) in samples.iter().enumerate() {
        let label = match labels[i] {
            Some(true) => "success",
            Some(false) => "failure",
            None => "",
        };
        let z = contrast.map(|z| z[i].to_string()).unwrap_or_default();
        let facts: Vec<&str> = s.captions.iter().map(|c| c.fact.as_str()).collect();
        out += &format!("{i},{},{},{label},{},{z},{}\n", s.seed, s.step, scores[i], facts.join(" "));
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// Histogram of the scores of successes (blue) and failures (red) on shared bins.
fn plot_histogram(good: &[f64], bad: &[f64], out: &Path, title: &str) -> Result<()> {
    vlmgym_agents::metrics::register_font();
    let h = histogram(good, bad, 30)?;
    let top = h.counts_a.iter().chain(&h.counts_b).copied().max().unwrap_or(1).max(1) as f64;
    let (x0, x1) = (h.edges[0], h.edges[h.edges.len() - 1]);
    let root = BitMapBackend::new(out, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1.max(x0 + 1e-9), 0.0..top * 1.1)?;
    chart.configure_mesh().x_desc("language reward").y_desc("states").label_style(("sans-serif", 12)).draw()?;
    for (counts, color, label) in [(&h.counts_a, BLUE, "success"), (&h.counts_b, RED, "failure")] {
        chart
            .draw_series(counts.iter().enumerate().map(|(i, c)| {
                Rectangle::new([(h.edges[i], 0.0), (h.edges[i + 1], *c as f64)], color.mix(0.45).filled())
            }))?
            .label(format!("{label} ({})", counts.iter().sum::<usize>()))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.mix(0.45).filled()));
    }
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
    root.present().with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// The env's reward landscape (its metadata's two-parameter family of states, e.g.
/// CartPole's pole angle by cart position): the score drawn as a heat map and as the mean
/// over the y axis, like VLM-RMs' figure.
fn landscape(env_id: &str, pipeline: &RewardPipeline, renderer: RendererKind, out: &Path, goal: &str) -> Result<()> {
    let spec = vlmgym_envs::registry::spec(env_id)?;
    let land = spec.metadata.require_landscape(env_id, "`reward-check --landscape`")?;
    let ((x0, x1), (y0, y1)) = (land.x_range, land.y_range);
    let (nx, ny) = (40usize, 8usize);
    let angles: Vec<f64> = (0..=nx).map(|i| x0 + (x1 - x0) * i as f64 / nx as f64).collect();
    let xs: Vec<f64> = (0..=ny).map(|i| y0 + (y1 - y0) * i as f64 / ny as f64).collect();
    let scenes: Vec<_> = xs.iter().flat_map(|&y| angles.iter().map(move |&a| (land.scene)(a, y))).collect();
    let (size, camera) = (pipeline.size(), Some(pipeline.camera().to_string()));
    let mut r = make_renderer(renderer, angles.len(), RenderConfig { width: size, height: size, camera })?;
    let mut grid = Vec::new();
    for row in scenes.chunks(angles.len()) {
        grid.push(pipeline.score_frames(&r.render(row)?)?);
    }
    vlmgym_agents::metrics::register_font();
    let (lo, hi) = grid.iter().flatten().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let span = (hi - lo).max(1e-9);
    let root = BitMapBackend::new(out, (1100, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&format!("{env_id}: \"{goal}\""), ("sans-serif", 18))?;
    let (left, right) = root.split_horizontally(560);
    let mut heat = ChartBuilder::on(&left)
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .caption(format!("score by {} and {}", land.x_label, land.y_label), ("sans-serif", 14))
        .build_cartesian_2d(x0..x1, y0..y1)?;
    heat.configure_mesh().x_desc(land.x_label).y_desc(land.y_label).label_style(("sans-serif", 11)).draw()?;
    let (da, dx) = ((x1 - x0) / nx as f64, (y1 - y0) / ny as f64);
    heat.draw_series(grid.iter().enumerate().flat_map(|(j, row)| {
        row.iter().enumerate().map(move |(i, v)| {
            let t = (v - lo) / span;
            let c = RGBColor(
                (255.0 * t) as u8,
                (80.0 + 100.0 * (1.0 - (2.0 * t - 1.0).abs())) as u8,
                (255.0 * (1.0 - t)) as u8,
            );
            let (a, x) = (x0 + i as f64 * da, y0 + j as f64 * dx);
            Rectangle::new([(a - da / 2.0, x - dx / 2.0), (a + da / 2.0, x + dx / 2.0)], c.filled())
        })
    }))?;
    let means: Vec<(f64, f64)> = angles
        .iter()
        .enumerate()
        .map(|(i, a)| (*a, grid.iter().map(|row| row[i]).sum::<f64>() / grid.len() as f64))
        .collect();
    let mut line = ChartBuilder::on(&right)
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .caption(format!("mean over {}", land.y_label), ("sans-serif", 14))
        .build_cartesian_2d(x0..x1, lo - 0.05 * span..hi + 0.05 * span)?;
    line.configure_mesh().x_desc(land.x_label).y_desc("score").label_style(("sans-serif", 11)).draw()?;
    line.draw_series(LineSeries::new(means, &BLUE))?;
    root.present().with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

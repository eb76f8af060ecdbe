//! The one language-reward pipeline: frames of an env's reward camera -> a backend's image
//! embeddings -> the goal score -> declarative reward synthesis.
//!
//! `vlmgym train` (a whole rollout's frames scored in batches before advantages are
//! computed), `vlmgym view` (one frame per step, live) and `vlmgym reward-check` (sampled
//! states) all build a [`RewardPipeline`] and go through its methods, so the three cannot
//! drift apart. The pipeline records which camera and frame size the backend expects; the
//! caller renders the frames with [`RewardPipeline::camera`] and [`RewardPipeline::size`].

use anyhow::{ensure, Context, Result};
use serde_json::{Map, Value as Json};

use crate::backend::{Backend, Embeddings, Frames};
use crate::score::GoalScore;
use crate::synthesis::{Evaluation, RewardSpec, StepInput, Synthesizer};

/// Frames embedded per backend call when scoring a batch.
pub const SCORE_BATCH: usize = 256;

/// A backend, a goal score, a synthesis config, and the view frames are rendered from.
pub struct RewardPipeline {
    backend: Box<dyn Backend>,
    score: GoalScore,
    synthesis: RewardSpec,
    camera: String,
    size: u32,
}

/// One frame's semantic score and the synthesized reward with every term.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredStep {
    /// The goal score of the frame.
    pub semantic: f64,
    /// The synthesis of the step (its reward and each term).
    pub evaluation: Evaluation,
}

impl RewardPipeline {
    /// A pipeline over `backend` scoring `score`, synthesizing with `synthesis`, for frames of
    /// `size` x `size` pixels from the scene camera `camera`.
    pub fn new(backend: Box<dyn Backend>, score: GoalScore, synthesis: RewardSpec, camera: &str, size: u32) -> Self {
        RewardPipeline { backend, score, synthesis, camera: camera.to_string(), size }
    }

    /// The scene camera frames must come from.
    pub fn camera(&self) -> &str {
        &self.camera
    }

    /// The side of the frames, pixels.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The backend.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// The goal score.
    pub fn score(&self) -> &GoalScore {
        &self.score
    }

    /// The synthesis config.
    pub fn synthesis(&self) -> &RewardSpec {
        &self.synthesis
    }

    /// A synthesizer of this pipeline's config for `num_envs` envs (each keeps its own
    /// potentials and histories).
    pub fn synthesizer(&self, num_envs: usize) -> Synthesizer {
        Synthesizer::new(self.synthesis.clone(), num_envs)
    }

    /// Image embeddings of every frame, embedded [`SCORE_BATCH`] at a time.
    pub fn embed(&self, frames: &Frames) -> Result<Embeddings> {
        if frames.len() <= SCORE_BATCH {
            return self.backend.embed_images(frames);
        }
        let frame_len = frames.height() * frames.width() * 3;
        let mut rows = Vec::with_capacity(frames.len() * self.backend.dim());
        let mut dim = self.backend.dim();
        for chunk in frames.as_slice().chunks(SCORE_BATCH * frame_len) {
            let part = Frames::new(chunk.to_vec(), chunk.len() / frame_len, frames.height(), frames.width())?;
            let e = self.backend.embed_images(&part)?;
            dim = e.dim();
            rows.extend_from_slice(e.as_slice());
        }
        Embeddings::from_rows(rows, frames.len(), dim)
    }

    /// The goal score of every embedding, in order.
    pub fn score_embeddings(&self, embeddings: &Embeddings) -> Result<Vec<f64>> {
        Ok(self.score.score_batch(embeddings)?.into_iter().map(f64::from).collect())
    }

    /// The goal score of every frame, in order (embedded in batches).
    pub fn score_frames(&self, frames: &Frames) -> Result<Vec<f64>> {
        ensure!(
            frames.height() == self.size as usize && frames.width() == self.size as usize,
            "the reward pipeline scores {0}x{0} frames, got {1}x{2}",
            self.size,
            frames.width(),
            frames.height()
        );
        let e = self.embed(frames)?;
        ensure!(e.len() == frames.len(), "backend returned {} image embeddings for {} frames", e.len(), frames.len());
        self.score_embeddings(&e)
    }

    /// CLG's contrast of every embedding (None for the other scores).
    pub fn contrast(&self, embeddings: &Embeddings) -> Result<Option<Vec<f64>>> {
        Ok(self.score.contrast_batch(embeddings)?.map(|z| z.into_iter().map(f64::from).collect()))
    }

    /// Synthesizes env `env`'s reward for one step from its semantic score and info.
    pub fn synthesize(
        synth: &mut Synthesizer,
        env: usize,
        semantic: f64,
        info: &Map<String, Json>,
        terminated: bool,
        truncated: bool,
    ) -> Result<Evaluation> {
        let sem = [("semantic", semantic)];
        let input = StepInput { semantic: &sem, info, terminated, truncated };
        synth.step(env, &input).with_context(|| format!("reward synthesis, env {env}"))
    }

    /// Scores a step's frames (one per env, as one batch) and synthesizes each env's reward
    /// from its frame's score and `infos[i]` (the live reward of the viewer, `rollout --goal`
    /// and the Python package).
    pub fn score_steps(
        &self,
        synth: &mut Synthesizer,
        frames: &Frames,
        infos: &[Map<String, Json>],
        terminated: &[bool],
        truncated: &[bool],
    ) -> Result<Vec<ScoredStep>> {
        let n = frames.len();
        ensure!(
            infos.len() == n && terminated.len() == n && truncated.len() == n,
            "{n} frames need as many infos and flags, got {} infos and {}/{} flags",
            infos.len(),
            terminated.len(),
            truncated.len()
        );
        let scores = self.score_frames(frames)?;
        (0..n)
            .map(|i| {
                let evaluation = Self::synthesize(synth, i, scores[i], &infos[i], terminated[i], truncated[i])?;
                Ok(ScoredStep { semantic: scores[i], evaluation })
            })
            .collect()
    }
}

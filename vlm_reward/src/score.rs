//! The two rewards, on unit-length embeddings.
//!
//! - [`ClgScore`] (VLM-RL's contrasting-language-goal reward):
//!   `z = cos(x, neg) - cos(x, pos)`, `r_sem = 1 - clip(z - z0, 0, w)/w` (default `w = 0.03`;
//!   the offset `z0` is 0 in VLM-RL). With several positive (negative) prompts, `pos`
//!   (`neg`) is the mean of their unit embeddings, renormalised to unit length.
//!
//!   A nonzero `z0` places the window where an env's frames are: image and text embeddings
//!   sit apart (the modality gap), so for some wordings every frame of an env is nearer the
//!   goal text than the negative (`z < 0`) and VLM-RL's window scores them all 1.
//!   `reward-check` recommends `z0` and `w` from the spread of `z` over sampled states
//!   ([`crate::diagnostics::contrast_range`]), which needs no labels.
//! - [`VlmRmScore`] (VLM-RMs' goal-baseline projection): `t` = mean of the goal-prompt unit
//!   embeddings, `b` = mean of the baseline-prompt unit embeddings (as in vlmrm's
//!   `CLIPReward`, these means are *not* renormalised), `d = t - b`,
//!   `P = alpha * d d^T/|d|^2 + (1 - alpha) I`, `r = 1 - 0.5 |(x - t) P|^2` with `x`
//!   normalised. `alpha = 0` gives `1 - 0.5 |x - t|^2`, which is cosine similarity up to
//!   a constant when `|t| = 1`; `alpha = 1` keeps only the component along `d`.

use anyhow::{bail, ensure, Result};

use crate::backend::{normalise_in_place, Backend, Embeddings, Frames, TextEmbeddingCache};
use crate::goal::GoalSpec;

/// Default CLG normalisation window `w` (VLM-RL's code).
pub const DEFAULT_CLG_WINDOW: f32 = 0.03;

/// Two prompt sets whose (mean) embeddings differ by less than this are "identical".
const IDENTICAL_EPS: f32 = 1e-6;

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Both prompt sets are non-empty and of one dimension (errors name the score and sets).
fn check_prompt_sets(score: &str, (a_name, a): (&str, &Embeddings), (b_name, b): (&str, &Embeddings)) -> Result<()> {
    ensure!(!a.is_empty(), "{score}: no {a_name} prompts");
    ensure!(!b.is_empty(), "{score}: no {b_name} prompts");
    ensure!(a.dim() == b.dim(), "{score}: {a_name} dimension {} != {b_name} dimension {}", a.dim(), b.dim());
    Ok(())
}

/// Checks the dimension of `x` and returns it normalised (errors name `what`).
fn unit(x: &[f32], dim: usize, what: &str) -> Result<Vec<f32>> {
    ensure!(x.len() == dim, "{what}: dimension {} does not match the prompts' dimension {dim}", x.len());
    let mut v = x.to_vec();
    normalise_in_place(&mut v, what)?;
    Ok(v)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// VLM-RL's contrasting-language-goal (CLG) reward.
#[derive(Debug, Clone, PartialEq)]
pub struct ClgScore {
    pos: Vec<f32>,
    neg: Vec<f32>,
    window: f32,
    offset: f32,
}

impl ClgScore {
    /// Builds the score from positive and negative prompt embeddings (each set averaged and
    /// renormalised) and the window `w`. Errors on an empty set, mismatched dimensions, a
    /// window that is not finite and positive, or positive and negative sets that embed to
    /// the same direction (the reward would be constant).
    pub fn new(positive: &Embeddings, negative: &Embeddings, window: f32) -> Result<Self> {
        check_prompt_sets("CLG score", ("positive", positive), ("negative", negative))?;
        ensure!(window.is_finite() && window > 0.0, "CLG score: window w must be finite and > 0, got {window}");
        let pos = positive.normalised_mean()?;
        let neg = negative.normalised_mean()?;
        ensure!(
            max_abs_diff(&pos, &neg) > IDENTICAL_EPS,
            "CLG score: positive and negative prompts embed identically; the reward would be constant"
        );
        Ok(Self { pos, neg, window, offset: 0.0 })
    }

    /// The same score with the window starting at contrast `offset` (`z0`) instead of 0.
    /// Errors on a non-finite offset.
    pub fn with_offset(mut self, offset: f32) -> Result<Self> {
        ensure!(offset.is_finite(), "CLG score: offset z0 must be finite, got {offset}");
        self.offset = offset;
        Ok(self)
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.pos.len()
    }

    /// The window `w`.
    pub fn window(&self) -> f32 {
        self.window
    }

    /// The offset `z0` where the window starts.
    pub fn offset(&self) -> f32 {
        self.offset
    }

    /// `z = cos(x, neg) - cos(x, pos)` for one embedding `x` (normalised here).
    pub fn contrast(&self, x: &[f32]) -> Result<f32> {
        let x = unit(x, self.dim(), "CLG score: frame embedding")?;
        Ok(dot(&x, &self.neg) - dot(&x, &self.pos))
    }

    /// `r_sem = 1 - clip(z - z0, 0, w)/w` for one embedding, in `[0, 1]`.
    pub fn score(&self, x: &[f32]) -> Result<f32> {
        let z = self.contrast(x)? - self.offset;
        Ok(1.0 - z.clamp(0.0, self.window) / self.window)
    }

    /// Rewards for every row of `frames`, in order.
    pub fn score_batch(&self, frames: &Embeddings) -> Result<Vec<f32>> {
        frames.iter().map(|x| self.score(x)).collect()
    }
}

/// VLM-RMs' goal-baseline projection reward.
#[derive(Debug, Clone, PartialEq)]
pub struct VlmRmScore {
    target: Vec<f32>,
    direction: Vec<f32>,
    direction_norm_sq: f32,
    alpha: f32,
}

impl VlmRmScore {
    /// Builds the score from goal and baseline prompt embeddings and `alpha` in `[0, 1]`.
    /// Errors on an empty set, mismatched dimensions, `alpha` outside `[0, 1]` (or NaN), or
    /// goal and baseline means that coincide (`d = 0`, the projection is undefined).
    pub fn new(goal: &Embeddings, baseline: &Embeddings, alpha: f32) -> Result<Self> {
        check_prompt_sets("VLM-RM score", ("goal", goal), ("baseline", baseline))?;
        ensure!((0.0..=1.0).contains(&alpha), "VLM-RM score: alpha must be in [0, 1], got {alpha}");
        let target = goal.mean()?;
        let base = baseline.mean()?;
        let direction: Vec<f32> = target.iter().zip(&base).map(|(t, b)| t - b).collect();
        let direction_norm_sq = dot(&direction, &direction);
        ensure!(
            direction_norm_sq.sqrt() > IDENTICAL_EPS,
            "VLM-RM score: goal and baseline prompts embed identically; d = t - b is zero"
        );
        Ok(Self { target, direction, direction_norm_sq, alpha })
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.target.len()
    }

    /// `alpha`.
    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// The goal mean `t` (not renormalised).
    pub fn target(&self) -> &[f32] {
        &self.target
    }

    /// The direction `d = t - b`.
    pub fn direction(&self) -> &[f32] {
        &self.direction
    }

    /// `r = 1 - 0.5 |(x - t) P|^2` for one embedding `x` (normalised here). `P` is applied
    /// without forming the matrix: `v P = alpha (v.d / |d|^2) d + (1 - alpha) v`.
    pub fn score(&self, x: &[f32]) -> Result<f32> {
        let x = unit(x, self.dim(), "VLM-RM score: frame embedding")?;
        let v: Vec<f32> = x.iter().zip(&self.target).map(|(x, t)| x - t).collect();
        let k = self.alpha * dot(&v, &self.direction) / self.direction_norm_sq;
        let sq: f32 = v
            .iter()
            .zip(&self.direction)
            .map(|(v, d)| {
                let p = k * d + (1.0 - self.alpha) * v;
                p * p
            })
            .sum();
        Ok(1.0 - 0.5 * sq)
    }

    /// Rewards for every row of `frames`, in order.
    pub fn score_batch(&self, frames: &Embeddings) -> Result<Vec<f32>> {
        frames.iter().map(|x| self.score(x)).collect()
    }
}

/// A goal turned into a score: prompts embedded once, frames scored in batches.
#[derive(Debug, Clone, PartialEq)]
pub enum GoalScore {
    /// VLM-RL's CLG reward.
    Clg(ClgScore),
    /// VLM-RMs' projection reward.
    VlmRm(VlmRmScore),
    /// Cosine similarity to the goal's unit embedding alone.
    Cosine(Vec<f32>),
}

impl GoalScore {
    /// From one goal text and either a CLG `negative` (with `window`), a VLM-RM `baseline`
    /// (with `alpha`), or neither (cosine similarity to the goal). Each text is embedded on
    /// its own. Errors on an empty goal or on both a negative and a baseline.
    pub fn from_texts(
        backend: &dyn Backend,
        goal: &str,
        negative: Option<&str>,
        baseline: Option<&str>,
        alpha: f32,
        window: f32,
    ) -> Result<Self> {
        if goal.trim().is_empty() {
            bail!("the goal text is empty");
        }
        let embed = |t: &str| backend.embed_texts(&[t.to_string()]);
        Ok(match (negative, baseline) {
            (Some(_), Some(_)) => bail!("give either a negative goal (CLG) or a baseline (VLM-RM), not both"),
            (Some(n), None) => Self::Clg(ClgScore::new(&embed(goal)?, &embed(n)?, window)?),
            (None, Some(b)) => Self::VlmRm(VlmRmScore::new(&embed(goal)?, &embed(b)?, alpha)?),
            (None, None) => {
                let e = embed(goal)?;
                Self::Cosine(
                    e.row(0).ok_or_else(|| anyhow::anyhow!("the backend returned no goal embedding"))?.to_vec(),
                )
            }
        })
    }

    /// The score with CLG's window starting at contrast `offset` ([`ClgScore::with_offset`]).
    /// An offset of 0 leaves every score as it is; another errors unless the score is CLG.
    pub fn with_offset(self, offset: f32) -> Result<Self> {
        match self {
            Self::Clg(s) => Ok(Self::Clg(s.with_offset(offset)?)),
            other if offset == 0.0 => Ok(other),
            other => bail!("a window offset applies to the CLG score (a --negative goal), not to {}", other.name()),
        }
    }

    /// The score's short name: `clg`, `vlmrm` or `cosine`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Clg(_) => "clg",
            Self::VlmRm(_) => "vlmrm",
            Self::Cosine(_) => "cosine",
        }
    }

    /// CLG's contrast `z` of every row (None for the other scores).
    pub fn contrast_batch(&self, embeddings: &Embeddings) -> Result<Option<Vec<f32>>> {
        match self {
            Self::Clg(s) => Ok(Some(embeddings.iter().map(|x| s.contrast(x)).collect::<Result<_>>()?)),
            _ => Ok(None),
        }
    }

    /// Validates `spec`, embeds its prompts through `cache` with `backend`, and builds the
    /// score it names.
    pub fn from_spec(spec: &GoalSpec, backend: &dyn Backend, cache: &mut TextEmbeddingCache) -> Result<Self> {
        spec.validate()?;
        Ok(match spec {
            GoalSpec::Clg(s) => Self::Clg(
                ClgScore::new(&cache.embed(backend, &s.positive)?, &cache.embed(backend, &s.negative)?, s.window)?
                    .with_offset(s.offset)?,
            ),
            GoalSpec::Vlmrm(s) => Self::VlmRm(VlmRmScore::new(
                &cache.embed(backend, &s.goal)?,
                &cache.embed(backend, &s.baseline)?,
                s.alpha,
            )?),
        })
    }

    /// Rewards for every row of `embeddings`, in order.
    pub fn score_batch(&self, embeddings: &Embeddings) -> Result<Vec<f32>> {
        match self {
            Self::Clg(s) => s.score_batch(embeddings),
            Self::VlmRm(s) => s.score_batch(embeddings),
            Self::Cosine(g) => {
                ensure!(
                    embeddings.dim() == g.len(),
                    "cosine score: frame dimension {} does not match the goal's {}",
                    embeddings.dim(),
                    g.len()
                );
                Ok(embeddings.iter().map(|x| dot(x, g)).collect())
            }
        }
    }

    /// Embeds `frames` with `backend` and scores them, in order.
    pub fn score_frames(&self, backend: &dyn Backend, frames: &Frames) -> Result<Vec<f32>> {
        let emb = backend.embed_images(frames)?;
        if emb.len() != frames.len() {
            bail!("backend returned {} image embeddings for {} frames", emb.len(), frames.len());
        }
        self.score_batch(&emb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emb(v: &[&[f32]]) -> Embeddings {
        Embeddings::from_vecs(&v.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
    }

    fn close(a: f32, b: f32) {
        assert!((a - b).abs() < 1e-5, "{a} != {b}");
    }

    #[test]
    fn clg_hand_computed() {
        // pos = e1, neg = e2, w = 0.5.
        let s = ClgScore::new(&emb(&[&[1.0, 0.0]]), &emb(&[&[0.0, 1.0]]), 0.5).unwrap();
        // x = e1: z = 0 - 1 = -1 -> clipped to 0 -> r = 1.
        close(s.score(&[1.0, 0.0]).unwrap(), 1.0);
        // x = e2: z = 1 -> clipped to w -> r = 0.
        close(s.score(&[0.0, 1.0]).unwrap(), 0.0);
        // x = (cos a, sin a) with sin a - cos a = 0.25 -> r = 1 - 0.25/0.5 = 0.5.
        // Take x = (0.6, 0.8) (unit): z = 0.8 - 0.6 = 0.2 -> r = 1 - 0.4 = 0.6.
        close(s.score(&[0.6, 0.8]).unwrap(), 0.6);
        // Not normalised on input: (3, 4) is the same direction.
        close(s.score(&[3.0, 4.0]).unwrap(), 0.6);
        // Exactly at the window boundary: z = w -> 0; z = 0 -> 1.
        let s2 = ClgScore::new(&emb(&[&[1.0, 0.0]]), &emb(&[&[0.0, 1.0]]), 0.2).unwrap();
        close(s2.score(&[0.6, 0.8]).unwrap(), 0.0);
        let d = std::f32::consts::FRAC_1_SQRT_2;
        close(s2.score(&[d, d]).unwrap(), 1.0);
        let batch = s.score_batch(&emb(&[&[1.0, 0.0], &[0.6, 0.8], &[0.0, 1.0]])).unwrap();
        assert_eq!(batch.len(), 3);
        close(batch[1], 0.6);
    }

    #[test]
    fn clg_default_window_small_contrast() {
        let s = ClgScore::new(&emb(&[&[1.0, 0.0]]), &emb(&[&[0.0, 1.0]]), DEFAULT_CLG_WINDOW).unwrap();
        // z = 0.015 = w/2 -> r = 0.5: sin a - cos a = 0.015.
        let a = std::f32::consts::FRAC_PI_4 + (0.015f32 / 2f32.sqrt()).asin();
        close(s.contrast(&[a.cos(), a.sin()]).unwrap(), 0.015);
        close(s.score(&[a.cos(), a.sin()]).unwrap(), 0.5);
    }

    #[test]
    fn clg_uses_renormalised_means() {
        // Positives e1, e2 -> mean (1,1)/sqrt2; negative e3.
        let s = ClgScore::new(&emb(&[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0]]), &emb(&[&[0.0, 0.0, 1.0]]), 1.0).unwrap();
        // x = e3: cos(neg) = 1, cos(pos) = 0 -> z = 1 -> r = 0.
        close(s.score(&[0.0, 0.0, 1.0]).unwrap(), 0.0);
        // x = (1,0,1)/sqrt2: cos(neg) = 0.7071, cos(pos) = 0.5 -> z = 0.2071 -> r = 0.7929.
        close(s.score(&[1.0, 0.0, 1.0]).unwrap(), 1.0 - (std::f32::consts::FRAC_1_SQRT_2 - 0.5));
    }

    #[test]
    fn clg_offset_moves_the_window() {
        // pos = e1, neg = e2: x = e1 has z = -1, x = (0.6, 0.8) has z = 0.2.
        let s = ClgScore::new(&emb(&[&[1.0, 0.0]]), &emb(&[&[0.0, 1.0]]), 0.5).unwrap();
        let shifted = s.clone().with_offset(-1.0).unwrap();
        close(shifted.offset(), -1.0);
        // Without the offset both frames are at or below the window's start: z = -1 scores 1.
        close(s.score(&[1.0, 0.0]).unwrap(), 1.0);
        // With the window on [-1, -0.5]: z = -1 still scores 1, z = -0.75 scores 0.5, and
        // z = 0.2 (past the window) scores 0, where it scored 0.6 before.
        close(shifted.score(&[1.0, 0.0]).unwrap(), 1.0);
        close(shifted.score(&[0.6, 0.8]).unwrap(), 0.0);
        let a = std::f32::consts::FRAC_PI_4 - (0.75f32 / 2f32.sqrt()).asin();
        close(shifted.contrast(&[a.cos(), a.sin()]).unwrap(), -0.75);
        close(shifted.score(&[a.cos(), a.sin()]).unwrap(), 0.5);
        // The contrast itself does not move.
        close(shifted.contrast(&[0.6, 0.8]).unwrap(), s.contrast(&[0.6, 0.8]).unwrap());
        assert!(s.clone().with_offset(f32::NAN).unwrap_err().to_string().contains("offset"));
        // Through GoalScore: CLG takes it, the other scores only take 0.
        let g = GoalScore::Clg(s).with_offset(-1.0).unwrap();
        close(g.score_batch(&emb(&[&[0.6, 0.8]])).unwrap()[0], 0.0);
        let cos = GoalScore::Cosine(vec![1.0, 0.0]);
        assert_eq!(cos.clone().with_offset(0.0).unwrap(), cos);
        let e = cos.with_offset(0.1).unwrap_err().to_string();
        assert!(e.contains("CLG") && e.contains("cosine"), "{e}");
    }

    #[test]
    fn clg_errors() {
        let p = emb(&[&[1.0, 0.0]]);
        let n = emb(&[&[0.0, 1.0]]);
        for w in [0.0, -0.1, f32::NAN, f32::INFINITY] {
            let err = ClgScore::new(&p, &n, w).unwrap_err();
            assert!(err.to_string().contains("window"), "{err}");
        }
        let err = ClgScore::new(&p, &p, 0.03).unwrap_err();
        assert!(err.to_string().contains("identically"), "{err}");
        let s = ClgScore::new(&p, &n, 0.03).unwrap();
        let err = s.score(&[f32::NAN, 1.0]).unwrap_err();
        assert!(err.to_string().contains("not finite"), "{err}");
        let err = s.score(&[1.0, 0.0, 0.0]).unwrap_err();
        assert!(err.to_string().contains("dimension"), "{err}");
        let err = s.score(&[0.0, 0.0]).unwrap_err();
        assert!(err.to_string().contains("zero"), "{err}");
        let three = emb(&[&[1.0, 0.0, 0.0]]);
        assert!(ClgScore::new(&p, &three, 0.03).is_err());
    }

    #[test]
    fn vlmrm_hand_computed() {
        // t = e1, b = e2, d = (1, -1), |d|^2 = 2.
        let g = emb(&[&[1.0, 0.0]]);
        let b = emb(&[&[0.0, 1.0]]);
        // x = e2: v = x - t = (-1, 1).
        // alpha 0: |v|^2 = 2 -> r = 0.
        close(VlmRmScore::new(&g, &b, 0.0).unwrap().score(&[0.0, 1.0]).unwrap(), 0.0);
        // alpha 1: v is parallel to d, so vP = v -> r = 0.
        close(VlmRmScore::new(&g, &b, 1.0).unwrap().score(&[0.0, 1.0]).unwrap(), 0.0);
        // x = t: r = 1 for any alpha.
        for a in [0.0, 0.3, 1.0] {
            close(VlmRmScore::new(&g, &b, a).unwrap().score(&[1.0, 0.0]).unwrap(), 1.0);
        }
        // x = (0.6, 0.8): v = (-0.4, 0.8); v.d = -1.2; proj = -0.6 (1,-1) = (-0.6, 0.6).
        // alpha 1: |proj|^2 = 0.72 -> r = 0.64.
        close(VlmRmScore::new(&g, &b, 1.0).unwrap().score(&[0.6, 0.8]).unwrap(), 0.64);
        // alpha 0: |v|^2 = 0.8 -> r = 0.6 (= cos(x, t) since |t| = 1).
        close(VlmRmScore::new(&g, &b, 0.0).unwrap().score(&[0.6, 0.8]).unwrap(), 0.6);
        // alpha 0.5: vP = 0.5 (-0.6, 0.6) + 0.5 (-0.4, 0.8) = (-0.5, 0.7); |.|^2 = 0.74.
        close(VlmRmScore::new(&g, &b, 0.5).unwrap().score(&[0.6, 0.8]).unwrap(), 0.63);
    }

    #[test]
    fn vlmrm_means_are_not_renormalised() {
        // Goals e1, e2 -> t = (0.5, 0.5, 0) (length 0.707, kept as is); baseline e3.
        let s = VlmRmScore::new(&emb(&[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0]]), &emb(&[&[0.0, 0.0, 1.0]]), 0.0).unwrap();
        assert_eq!(s.target(), &[0.5, 0.5, 0.0]);
        assert_eq!(s.direction(), &[0.5, 0.5, -1.0]);
        // x = e1: v = (0.5, -0.5, 0); |v|^2 = 0.5 -> r = 0.75.
        close(s.score(&[1.0, 0.0, 0.0]).unwrap(), 0.75);
        // alpha 1, x = e1: v.d = 0; projection 0 -> r = 1.
        let s1 = VlmRmScore::new(&emb(&[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0]]), &emb(&[&[0.0, 0.0, 1.0]]), 1.0).unwrap();
        close(s1.score(&[1.0, 0.0, 0.0]).unwrap(), 1.0);
        let batch = s1.score_batch(&emb(&[&[1.0, 0.0, 0.0], &[0.0, 0.0, 1.0]])).unwrap();
        // x = e3: v = (-0.5, -0.5, 1) = -d -> |vP|^2 = 1.5 -> r = 0.25.
        close(batch[0], 1.0);
        close(batch[1], 0.25);
    }

    #[test]
    fn vlmrm_errors() {
        let g = emb(&[&[1.0, 0.0]]);
        let b = emb(&[&[0.0, 1.0]]);
        for a in [-0.01, 1.01, f32::NAN] {
            let err = VlmRmScore::new(&g, &b, a).unwrap_err();
            assert!(err.to_string().contains("alpha"), "{err}");
        }
        let err = VlmRmScore::new(&g, &g, 0.5).unwrap_err();
        assert!(err.to_string().contains("identically"), "{err}");
        let s = VlmRmScore::new(&g, &b, 0.5).unwrap();
        assert!(s.score(&[f32::NAN, 0.0]).is_err());
        assert!(s.score(&[1.0]).is_err());
    }
}

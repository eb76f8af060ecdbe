//! Reward diagnostics: correlation, EPIC-style distance, ROC AUC, histograms, CLG window
//! calibration and caption/frame retrieval accuracy. Pure functions over numbers and
//! embeddings; bad input (length mismatch, too few values, NaN, constant vectors) is an
//! error naming the problem.

use anyhow::{bail, ensure, Result};
use serde::Serialize;

use crate::backend::Embeddings;
use crate::score::dot;

fn check_pair(what: &str, x: &[f64], y: &[f64], min_len: usize) -> Result<()> {
    ensure!(x.len() == y.len(), "{what}: the two vectors have lengths {} and {}", x.len(), y.len());
    ensure!(x.len() >= min_len, "{what}: needs at least {min_len} values, got {}", x.len());
    check_finite(what, x)?;
    check_finite(what, y)
}

fn check_finite(what: &str, x: &[f64]) -> Result<()> {
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        bail!("{what}: value {i} is not finite ({})", x[i]);
    }
    Ok(())
}

/// Pearson correlation of `x` and `y` (same length, at least 2, finite, neither constant).
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pair("pearson", x, y, 2)?;
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    ensure!(sxx > 0.0 && syy > 0.0, "pearson: a vector is constant (correlation undefined)");
    Ok((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Ranks starting at 1, ties given their average rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation (Pearson of the tie-averaged ranks).
pub fn spearman(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pair("spearman", x, y, 2)?;
    pearson(&ranks(x), &ranks(y)).map_err(|e| anyhow::anyhow!("spearman: {e}"))
}

/// EPIC-style distance between two reward functions evaluated on the same sampled states:
/// `sqrt((1 - rho) / 2)` with `rho` the Pearson correlation of the canonicalised rewards, in
/// `[0, 1]` (0: equivalent up to positive scale and shift, 1: opposite).
///
/// Approximation: EPIC (Gleave et al., 2021) canonicalises `R(s, a, s')` by subtracting
/// expectations over a coverage distribution, which removes potential shaping. Our rewards
/// are functions of the state (frame) alone and we only have samples, so canonicalisation
/// reduces to subtracting the sample mean — a constant shift that Pearson ignores anyway. The
/// result is therefore the Pearson distance of the two vectors; shaping terms that depend on
/// the transition are not removed, and the value is a sample estimate.
pub fn epic_distance(a: &[f64], b: &[f64]) -> Result<f64> {
    check_pair("EPIC distance", a, b, 2)?;
    let canon = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| x - m).collect::<Vec<_>>()
    };
    let rho = pearson(&canon(a), &canon(b)).map_err(|e| anyhow::anyhow!("EPIC distance: {e}"))?;
    Ok(((1.0 - rho) / 2.0).max(0.0).sqrt())
}

/// ROC AUC of `scores` against boolean `labels` (true = positive): the probability that a
/// random positive scores above a random negative, ties counting half. Needs both classes.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    ensure!(scores.len() == labels.len(), "ROC AUC: {} scores but {} labels", scores.len(), labels.len());
    check_finite("ROC AUC", scores)?;
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    ensure!(pos > 0 && neg > 0, "ROC AUC: needs positive and negative labels, got {pos} positive and {neg} negative");
    // Mann-Whitney U from tie-averaged ranks.
    let r = ranks(scores);
    let rank_sum: f64 = r.iter().zip(labels).filter(|(_, &l)| l).map(|(r, _)| r).sum();
    let u = rank_sum - (pos * (pos + 1)) as f64 / 2.0;
    Ok(u / (pos * neg) as f64)
}

/// Counts of two groups on shared, equally wide bins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// `bins + 1` bin edges, ascending; the last bin includes its right edge.
    pub edges: Vec<f64>,
    /// Counts of the first group per bin.
    pub counts_a: Vec<usize>,
    /// Counts of the second group per bin.
    pub counts_b: Vec<usize>,
}

/// Histograms of `a` and `b` on `bins` shared bins spanning the min and max of both (a
/// single value gets a bin of width 1 around it). Errors when both are empty, `bins` is 0
/// or a value is not finite.
pub fn histogram(a: &[f64], b: &[f64], bins: usize) -> Result<Histogram> {
    ensure!(bins > 0, "histogram: needs at least one bin");
    ensure!(!(a.is_empty() && b.is_empty()), "histogram: no values");
    check_finite("histogram", a)?;
    check_finite("histogram", b)?;
    let all = a.iter().chain(b);
    let lo = all.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = all.copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
    let width = (hi - lo) / bins as f64;
    let edges = (0..=bins).map(|i| if i == bins { hi } else { lo + width * i as f64 }).collect();
    let count = |v: &[f64]| {
        let mut c = vec![0usize; bins];
        for x in v {
            let i = (((x - lo) / width).floor() as usize).min(bins - 1);
            c[i] += 1;
        }
        c
    };
    Ok(Histogram { edges, counts_a: count(a), counts_b: count(b) })
}

/// Quantile `q` in `[0, 1]` of `x` (linear interpolation between order statistics, as
/// NumPy's default). Errors on an empty slice, NaN or `q` outside `[0, 1]`.
pub fn quantile(x: &[f64], q: f64) -> Result<f64> {
    ensure!(!x.is_empty(), "quantile: no values");
    ensure!((0.0..=1.0).contains(&q), "quantile: q = {q} is outside [0, 1]");
    check_finite("quantile", x)?;
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos - pos.floor());
    Ok(if i + 1 < v.len() { v[i] + f * (v[i + 1] - v[i]) } else { v[i] })
}

/// A recommended CLG window and how the two groups of frames fare under it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClgCalibration {
    /// Recommended `w`, or `None` when failure frames' contrasts are not mostly positive
    /// (no window makes the reward separate them; see `note`).
    pub window: Option<f64>,
    /// The quantile of failure contrasts used (`w` = this quantile).
    pub failure_quantile: f64,
    /// Fraction of success frames with `z <= 0` (they get the full reward 1).
    pub success_at_full_reward: f64,
    /// Fraction of failure frames with `z >= w` (they get reward 0); 0 without a window.
    pub failure_at_zero_reward: f64,
    /// Mean CLG reward of success frames under `w` (NaN without a window).
    pub mean_reward_success: f64,
    /// Mean CLG reward of failure frames under `w` (NaN without a window).
    pub mean_reward_failure: f64,
    /// ROC AUC of `-z` for success vs failure (how well the contrast alone separates them).
    pub auc: f64,
    /// A sentence on what the numbers mean.
    pub note: String,
}

/// Recommends the CLG window `w` from contrasts `z = cos(neg) - cos(pos)` of success and
/// failure frames. The CLG reward is `1 - clip(z, 0, w) / w`: frames with `z <= 0` get 1,
/// frames with `z >= w` get 0.
///
/// Rule: `w` = the `q`-quantile of the failure contrasts (we suggest `q = 0.25`), so that
/// a fraction `1 - q` of failure frames reach `w` and get reward 0, while every frame below
/// `w` keeps a graded reward. Success frames' `z` is not used to pick `w` (it cannot move
/// them below 0, which depends only on the prompts), but the report says how many are at or
/// below 0 and both groups' mean rewards. When that quantile is `<= 0` there is no useful
/// window (most failure frames already score as successes) and `window` is `None`.
pub fn calibrate_clg_window(z_success: &[f64], z_failure: &[f64], q: f64) -> Result<ClgCalibration> {
    ensure!(!z_success.is_empty() && !z_failure.is_empty(), "CLG calibration: needs success and failure frames");
    ensure!((0.0..1.0).contains(&q), "CLG calibration: quantile q = {q} must be in [0, 1)");
    check_finite("CLG calibration (success z)", z_success)?;
    check_finite("CLG calibration (failure z)", z_failure)?;
    let wq = quantile(z_failure, q)?;
    let frac = |v: &[f64], f: &dyn Fn(f64) -> bool| v.iter().filter(|&&x| f(x)).count() as f64 / v.len() as f64;
    let scores: Vec<f64> = z_success.iter().chain(z_failure).map(|z| -z).collect();
    let labels: Vec<bool> = z_success.iter().map(|_| true).chain(z_failure.iter().map(|_| false)).collect();
    let auc = roc_auc(&scores, &labels)?;
    let success_at_full_reward = frac(z_success, &|z| z <= 0.0);
    if wq <= 0.0 {
        return Ok(ClgCalibration {
            window: None,
            failure_quantile: q,
            success_at_full_reward,
            failure_at_zero_reward: 0.0,
            mean_reward_success: f64::NAN,
            mean_reward_failure: f64::NAN,
            auc,
            note: format!(
                "the {q}-quantile of failure contrasts is {wq:.4} <= 0: most failure frames are closer to the \
                 positive prompt than to the negative one, so no window separates them; change the prompts"
            ),
        });
    }
    let reward = |z: f64| 1.0 - z.clamp(0.0, wq) / wq;
    let mean = |v: &[f64]| v.iter().map(|&z| reward(z)).sum::<f64>() / v.len() as f64;
    let (ms, mf) = (mean(z_success), mean(z_failure));
    Ok(ClgCalibration {
        window: Some(wq),
        failure_quantile: q,
        success_at_full_reward,
        failure_at_zero_reward: frac(z_failure, &|z| z >= wq),
        mean_reward_success: ms,
        mean_reward_failure: mf,
        auc,
        note: format!("w = {wq:.4}: mean reward {ms:.3} on success frames, {mf:.3} on failure frames"),
    })
}

/// A CLG window placed where an env's frames are, from the spread of their contrasts alone
/// (no labels): the reward `1 - clip(z - offset, 0, w) / w` then falls from 1 to 0 across the
/// middle of the sampled states' contrasts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContrastRange {
    /// Offset `z0`: the `tail`-quantile of the contrasts (frames below it score 1).
    pub offset: f64,
    /// Window `w`: the `(1 - tail)`-quantile minus the offset (frames above score 0).
    pub window: f64,
    /// The share of frames left at each end.
    pub tail: f64,
}

/// The [`ContrastRange`] of contrasts `z` (every sampled state, labelled or not), leaving a
/// share `tail` of them at each end. Errors on no values, NaN, `tail` outside `[0, 0.5)` or
/// contrasts that do not spread (the window would be empty).
pub fn contrast_range(z: &[f64], tail: f64) -> Result<ContrastRange> {
    ensure!((0.0..0.5).contains(&tail), "contrast range: tail = {tail} must be in [0, 0.5)");
    let offset = quantile(z, tail)?;
    let window = quantile(z, 1.0 - tail)? - offset;
    ensure!(
        window > 0.0,
        "contrast range: the contrasts do not spread ({} values between the {tail} and {} quantiles); \
         the goal and negative do not tell these states apart",
        z.len(),
        1.0 - tail
    );
    Ok(ContrastRange { offset, window, tail })
}

/// Top-1 retrieval accuracies within one env.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retrieval {
    /// Fraction of caption queries whose best-scoring frame has the caption's fact.
    pub caption_to_frame: f64,
    /// Fraction of frames (with at least one fact) whose best-scoring fact is true of them.
    pub frame_to_caption: f64,
    /// Number of caption queries.
    pub queries: usize,
    /// Number of frames scored for frame-to-caption.
    pub frames: usize,
}

/// Top-1 retrieval within one env.
///
/// - `frames`: image embeddings (one row per frame);
/// - `frame_facts[i]`: indices (into `facts`) of the facts true of frame `i`;
/// - `facts`: one embedding per fact (e.g. the normalised mean of its phrasings);
/// - `queries` with `query_facts[j]` the fact index of query `j` (e.g. every phrasing).
///
/// Caption to frame: a query hits when the frame with the highest cosine has the query's
/// fact. Frame to caption: a frame hits when the fact with the highest cosine is true of it
/// (frames with no facts are skipped). Ties go to the lowest index.
pub fn retrieval_accuracy(
    frames: &Embeddings,
    frame_facts: &[Vec<usize>],
    facts: &Embeddings,
    queries: &Embeddings,
    query_facts: &[usize],
) -> Result<Retrieval> {
    ensure!(
        frames.len() == frame_facts.len(),
        "retrieval: {} frames but {} fact lists",
        frames.len(),
        frame_facts.len()
    );
    ensure!(
        queries.len() == query_facts.len(),
        "retrieval: {} queries but {} query facts",
        queries.len(),
        query_facts.len()
    );
    ensure!(frames.dim() == facts.dim() && facts.dim() == queries.dim(), "retrieval: embedding dimensions differ");
    ensure!(!frames.is_empty() && !facts.is_empty() && !queries.is_empty(), "retrieval: no frames, facts or queries");
    let nf = facts.len();
    if let Some(bad) = frame_facts.iter().flatten().chain(query_facts).find(|&&f| f >= nf) {
        bail!("retrieval: fact index {bad} out of range ({nf} facts)");
    }
    let argmax = |it: &mut dyn Iterator<Item = f32>| {
        let mut best = (0usize, f32::NEG_INFINITY);
        for (i, s) in it.enumerate() {
            if s > best.1 {
                best = (i, s);
            }
        }
        best.0
    };
    let mut hits = 0usize;
    for (q, &f) in queries.iter().zip(query_facts) {
        let best = argmax(&mut frames.iter().map(|x| dot(x, q)));
        hits += frame_facts[best].contains(&f) as usize;
    }
    let caption_to_frame = hits as f64 / queries.len() as f64;
    let (mut fhits, mut scored) = (0usize, 0usize);
    for (x, ff) in frames.iter().zip(frame_facts) {
        if ff.is_empty() {
            continue;
        }
        scored += 1;
        let best = argmax(&mut facts.iter().map(|t| dot(x, t)));
        fhits += ff.contains(&best) as usize;
    }
    let frame_to_caption = if scored == 0 { f64::NAN } else { fhits as f64 / scored as f64 };
    Ok(Retrieval { caption_to_frame, frame_to_caption, queries: queries.len(), frames: scored })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn correlations_by_hand() {
        // x = 1,2,3; y = 1,3,2: means 2, 2; sxy = (-1)(-1) + 0 + (1)(0) = 1; sxx = syy = 2.
        assert!(close(pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap(), 0.5));
        assert!(close(pearson(&[1.0, 2.0, 3.0], &[-2.0, -4.0, -6.0]).unwrap(), -1.0));
        // Monotone but not linear: Spearman 1, Pearson < 1.
        let (x, y) = ([1.0, 2.0, 3.0, 4.0], [1.0, 4.0, 9.0, 100.0]);
        assert!(close(spearman(&x, &y).unwrap(), 1.0));
        assert!(pearson(&x, &y).unwrap() < 0.95);
        // Ties: ranks of [10, 20, 20, 30] are 1, 2.5, 2.5, 4.
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 30.0]), vec![1.0, 2.5, 2.5, 4.0]);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).unwrap_err().to_string().contains("constant"));
        assert!(pearson(&[1.0], &[1.0]).is_err());
        assert!(pearson(&[1.0, f64::NAN], &[1.0, 2.0]).unwrap_err().to_string().contains("not finite"));
        assert!(spearman(&[1.0, 2.0], &[1.0]).unwrap_err().to_string().contains("lengths"));
    }

    #[test]
    fn epic_by_hand() {
        // Positive affine transform: distance 0. Negation: distance 1. rho = 0.5: sqrt(0.25) = 0.5.
        assert!(close(epic_distance(&[1.0, 2.0, 3.0], &[12.0, 14.0, 16.0]).unwrap(), 0.0));
        assert!(close(epic_distance(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap(), 1.0));
        assert!(close(epic_distance(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap(), 0.5));
    }

    #[test]
    fn auc_by_hand() {
        assert!(close(roc_auc(&[0.9, 0.8, 0.1, 0.2], &[true, true, false, false]).unwrap(), 1.0));
        assert!(close(roc_auc(&[0.1, 0.2, 0.9, 0.8], &[true, true, false, false]).unwrap(), 0.0));
        // Pairs (pos, neg): (0.5, 0.5) tie = 0.5; (0.5, 0.1) = 1; (0.3, 0.5) = 0; (0.3, 0.1) = 1 -> 2.5 / 4.
        assert!(close(roc_auc(&[0.5, 0.3, 0.5, 0.1], &[true, true, false, false]).unwrap(), 0.625));
        assert!(roc_auc(&[0.1, 0.2], &[true, true]).unwrap_err().to_string().contains("0 negative"));
    }

    #[test]
    fn histogram_and_quantile() {
        let h = histogram(&[0.0, 0.1, 1.0], &[0.5, 0.6], 2).unwrap();
        assert_eq!(h.edges, vec![0.0, 0.5, 1.0]);
        assert_eq!(h.counts_a, vec![2, 1]);
        assert_eq!(h.counts_b, vec![0, 2]);
        let h = histogram(&[2.0], &[], 4).unwrap();
        assert_eq!(h.counts_a.iter().sum::<usize>(), 1);
        assert!(histogram(&[], &[], 3).is_err());
        assert!(close(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5).unwrap(), 2.5));
        assert!(close(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25).unwrap(), 2.0));
    }

    #[test]
    fn clg_calibration_rule() {
        let success = [-0.02, -0.01, 0.005, 0.0];
        let failure = [0.01, 0.02, 0.03, 0.04, 0.05];
        let c = calibrate_clg_window(&success, &failure, 0.25).unwrap();
        assert!(close(c.window.unwrap(), 0.02));
        assert!(close(c.success_at_full_reward, 0.75));
        assert!(close(c.failure_at_zero_reward, 0.8));
        // Failure rewards: 1 - z/0.02 clipped: 0.5, 0, 0, 0, 0 -> mean 0.1.
        assert!(close(c.mean_reward_failure, 0.1));
        // Success rewards: 1, 1, 0.75, 1 -> 0.9375.
        assert!(close(c.mean_reward_success, 0.9375));
        assert!(close(c.auc, 1.0));
        let bad = calibrate_clg_window(&success, &[-0.1, -0.05, 0.01], 0.25).unwrap();
        assert!(bad.window.is_none() && bad.note.contains("no window"));
    }

    #[test]
    fn retrieval_by_hand() {
        let frames = Embeddings::from_vecs(&[vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.1]]).unwrap();
        let facts = Embeddings::from_vecs(&[vec![1.0, 0.0], vec![0.0, 1.0]]).unwrap();
        // Frame 2 is wrongly labelled with fact 1 only.
        let frame_facts = vec![vec![0], vec![1], vec![1]];
        let queries = Embeddings::from_vecs(&[vec![1.0, -0.1], vec![0.1, 1.0], vec![1.0, 0.2]]).unwrap();
        let r = retrieval_accuracy(&frames, &frame_facts, &facts, &queries, &[0, 1, 1]).unwrap();
        // Queries: 0 -> frame 0 (fact 0) hit; 1 -> frame 1 hit; 2 (fact 1) -> frame 2 (has 1) hit.
        assert!(close(r.caption_to_frame, 1.0));
        // Frames: 0 -> fact 0 hit; 1 -> fact 1 hit; 2 -> fact 0 miss.
        assert!(close(r.frame_to_caption, 2.0 / 3.0));
        assert!(retrieval_accuracy(&frames, &frame_facts, &facts, &queries, &[0, 1, 5]).is_err());
    }
    #[test]
    fn contrast_range_spans_the_middle_of_the_contrasts() {
        // 0.00, 0.01, ..., 1.00: the 0.1 and 0.9 quantiles are 0.1 and 0.9.
        let z: Vec<f64> = (0..=100).map(|i| f64::from(i) / 100.0 - 0.5).collect();
        let r = contrast_range(&z, 0.1).unwrap();
        assert!(close(r.offset, -0.4) && close(r.window, 0.8), "{r:?}");
        let all = contrast_range(&z, 0.0).unwrap();
        assert!(close(all.offset, -0.5) && close(all.window, 1.0), "{all:?}");
        let e = contrast_range(&[0.2; 10], 0.01).unwrap_err().to_string();
        assert!(e.contains("do not spread"), "{e}");
        assert!(contrast_range(&z, 0.5).unwrap_err().to_string().contains("tail"));
        assert!(contrast_range(&[0.1, f64::NAN], 0.1).is_err());
    }
}

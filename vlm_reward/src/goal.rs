//! Goal specs: which prompts and which score, as TOML data.
//!
//! ```toml
//! kind = "clg"                 # VLM-RL: r = 1 - clip(cos(x,neg) - cos(x,pos), 0, w)/w
//! positive = ["the car drives in the centre of its lane"]
//! negative = ["the car has crashed"]
//! window = 0.03                # optional, default 0.03
//! offset = 0.0                 # optional: the window is [offset, offset + w] of the contrast
//! ```
//!
//! ```toml
//! kind = "vlmrm"               # VLM-RMs: r = 1 - 0.5 |(x - t) P|^2
//! goal = ["pole vertically upright on top of the cart"]
//! baseline = ["pole and cart"]
//! alpha = 0.5                  # required, in [0, 1]
//! ```
//!
//! Unknown keys are errors, as are empty prompt lists, blank prompts, `alpha` outside
//! `[0, 1]` and `window <= 0`.

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::score::DEFAULT_CLG_WINDOW;

fn default_window() -> f32 {
    DEFAULT_CLG_WINDOW
}

/// A VLM-RL contrasting-language-goal spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClgSpec {
    /// Prompts describing the desired state (averaged, renormalised).
    pub positive: Vec<String>,
    /// Prompts describing the state to avoid (averaged, renormalised).
    pub negative: Vec<String>,
    /// Normalisation window `w` (> 0); default 0.03.
    #[serde(default = "default_window")]
    pub window: f32,
    /// Where the window starts on the contrast `z` (VLM-RL: 0); see [`crate::score`].
    #[serde(default)]
    pub offset: f32,
}

/// A VLM-RMs goal-baseline projection spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VlmRmSpec {
    /// Prompts describing the goal state; their mean embedding is `t`.
    pub goal: Vec<String>,
    /// Baseline prompts (the scene without the goal); their mean embedding is `b`.
    pub baseline: Vec<String>,
    /// Projection strength in `[0, 1]`: 0 is plain similarity to `t`, 1 keeps only `t - b`.
    pub alpha: f32,
}

/// A goal spec, tagged by `kind = "clg"` or `kind = "vlmrm"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum GoalSpec {
    /// VLM-RL's CLG reward.
    Clg(ClgSpec),
    /// VLM-RMs' projection reward.
    Vlmrm(VlmRmSpec),
}

fn check_prompts(field: &str, prompts: &[String]) -> Result<()> {
    ensure!(!prompts.is_empty(), "goal spec: `{field}` has no prompts");
    if let Some(i) = prompts.iter().position(|p| p.trim().is_empty()) {
        bail!("goal spec: `{field}` prompt {i} is empty");
    }
    Ok(())
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&str> = a.iter().map(|s| s.trim()).collect();
    let mut b: Vec<&str> = b.iter().map(|s| s.trim()).collect();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

impl GoalSpec {
    /// Parses and validates a TOML goal spec.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let spec: Self = toml::from_str(text).context("goal spec: invalid TOML")?;
        spec.validate()?;
        Ok(spec)
    }

    /// Reads, parses and validates the TOML goal spec at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).with_context(|| format!("goal spec: cannot read {}", path.display()))?;
        Self::from_toml_str(&text).with_context(|| format!("goal spec {}", path.display()))
    }

    /// Checks prompt lists, `alpha` and `window`; errors name the offending field.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Clg(s) => {
                check_prompts("positive", &s.positive)?;
                check_prompts("negative", &s.negative)?;
                ensure!(s.window.is_finite() && s.window > 0.0, "goal spec: `window` must be > 0, got {}", s.window);
                ensure!(s.offset.is_finite(), "goal spec: `offset` must be finite, got {}", s.offset);
                ensure!(
                    !same_set(&s.positive, &s.negative),
                    "goal spec: `positive` and `negative` are the same prompts"
                );
            }
            Self::Vlmrm(s) => {
                check_prompts("goal", &s.goal)?;
                check_prompts("baseline", &s.baseline)?;
                ensure!((0.0..=1.0).contains(&s.alpha), "goal spec: `alpha` must be in [0, 1], got {}", s.alpha);
                ensure!(!same_set(&s.goal, &s.baseline), "goal spec: `goal` and `baseline` are the same prompts");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        format!("{:#}", GoalSpec::from_toml_str(text).unwrap_err())
    }

    #[test]
    fn parses_both_kinds() {
        let clg = GoalSpec::from_toml_str("kind = \"clg\"\npositive = [\"a\"]\nnegative = [\"b\", \"c\"]\n").unwrap();
        assert_eq!(
            clg,
            GoalSpec::Clg(ClgSpec {
                positive: vec!["a".into()],
                negative: vec!["b".into(), "c".into()],
                window: 0.03,
                offset: 0.0
            })
        );
        let vlmrm =
            GoalSpec::from_toml_str("kind = \"vlmrm\"\ngoal = [\"g\"]\nbaseline = [\"b\"]\nalpha = 1.0\n").unwrap();
        let GoalSpec::Vlmrm(v) = vlmrm else { panic!("expected vlmrm") };
        assert_eq!(v.alpha, 1.0);
        let shifted =
            GoalSpec::from_toml_str("kind = \"clg\"\npositive = [\"a\"]\nnegative = [\"b\"]\noffset = -0.05\n")
                .unwrap();
        let GoalSpec::Clg(c) = shifted else { panic!("expected clg") };
        assert_eq!(c.offset, -0.05);
    }

    #[test]
    fn rejects_bad_specs() {
        let e = err("kind = \"clg\"\npositive = []\nnegative = [\"b\"]\n");
        assert!(e.contains("`positive` has no prompts"), "{e}");
        let e = err("kind = \"clg\"\npositive = [\"a\"]\nnegative = [\"  \"]\n");
        assert!(e.contains("`negative` prompt 0 is empty"), "{e}");
        let e = err("kind = \"clg\"\npositive = [\"a\"]\nnegative = [\"b\"]\nwindow = 0.0\n");
        assert!(e.contains("`window` must be > 0"), "{e}");
        let e = err("kind = \"clg\"\npositive = [\"a\"]\nnegative = [\"b\"]\nwindow = -1.0\n");
        assert!(e.contains("`window` must be > 0"), "{e}");
        let e = err("kind = \"clg\"\npositive = [\"a\"]\nnegative = [\"b\"]\noffset = nan\n");
        assert!(e.contains("`offset` must be finite"), "{e}");
        let e = err("kind = \"clg\"\npositive = [\"a\"]\nnegative = [\" a\"]\n");
        assert!(e.contains("same prompts"), "{e}");
        let e = err("kind = \"vlmrm\"\ngoal = [\"g\"]\nbaseline = [\"b\"]\nalpha = 1.5\n");
        assert!(e.contains("`alpha` must be in [0, 1]"), "{e}");
        let e = err("kind = \"vlmrm\"\ngoal = [\"g\"]\nbaseline = [\"b\"]\n");
        assert!(e.contains("alpha"), "{e}");
        let e = err("kind = \"vlmrm\"\ngoal = [\"g\"]\nbaseline = [\"b\"]\nalpha = 0.5\nwindow = 1.0\n");
        assert!(e.contains("unknown field `window`"), "{e}");
        let e = err("kind = \"clip\"\n");
        assert!(e.contains("clip"), "{e}");
        let e = err("positive = [\"a\"]\nnegative = [\"b\"]\n");
        assert!(e.contains("kind"), "{e}");
    }

    #[test]
    fn shipped_examples_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/goals");
        let cart = GoalSpec::load(dir.join("cartpole_upright.toml")).unwrap();
        let GoalSpec::Vlmrm(c) = cart else { panic!("cartpole_upright.toml should be a vlmrm spec") };
        assert_eq!(c.goal, ["pole vertically upright on top of the cart"]);
        assert_eq!(c.baseline, ["pole and cart"]);
        let lane = GoalSpec::load(dir.join("driving_lane_centre.toml")).unwrap();
        let GoalSpec::Clg(l) = lane else { panic!("driving_lane_centre.toml should be a clg spec") };
        assert_eq!(l.positive, ["the car drives in the centre of its lane"]);
        assert_eq!(l.negative, ["the car has crashed"]);
        assert_eq!(l.window, 0.03);
        let e = format!("{:#}", GoalSpec::load(dir.join("missing.toml")).unwrap_err());
        assert!(e.contains("cannot read"), "{e}");
    }
}

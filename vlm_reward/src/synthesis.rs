//! Declarative reward synthesis: a reward written as named terms in TOML, evaluated per env
//! per step from the semantic score(s) of a vision-language model and the env's named state
//! quantities (`info["state"]`, see [`STATE_KEY`]).
//!
//! VLM-RL's hierarchical driving reward and VLM-RMs' CartPole reward are config files in
//! `assets/rewards/`, not code:
//!
//! ```toml
//! name = "driving_vlmrl"
//! output = "reward"                 # the term whose value is the reward
//!
//! [[term]]
//! name = "r_sem"                    # the VLM's score, in [0, 1]
//! op = "semantic"
//! score = "semantic"
//!
//! [[term]]
//! name = "speed"
//! op = "state"
//! quantity = "speed_kmh"
//!
//! [[term]]
//! name = "r_speed"                  # v_des = r_sem * 25, r_speed = 1 - |v - v_des| / 25
//! op = "modulation"
//! score = "r_sem"
//! quantity = "speed"
//! target = 25.0
//!
//! [[term]]
//! name = "offset"
//! op = "state"
//! quantity = "lateral_offset"
//!
//! [[term]]
//! name = "f_center"                 # max(1 - |d| / 3, 0)
//! op = "closeness"
//! value = "offset"
//! scale = 3.0
//! floor = 0.0
//!
//! [[term]]
//! name = "reward"
//! op = "product"
//! args = ["r_speed", "f_center"]
//!
//! [[terminal]]                      # on these termination reasons the reward is -10
//! when = ["collision", "off_route", "stuck"]
//! reward = -10.0
//! ```
//!
//! # Terms
//! Every `[[term]]` has a unique `name` (letters, digits, `_`) and an `op`. Operands are the
//! name of another term (in any order in the file; cycles are errors) or a number. Every
//! term is evaluated every step and reported, in file order, so each can be logged as its
//! own column. Operators:
//!
//! - `constant` (`value`): `value`.
//! - `semantic` (`score`): the semantic score named `score` (e.g. `"semantic"`).
//! - `state` (`quantity`): `info["state"][quantity]`.
//! - `abs` (`of`): `abs(of)`.
//! - `clip` (`of`, optional `min`, `max`): `of` clamped to `[min, max]`.
//! - `min`, `max` (`args`): the smallest / largest of `args`.
//! - `product` (`args`): `args[0] * args[1] * ...`.
//! - `weighted_sum` (`args`, optional `weights` (all 1), `bias` (0)):
//!   `bias + sum_i weights[i] * args[i]`.
//! - `closeness` (`value`, `scale`, optional `target` (0), `floor`):
//!   `1 - abs(value - target) / scale`, then `max(_, floor)` when `floor` is given.
//! - `modulation` (`score`, `quantity`, `target`, optional `target_at_zero` (0), `scale`
//!   (`abs(target - target_at_zero)`), `floor`): the semantic score sets a target for a
//!   state quantity, `t = target_at_zero + score * (target - target_at_zero)`, value
//!   `1 - abs(quantity - t) / scale`, then `max(_, floor)` (VLM-RL's `v_des`, `r_speed`).
//! - `gate` (`value`, `test`, at least one of `above`, `below`, `at_least`, `at_most`,
//!   optional `otherwise` (0)): `value` when `test` is `>`, `<`, `>=`, `<=` every given
//!   bound, else `otherwise`.
//! - `potential` (`phi`, a term name; `gamma`): potential-based shaping
//!   `gamma * Phi(s') - Phi(s)` (Ng, Harada & Russell 1999).
//!
//! `potential` keeps `Phi(s)` of the previous step per env. `Phi(s)` of an episode's first
//! state is the value given to [`Synthesizer::reset`] with that state's inputs, or 0 when
//! reset gets none (or is not called: a step after an episode's last step starts a new
//! episode by itself). On a *terminated* step `Phi(s') = 0` (the terminal state's potential,
//! which keeps the optimal policy unchanged); on a *truncated* step `Phi(s')` is the phi
//! term's value, since the state is not terminal. So over an episode that terminates at step
//! `T`, `sum_t gamma^t F_t = -Phi(s_0)`. The phi term's own column always shows `Phi(s')`.
//! `phi` may not depend on a `potential` term. Set `gamma` to the agent's discount.
//!
//! # Terminal overrides
//! `[[terminal]]` rules, tried in file order, with `when` (a reason or a list of them) and
//! either `reward` (the step's reward becomes this value) or `bonus` (added to it). A step's
//! reason is `info["termination"]` when it is a string (Driving: `collision`, `off_route`,
//! `stuck`, `success`, `physics_error`); otherwise `success` for a terminated step whose
//! `info["success"]` is true, `terminated` for other terminated steps and `truncated` for
//! truncated ones. `when = "terminated"` matches every terminated step, `"truncated"` every
//! truncated one. A step that matches no rule keeps the output term's value (success is
//! not penalised unless a rule says so). When a rule applies, a term that cannot be
//! evaluated (a physics blow-up's NaN state) is reported as NaN instead of failing.
//!
//! # Errors
//! Bad configs fail at load time, naming the problem: TOML syntax, an unknown operator or
//! field, a duplicate name, a reference to an unknown term, a cycle, a non-positive constant
//! scale, `gamma` outside `[0, 1]`. At evaluation time: a missing state quantity (naming the
//! ones the env has), a missing semantic score (naming those given), a NaN or infinite input,
//! a term that evaluates to NaN or infinity, an env index out of range.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

/// The key of `info` that holds the env's named state quantities (the envs' own constant).
pub use vlmgym_envs::env::STATE_KEY;

/// The reward configs shipped in `assets/rewards/`, by name, for [`RewardSpec::builtin`].
pub const BUILTINS: [(&str, &str); 13] = [
    ("driving_vlmrl", include_str!("../../assets/rewards/driving_vlmrl.toml")),
    ("cartpole_vlmrm", include_str!("../../assets/rewards/cartpole_vlmrm.toml")),
    ("cartpole_ground_truth", include_str!("../../assets/rewards/cartpole_ground_truth.toml")),
    ("cartpole_shaped", include_str!("../../assets/rewards/cartpole_shaped.toml")),
    ("mountaincar_continuous_vlmrm", include_str!("../../assets/rewards/mountaincar_continuous_vlmrm.toml")),
    ("mountaincar_continuous_shaped", include_str!("../../assets/rewards/mountaincar_continuous_shaped.toml")),
    ("manipulation_vlmrl", include_str!("../../assets/rewards/manipulation_vlmrl.toml")),
    ("manipulation_reach", include_str!("../../assets/rewards/manipulation_reach.toml")),
    ("manipulation_progress", include_str!("../../assets/rewards/manipulation_progress.toml")),
    ("manipulation_push", include_str!("../../assets/rewards/manipulation_push.toml")),
    ("humanoid_vlmrm", include_str!("../../assets/rewards/humanoid_vlmrm.toml")),
    ("navigation_vlmrl", include_str!("../../assets/rewards/navigation_vlmrl.toml")),
    ("navigation_semantic", include_str!("../../assets/rewards/navigation_semantic.toml")),
];

/// An operand: another term's value (by name) or a number.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Operand {
    /// A constant.
    Number(f64),
    /// The value of the term with this name.
    Term(String),
}

/// A term's operator and its fields (see the module doc's table).
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A constant.
    Constant {
        /// The value.
        value: f64,
    },
    /// A named semantic score.
    Semantic {
        /// The score's name in [`StepInput::semantic`].
        score: String,
    },
    /// A named state quantity from `info["state"]`.
    State {
        /// The quantity's name.
        quantity: String,
    },
    /// `|of|`.
    Abs {
        /// The operand.
        of: Operand,
    },
    /// `of` clamped to `[min, max]` (either bound optional).
    Clip {
        /// The operand.
        of: Operand,
        /// Lower bound.
        min: Option<Operand>,
        /// Upper bound.
        max: Option<Operand>,
    },
    /// The smallest operand.
    Min {
        /// The operands (at least one).
        args: Vec<Operand>,
    },
    /// The largest operand.
    Max {
        /// The operands (at least one).
        args: Vec<Operand>,
    },
    /// The product of the operands, left to right.
    Product {
        /// The operands (at least one).
        args: Vec<Operand>,
    },
    /// `bias + sum weights[i] * args[i]`.
    WeightedSum {
        /// The operands (at least one).
        args: Vec<Operand>,
        /// One weight per operand.
        weights: Vec<f64>,
        /// Added to the sum.
        bias: f64,
    },
    /// `max(1 - |value - target| / scale, floor)`.
    Closeness {
        /// The quantity.
        value: Operand,
        /// Where the closeness is 1.
        target: Operand,
        /// The distance at which it reaches 0 (> 0).
        scale: Operand,
        /// Optional lower bound of the result.
        floor: Option<f64>,
    },
    /// The semantic score sets a target for a quantity: `t = target_at_zero + score *
    /// (target - target_at_zero)`, value `max(1 - |quantity - t| / scale, floor)`.
    Modulation {
        /// The semantic score (usually a `semantic` term).
        score: Operand,
        /// The state quantity being steered.
        quantity: Operand,
        /// The target when the score is 1.
        target: f64,
        /// The target when the score is 0.
        target_at_zero: f64,
        /// The distance at which the value reaches 0 (> 0).
        scale: f64,
        /// Optional lower bound of the result.
        floor: Option<f64>,
    },
    /// `value` when `test` satisfies every given bound, else `otherwise`.
    Gate {
        /// The gated value.
        value: Operand,
        /// The value tested against the bounds.
        test: Operand,
        /// `test > above`.
        above: Option<f64>,
        /// `test < below`.
        below: Option<f64>,
        /// `test >= at_least`.
        at_least: Option<f64>,
        /// `test <= at_most`.
        at_most: Option<f64>,
        /// The value when a bound fails.
        otherwise: Operand,
    },
    /// Potential-based shaping `gamma * Phi(s') - Phi(s)`.
    Potential {
        /// The term that is the potential `Phi`.
        phi: String,
        /// The discount in `[0, 1]`.
        gamma: f64,
    },
}

/// The operator names accepted in `op`.
pub const OPERATORS: [&str; 13] = [
    "constant",
    "semantic",
    "state",
    "abs",
    "clip",
    "min",
    "max",
    "product",
    "weighted_sum",
    "closeness",
    "modulation",
    "gate",
    "potential",
];

/// One named term.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// Its name (a column of the trainer's metrics).
    pub name: String,
    /// How it is computed.
    pub op: Op,
}

/// What a terminal rule does to the reward.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TerminalAction {
    /// The reward becomes this value.
    Replace(f64),
    /// This value is added to the reward.
    Add(f64),
}

/// A terminal override: on these termination reasons, change the reward.
#[derive(Clone, Debug, PartialEq)]
pub struct TerminalRule {
    /// The reasons it applies to (see the module doc).
    pub when: Vec<String>,
    /// What it does.
    pub action: TerminalAction,
}

/// An operand resolved to a term index.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Arg {
    Const(f64),
    Term(usize),
}

/// A parsed, validated reward config.
#[derive(Clone, Debug, PartialEq)]
pub struct RewardSpec {
    /// Its name (default: empty).
    pub name: String,
    /// What it is, for people.
    pub description: String,
    /// The name of the term whose value is the reward.
    pub output: String,
    /// The terms, in file order.
    pub terms: Vec<Term>,
    /// The terminal overrides, in file order.
    pub terminal: Vec<TerminalRule>,
    /// Term indices in evaluation order (dependencies first).
    order: Vec<usize>,
    /// Each term's operands, resolved.
    args: Vec<Vec<Arg>>,
    /// The output term's index.
    output_index: usize,
    /// Terms needed to evaluate every potential's phi (evaluated on reset).
    phi_closure: Vec<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    output: String,
    #[serde(default)]
    term: Vec<toml::Table>,
    #[serde(default)]
    terminal: Vec<RawTerminal>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerminal {
    when: OneOrMany,
    reward: Option<f64>,
    bonus: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConstant {
    value: f64,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSemantic {
    score: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    quantity: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAbs {
    of: Operand,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClip {
    of: Operand,
    min: Option<Operand>,
    max: Option<Operand>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArgs {
    args: Vec<Operand>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeightedSum {
    args: Vec<Operand>,
    weights: Option<Vec<f64>>,
    #[serde(default)]
    bias: f64,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCloseness {
    value: Operand,
    target: Option<Operand>,
    scale: Operand,
    floor: Option<f64>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModulation {
    score: Operand,
    quantity: Operand,
    target: f64,
    #[serde(default)]
    target_at_zero: f64,
    scale: Option<f64>,
    floor: Option<f64>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    value: Operand,
    test: Operand,
    above: Option<f64>,
    below: Option<f64>,
    at_least: Option<f64>,
    at_most: Option<f64>,
    otherwise: Option<Operand>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPotential {
    phi: String,
    gamma: f64,
}

/// Deserialises an op's fields, naming the term and op in the error.
fn fields<T: DeserializeOwned>(table: toml::Table, term: &str, op: &str) -> Result<T> {
    toml::Value::Table(table).try_into().map_err(|e| anyhow!("term `{term}` (op `{op}`): {}", e.to_string().trim()))
}

fn parse_op(term: &str, op: &str, table: toml::Table) -> Result<Op> {
    Ok(match op {
        "constant" => Op::Constant { value: fields::<RawConstant>(table, term, op)?.value },
        "semantic" => Op::Semantic { score: fields::<RawSemantic>(table, term, op)?.score },
        "state" => Op::State { quantity: fields::<RawState>(table, term, op)?.quantity },
        "abs" => Op::Abs { of: fields::<RawAbs>(table, term, op)?.of },
        "clip" => {
            let r: RawClip = fields(table, term, op)?;
            Op::Clip { of: r.of, min: r.min, max: r.max }
        }
        "min" => Op::Min { args: fields::<RawArgs>(table, term, op)?.args },
        "max" => Op::Max { args: fields::<RawArgs>(table, term, op)?.args },
        "product" => Op::Product { args: fields::<RawArgs>(table, term, op)?.args },
        "weighted_sum" => {
            let r: RawWeightedSum = fields(table, term, op)?;
            let weights = r.weights.unwrap_or_else(|| vec![1.0; r.args.len()]);
            Op::WeightedSum { args: r.args, weights, bias: r.bias }
        }
        "closeness" => {
            let r: RawCloseness = fields(table, term, op)?;
            Op::Closeness {
                value: r.value,
                target: r.target.unwrap_or(Operand::Number(0.0)),
                scale: r.scale,
                floor: r.floor,
            }
        }
        "modulation" => {
            let r: RawModulation = fields(table, term, op)?;
            let scale = r.scale.unwrap_or((r.target - r.target_at_zero).abs());
            Op::Modulation {
                score: r.score,
                quantity: r.quantity,
                target: r.target,
                target_at_zero: r.target_at_zero,
                scale,
                floor: r.floor,
            }
        }
        "gate" => {
            let r: RawGate = fields(table, term, op)?;
            Op::Gate {
                value: r.value,
                test: r.test,
                above: r.above,
                below: r.below,
                at_least: r.at_least,
                at_most: r.at_most,
                otherwise: r.otherwise.unwrap_or(Operand::Number(0.0)),
            }
        }
        "potential" => {
            let r: RawPotential = fields(table, term, op)?;
            Op::Potential { phi: r.phi, gamma: r.gamma }
        }
        other => bail!("term `{term}`: unknown operator `{other}` (known: {})", OPERATORS.join(", ")),
    })
}

impl Op {
    /// The operator's name, as written in `op`.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Constant { .. } => "constant",
            Op::Semantic { .. } => "semantic",
            Op::State { .. } => "state",
            Op::Abs { .. } => "abs",
            Op::Clip { .. } => "clip",
            Op::Min { .. } => "min",
            Op::Max { .. } => "max",
            Op::Product { .. } => "product",
            Op::WeightedSum { .. } => "weighted_sum",
            Op::Closeness { .. } => "closeness",
            Op::Modulation { .. } => "modulation",
            Op::Gate { .. } => "gate",
            Op::Potential { .. } => "potential",
        }
    }

    /// The operands, in a fixed order (a potential's `phi` counts as one).
    fn operands(&self) -> Vec<Operand> {
        match self {
            Op::Constant { .. } | Op::Semantic { .. } | Op::State { .. } => vec![],
            Op::Abs { of } => vec![of.clone()],
            Op::Clip { of, min, max } => {
                let mut v = vec![of.clone()];
                v.extend(min.iter().cloned());
                v.extend(max.iter().cloned());
                v
            }
            Op::Min { args } | Op::Max { args } | Op::Product { args } | Op::WeightedSum { args, .. } => args.clone(),
            Op::Closeness { value, target, scale, .. } => vec![value.clone(), target.clone(), scale.clone()],
            Op::Modulation { score, quantity, .. } => vec![score.clone(), quantity.clone()],
            Op::Gate { value, test, otherwise, .. } => vec![value.clone(), test.clone(), otherwise.clone()],
            Op::Potential { phi, .. } => vec![Operand::Term(phi.clone())],
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl RewardSpec {
    /// Parses and validates a TOML reward config.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let raw: RawSpec =
            toml::from_str(text).map_err(|e| anyhow!("reward config: invalid TOML: {}", e.to_string().trim()))?;
        let mut terms = Vec::with_capacity(raw.term.len());
        for (i, mut table) in raw.term.into_iter().enumerate() {
            let name = match table.remove("name") {
                Some(toml::Value::String(s)) => s,
                Some(v) => bail!("reward config: term {i}: `name` must be a string, got `{v}`"),
                None => bail!("reward config: term {i} has no `name`"),
            };
            let op = match table.remove("op") {
                Some(toml::Value::String(s)) => s,
                Some(v) => bail!("reward config: term `{name}`: `op` must be a string, got `{v}`"),
                None => bail!("reward config: term `{name}` has no `op` (one of {})", OPERATORS.join(", ")),
            };
            let op = parse_op(&name, &op, table).context("reward config")?;
            terms.push(Term { name, op });
        }
        let terminal = raw
            .terminal
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let when = match t.when {
                    OneOrMany::One(s) => vec![s],
                    OneOrMany::Many(v) => v,
                };
                let action = match (t.reward, t.bonus) {
                    (Some(r), None) => TerminalAction::Replace(r),
                    (None, Some(b)) => TerminalAction::Add(b),
                    _ => bail!("reward config: terminal rule {i} needs exactly one of `reward` or `bonus`"),
                };
                Ok(TerminalRule { when, action })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(raw.name, raw.description, raw.output, terms, terminal)
    }

    /// Builds and validates a spec from its parts (what [`RewardSpec::from_toml_str`] does
    /// after parsing).
    pub fn new(
        name: String,
        description: String,
        output: String,
        terms: Vec<Term>,
        terminal: Vec<TerminalRule>,
    ) -> Result<Self> {
        let ctx = |msg: String| {
            anyhow!("reward config{}: {msg}", if name.is_empty() { String::new() } else { format!(" `{name}`") })
        };
        if terms.is_empty() {
            return Err(ctx("no terms (add `[[term]]` tables)".into()));
        }
        let mut index = HashMap::new();
        for (i, t) in terms.iter().enumerate() {
            if !valid_name(&t.name) {
                return Err(ctx(format!("term name `{}` must be letters, digits and `_`", t.name)));
            }
            if index.insert(t.name.clone(), i).is_some() {
                return Err(ctx(format!("two terms are named `{}`", t.name)));
            }
        }
        let known = || terms.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
        let output_index = *index
            .get(&output)
            .ok_or_else(|| ctx(format!("`output` names unknown term `{output}` (terms: {})", known())))?;

        // Resolve operands and check each op's constants.
        let mut args = Vec::with_capacity(terms.len());
        for t in &terms {
            let mut resolved = Vec::new();
            for o in t.op.operands() {
                resolved.push(match o {
                    Operand::Number(x) => {
                        if !x.is_finite() {
                            return Err(ctx(format!("term `{}`: the number {x} is not finite", t.name)));
                        }
                        Arg::Const(x)
                    }
                    Operand::Term(r) => Arg::Term(*index.get(&r).ok_or_else(|| {
                        ctx(format!("term `{}` refers to unknown term `{r}` (terms: {})", t.name, known()))
                    })?),
                });
            }
            check_op(&t.name, &t.op).map_err(|e| ctx(e.to_string()))?;
            args.push(resolved);
        }

        // Topological order, reporting a cycle by its path.
        let order = topo_order(&terms, &args).map_err(ctx)?;

        // Terms needed for every potential's phi; phi may not depend on a potential.
        let mut phi_closure = vec![false; terms.len()];
        for t in &terms {
            if let Op::Potential { phi, .. } = &t.op {
                let mut stack = vec![index[phi]];
                while let Some(j) = stack.pop() {
                    if let Op::Potential { .. } = terms[j].op {
                        return Err(ctx(format!(
                            "potential `{}`: its phi `{phi}` depends on the potential term `{}`",
                            t.name, terms[j].name
                        )));
                    }
                    if !phi_closure[j] {
                        phi_closure[j] = true;
                        stack.extend(args[j].iter().filter_map(|a| match a {
                            Arg::Term(k) => Some(*k),
                            Arg::Const(_) => None,
                        }));
                    }
                }
            }
        }

        for (i, rule) in terminal.iter().enumerate() {
            if rule.when.is_empty() || rule.when.iter().any(|w| w.trim().is_empty()) {
                return Err(ctx(format!("terminal rule {i}: `when` needs at least one non-empty reason")));
            }
            let (TerminalAction::Replace(v) | TerminalAction::Add(v)) = rule.action;
            if !v.is_finite() {
                return Err(ctx(format!("terminal rule {i}: the value {v} is not finite")));
            }
        }
        Ok(RewardSpec { name, description, output, terms, terminal, order, args, output_index, phi_closure })
    }

    /// Reads, parses and validates the TOML reward config at `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reward config: cannot read {}", path.display()))?;
        Self::from_toml_str(&text).with_context(|| format!("reward config {}", path.display()))
    }

    /// A config shipped in `assets/rewards/` by name (see [`BUILTINS`]).
    pub fn builtin(name: &str) -> Result<Self> {
        let (_, text) = BUILTINS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            anyhow!(
                "no built-in reward config `{name}` (built-ins: {})",
                BUILTINS.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
            )
        })?;
        Self::from_toml_str(text).with_context(|| format!("built-in reward config `{name}`"))
    }

    /// What `--reward-config` accepts: a built-in name (`driving_vlmrl`) or a path to a
    /// TOML file (`assets/rewards/driving_vlmrl.toml`). A path that exists wins.
    pub fn load(name_or_path: &str) -> Result<Self> {
        let path = Path::new(name_or_path);
        if path.is_file() {
            return Self::from_path(path);
        }
        if BUILTINS.iter().any(|(n, _)| *n == name_or_path) {
            return Self::builtin(name_or_path);
        }
        bail!(
            "reward config `{name_or_path}`: no such file, and not a built-in (built-ins: {})",
            BUILTINS.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
        )
    }

    /// The term names in file order: the per-term columns of an [`Evaluation`].
    pub fn term_names(&self) -> Vec<String> {
        self.terms.iter().map(|t| t.name.clone()).collect()
    }

    /// The semantic scores the config reads (what [`StepInput::semantic`] must hold).
    pub fn semantic_scores(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .terms
            .iter()
            .filter_map(|t| match &t.op {
                Op::Semantic { score } => Some(score.as_str()),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The state quantities the config reads from `info["state"]`.
    pub fn state_quantities(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .terms
            .iter()
            .filter_map(|t| match &t.op {
                Op::State { quantity } => Some(quantity.as_str()),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Checks an op's constant fields.
fn check_op(name: &str, op: &Op) -> Result<()> {
    let finite = |what: &str, x: f64| -> Result<()> {
        ensure!(x.is_finite(), "term `{name}`: `{what}` = {x} is not finite");
        Ok(())
    };
    match op {
        Op::Constant { value } => finite("value", *value)?,
        Op::Semantic { score } => ensure!(!score.trim().is_empty(), "term `{name}`: `score` is empty"),
        Op::State { quantity } => ensure!(!quantity.trim().is_empty(), "term `{name}`: `quantity` is empty"),
        Op::Clip { min: Some(Operand::Number(lo)), max: Some(Operand::Number(hi)), .. } => {
            ensure!(lo <= hi, "term `{name}`: `min` ({lo}) is greater than `max` ({hi})")
        }
        Op::Min { args } | Op::Max { args } | Op::Product { args } => {
            ensure!(!args.is_empty(), "term `{name}`: `args` is empty")
        }
        Op::WeightedSum { args, weights, bias } => {
            ensure!(!args.is_empty(), "term `{name}`: `args` is empty");
            ensure!(
                weights.len() == args.len(),
                "term `{name}`: {} `weights` for {} `args`",
                weights.len(),
                args.len()
            );
            for w in weights {
                finite("weights", *w)?;
            }
            finite("bias", *bias)?;
        }
        Op::Closeness { scale, floor, .. } => {
            if let Operand::Number(s) = scale {
                ensure!(*s > 0.0, "term `{name}`: `scale` must be > 0, got {s}");
            }
            if let Some(f) = floor {
                finite("floor", *f)?;
            }
        }
        Op::Modulation { target, target_at_zero, scale, floor, .. } => {
            finite("target", *target)?;
            finite("target_at_zero", *target_at_zero)?;
            ensure!(
                scale.is_finite() && *scale > 0.0,
                "term `{name}`: `scale` must be > 0, got {scale} (it defaults to |target - target_at_zero|)"
            );
            if let Some(f) = floor {
                finite("floor", *f)?;
            }
        }
        Op::Gate { above, below, at_least, at_most, .. } => {
            let bounds = [above, below, at_least, at_most];
            ensure!(
                bounds.iter().any(|b| b.is_some()),
                "term `{name}`: a gate needs at least one of `above`, `below`, `at_least`, `at_most`"
            );
            for b in bounds.into_iter().flatten() {
                ensure!(!b.is_nan(), "term `{name}`: a gate bound is NaN");
            }
        }
        Op::Potential { gamma, .. } => {
            ensure!((0.0..=1.0).contains(gamma), "term `{name}`: `gamma` must be in [0, 1], got {gamma}")
        }
        Op::Abs { .. } | Op::Clip { .. } => {}
    }
    Ok(())
}

/// Dependencies first; a cycle is an error that spells it out.
fn topo_order(terms: &[Term], args: &[Vec<Arg>]) -> std::result::Result<Vec<usize>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let n = terms.len();
    let mut mark = vec![Mark::New; n];
    let mut order = Vec::with_capacity(n);
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next operand to visit).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let deps: Vec<usize> = args[node]
                .iter()
                .filter_map(|a| match a {
                    Arg::Term(k) => Some(*k),
                    Arg::Const(_) => None,
                })
                .collect();
            if *next < deps.len() {
                let d = deps[*next];
                *next += 1;
                match mark[d] {
                    Mark::New => {
                        mark[d] = Mark::Open;
                        stack.push((d, 0));
                    }
                    Mark::Open => {
                        let start = stack.iter().position(|&(s, _)| s == d).unwrap_or(0);
                        let mut path: Vec<&str> = stack[start..].iter().map(|&(s, _)| terms[s].name.as_str()).collect();
                        path.push(terms[d].name.as_str());
                        return Err(format!("terms form a cycle: {}", path.join(" -> ")));
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

/// One step's inputs for one env.
#[derive(Clone, Copy, Debug)]
pub struct StepInput<'a> {
    /// The semantic scores by name, e.g. `&[("semantic", r_sem)]`.
    pub semantic: &'a [(&'a str, f64)],
    /// The step's `info` (for the state after the step: with same-step autoreset, the
    /// episode's final info, not the reset's): `info["state"]` holds the named state
    /// quantities, `info["termination"]` / `info["success"]` the termination reason.
    pub info: &'a Map<String, Json>,
    /// The step ended the episode in a terminal state.
    pub terminated: bool,
    /// The step cut the episode short (time limit).
    pub truncated: bool,
}

impl<'a> StepInput<'a> {
    /// Inputs of a step that did not end the episode.
    pub fn new(semantic: &'a [(&'a str, f64)], info: &'a Map<String, Json>) -> Self {
        StepInput { semantic, info, terminated: false, truncated: false }
    }

    /// The termination reason (see the module doc), if the episode ended here.
    pub fn reason(&self) -> Option<String> {
        if let Some(s) = self.info.get("termination").and_then(Json::as_str) {
            return Some(s.to_string());
        }
        if self.terminated {
            let success = self.info.get("success").and_then(Json::as_bool).unwrap_or(false);
            return Some(if success { "success" } else { "terminated" }.to_string());
        }
        self.truncated.then(|| "truncated".to_string())
    }
}

/// One step's result: the reward and every term's value.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The reward: the output term's value, or what a terminal rule made of it.
    pub reward: f64,
    /// The term names in file order (shared by all evaluations of a synthesizer).
    pub names: Arc<[String]>,
    /// Each term's value, aligned with `names` (NaN for a term that could not be evaluated
    /// on a step a terminal rule overrode).
    pub values: Vec<f64>,
    /// The termination reason of the terminal rule that applied, if one did.
    pub terminal: Option<String>,
}

impl Evaluation {
    /// `(name, value)` for every term, in file order.
    pub fn terms(&self) -> impl Iterator<Item = (&str, f64)> {
        self.names.iter().map(String::as_str).zip(self.values.iter().copied())
    }

    /// The value of the term `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.names.iter().position(|n| n == name).map(|i| self.values[i])
    }
}

/// Evaluates a [`RewardSpec`] for `num_envs` envs, keeping each env's potential memory.
#[derive(Clone, Debug)]
pub struct Synthesizer {
    spec: RewardSpec,
    names: Arc<[String]>,
    /// Per env, per term: the previous step's Phi for potential terms.
    prev_phi: Vec<Vec<Option<f64>>>,
}

impl Synthesizer {
    /// A synthesizer for `num_envs` envs, each starting a fresh episode.
    pub fn new(spec: RewardSpec, num_envs: usize) -> Self {
        let names: Arc<[String]> = spec.term_names().into();
        let prev_phi = vec![vec![None; spec.terms.len()]; num_envs];
        Synthesizer { spec, names, prev_phi }
    }

    /// The spec.
    pub fn spec(&self) -> &RewardSpec {
        &self.spec
    }

    /// The term names in file order (one metrics column each).
    pub fn term_names(&self) -> &[String] {
        &self.names
    }

    /// The number of envs.
    pub fn num_envs(&self) -> usize {
        self.prev_phi.len()
    }

    fn check_env(&self, env: usize) -> Result<()> {
        ensure!(env < self.prev_phi.len(), "reward synthesis: env {env} out of range ({} envs)", self.prev_phi.len());
        Ok(())
    }

    /// Starts a new episode in `env`. With the reset's inputs (its `info`, and the semantic
    /// scores of its first frame if a potential's phi reads them), each potential's
    /// `Phi(s_0)` is evaluated from them; without, `Phi(s_0)` counts as 0.
    pub fn reset(&mut self, env: usize, first: Option<&StepInput>) -> Result<()> {
        self.check_env(env)?;
        let n = self.spec.terms.len();
        let mut memory = vec![None; n];
        if let Some(input) = first {
            let mut vals = vec![f64::NAN; n];
            for &i in &self.spec.order {
                if self.spec.phi_closure[i] {
                    vals[i] = self.eval_term(i, input, &vals, None)?;
                }
            }
            for (i, t) in self.spec.terms.iter().enumerate() {
                if let Op::Potential { .. } = t.op {
                    if let Some(&Arg::Term(j)) = self.spec.args[i].first() {
                        memory[i] = Some(vals[j]);
                    }
                }
            }
        }
        self.prev_phi[env] = memory;
        Ok(())
    }

    /// Evaluates one step of `env`: every term, then the terminal rules. A step that ends
    /// the episode (terminated or truncated) clears the env's potential memory, so the next
    /// step starts a new episode even without [`Synthesizer::reset`].
    pub fn step(&mut self, env: usize, input: &StepInput) -> Result<Evaluation> {
        self.check_env(env)?;
        let reason = input.reason();
        let rule = reason.as_deref().and_then(|r| {
            self.spec.terminal.iter().find(|rule| {
                rule.when
                    .iter()
                    .any(|w| w == r || (w == "terminated" && input.terminated) || (w == "truncated" && input.truncated))
            })
        });
        let n = self.spec.terms.len();
        let mut vals = vec![f64::NAN; n];
        for &i in &self.spec.order {
            match self.eval_term(i, input, &vals, Some(env)) {
                Ok(v) => vals[i] = v,
                Err(_) if rule.is_some() => vals[i] = f64::NAN,
                Err(e) => return Err(e),
            }
        }
        let base = vals[self.spec.output_index];
        let reward = match rule.map(|r| r.action) {
            Some(TerminalAction::Replace(v)) => v,
            Some(TerminalAction::Add(b)) => base + b,
            None => base,
        };
        if rule.is_some() && !reward.is_finite() {
            bail!(
                "reward synthesis: env {env}: the reward is {reward} on a `{}` step",
                reason.as_deref().unwrap_or("terminal")
            );
        }
        // Remember Phi(s') for the next step, or forget it at the episode's end.
        let ended = input.terminated || input.truncated;
        for (i, t) in self.spec.terms.iter().enumerate() {
            if let Op::Potential { .. } = t.op {
                let phi = match self.spec.args[i].first() {
                    Some(&Arg::Term(j)) => vals[j],
                    Some(&Arg::Const(c)) => c,
                    None => f64::NAN,
                };
                self.prev_phi[env][i] = (!ended).then_some(phi);
            }
        }
        Ok(Evaluation { reward, names: self.names.clone(), values: vals, terminal: rule.and(reason) })
    }

    /// One term's value from its operands' values. `env` is None on reset (potentials are
    /// not evaluated then).
    fn eval_term(&self, i: usize, input: &StepInput, vals: &[f64], env: Option<usize>) -> Result<f64> {
        let term = &self.spec.terms[i];
        let args = &self.spec.args[i];
        let a = |k: usize| match args[k] {
            Arg::Const(c) => c,
            Arg::Term(j) => vals[j],
        };
        let name = &term.name;
        let v = match &term.op {
            Op::Constant { value } => *value,
            Op::Semantic { score } => {
                let (_, x) = input.semantic.iter().find(|(n, _)| n == score).ok_or_else(|| {
                    let given: Vec<&str> = input.semantic.iter().map(|s| s.0).collect();
                    anyhow!(
                        "reward synthesis: term `{name}` needs the semantic score `{score}`, \
                         but the scores given are: {}",
                        if given.is_empty() { "none".to_string() } else { given.join(", ") }
                    )
                })?;
                ensure!(x.is_finite(), "reward synthesis: semantic score `{score}` is {x}");
                *x
            }
            Op::State { quantity } => state_quantity(input.info, quantity, name)?,
            Op::Abs { .. } => a(0).abs(),
            Op::Clip { min, max, .. } => {
                let mut x = a(0);
                let mut k = 1;
                if min.is_some() {
                    x = x.max(a(k));
                    k += 1;
                }
                if max.is_some() {
                    x = x.min(a(k));
                }
                x
            }
            Op::Min { .. } => (1..args.len()).fold(a(0), |m, k| m.min(a(k))),
            Op::Max { .. } => (1..args.len()).fold(a(0), |m, k| m.max(a(k))),
            Op::Product { .. } => (1..args.len()).fold(a(0), |p, k| p * a(k)),
            Op::WeightedSum { weights, bias, .. } => weights.iter().enumerate().fold(*bias, |s, (k, w)| s + w * a(k)),
            Op::Closeness { floor, .. } => {
                let scale = a(2);
                ensure!(scale > 0.0, "reward synthesis: term `{name}`: `scale` must be > 0, got {scale}");
                let c = 1.0 - (a(0) - a(1)).abs() / scale;
                floor.map_or(c, |f| c.max(f))
            }
            Op::Modulation { target, target_at_zero, scale, floor, .. } => {
                let t = target_at_zero + a(0) * (target - target_at_zero);
                let c = 1.0 - (a(1) - t).abs() / scale;
                floor.map_or(c, |f| c.max(f))
            }
            Op::Gate { above, below, at_least, at_most, .. } => {
                let x = a(1);
                let holds = above.is_none_or(|b| x > b)
                    && below.is_none_or(|b| x < b)
                    && at_least.is_none_or(|b| x >= b)
                    && at_most.is_none_or(|b| x <= b);
                if holds {
                    a(0)
                } else {
                    a(2)
                }
            }
            Op::Potential { gamma, .. } => {
                let Some(env) = env else { return Ok(f64::NAN) };
                let phi_next = if input.terminated { 0.0 } else { a(0) };
                let phi_prev = self.prev_phi[env][i].unwrap_or(0.0);
                gamma * phi_next - phi_prev
            }
        };
        ensure!(v.is_finite(), "reward synthesis: term `{name}` ({}) evaluated to {v}", term.op.name());
        Ok(v)
    }
}

/// `info["state"][quantity]` as a finite number, or an error naming what is there.
fn state_quantity(info: &Map<String, Json>, quantity: &str, term: &str) -> Result<f64> {
    let state = info.get(STATE_KEY).and_then(Json::as_object).ok_or_else(|| {
        anyhow!(
            "reward synthesis: term `{term}` reads state quantity `{quantity}`, but info has no `{STATE_KEY}` object \
             (info keys: {})",
            info.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })?;
    let v = state.get(quantity).ok_or_else(|| {
        anyhow!(
            "reward synthesis: term `{term}`: the env has no state quantity `{quantity}` (it has: {})",
            state.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })?;
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        _ => bail!("reward synthesis: state quantity `{quantity}` is not a finite number: {v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> RewardSpec {
        RewardSpec::from_toml_str(text).unwrap()
    }

    fn err(text: &str) -> String {
        format!("{:#}", RewardSpec::from_toml_str(text).unwrap_err())
    }

    #[test]
    fn integers_are_numbers_and_strings_are_terms() {
        let s = spec(
            "output = \"p\"\n[[term]]\nname = \"c\"\nop = \"constant\"\nvalue = 2\n\
             [[term]]\nname = \"p\"\nop = \"product\"\nargs = [\"c\", 3]\n",
        );
        assert_eq!(s.args[1], vec![Arg::Term(0), Arg::Const(3.0)]);
        assert_eq!(s.order, vec![0, 1]);
    }

    #[test]
    fn forward_references_are_ordered_dependencies_first() {
        let s = spec(
            "output = \"a\"\n[[term]]\nname = \"a\"\nop = \"abs\"\nof = \"b\"\n\
             [[term]]\nname = \"b\"\nop = \"constant\"\nvalue = -1\n",
        );
        assert_eq!(s.order, vec![1, 0]);
    }

    #[test]
    fn cycles_are_spelled_out() {
        let e = err("output = \"a\"\n[[term]]\nname = \"a\"\nop = \"abs\"\nof = \"b\"\n\
             [[term]]\nname = \"b\"\nop = \"abs\"\nof = \"c\"\n[[term]]\nname = \"c\"\nop = \"abs\"\nof = \"a\"\n");
        assert!(e.contains("terms form a cycle: a -> b -> c -> a"), "{e}");
        let e = err("output = \"a\"\n[[term]]\nname = \"a\"\nop = \"abs\"\nof = \"a\"\n");
        assert!(e.contains("cycle: a -> a"), "{e}");
    }

    #[test]
    fn every_builtin_parses() {
        for (name, _) in BUILTINS {
            let s = RewardSpec::builtin(name).unwrap();
            assert_eq!(s.name, name);
            assert!(!s.description.is_empty(), "{name} has no description");
        }
        assert!(format!("{:#}", RewardSpec::builtin("nope").unwrap_err()).contains("built-ins: driving_vlmrl"));
    }
}

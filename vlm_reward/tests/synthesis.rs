//! Declarative reward synthesis: each operator against hand-computed values, the VLM-RL
//! driving config against Driving-v0's own reward, potential shaping's telescoping sum,
//! terminal overrides, and the errors bad configs and bad inputs give.

use serde_json::{json, Map, Value as Json};
use vlmgym_envs::{make, Options, Value};
use vlmgym_reward::synthesis::{RewardSpec, StepInput, Synthesizer};

/// A small deterministic generator (SplitMix64), so the test needs no random crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f32 {
        (2.0 * self.next() - 1.0) as f32
    }

    fn bit(&mut self) -> i64 {
        (self.next() < 0.5) as i64
    }
}

fn info(state: Json) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("state".into(), state);
    m
}

fn spec(text: &str) -> RewardSpec {
    RewardSpec::from_toml_str(text).unwrap_or_else(|e| panic!("{e:#}"))
}

/// A TOML text from `;`-separated lines (TOML's single-quoted strings need no escapes).
fn lines(text: &str) -> String {
    text.split(';').map(str::trim).collect::<Vec<_>>().join("\n") + "\n"
}

fn config_err(text: &str) -> String {
    format!("{:#}", RewardSpec::from_toml_str(text).unwrap_err())
}

const ALL_OPS: &str = r#"
name = "ops"
description = "every operator once"
output = "sum"

[[term]]
name = "sem"
op = "semantic"
score = "semantic"

[[term]]
name = "v"
op = "state"
quantity = "v"

[[term]]
name = "d"
op = "state"
quantity = "d"

[[term]]
name = "two"
op = "constant"
value = 2

[[term]]
name = "abs_d"
op = "abs"
of = "d"

[[term]]
name = "clipped"
op = "clip"
of = "v"
min = 0.0
max = 10

[[term]]
name = "smallest"
op = "min"
args = ["v", "d", 5.0]

[[term]]
name = "largest"
op = "max"
args = ["v", "d", 5.0]

[[term]]
name = "prod"
op = "product"
args = ["sem", "two", "abs_d"]

[[term]]
name = "close"
op = "closeness"
value = "d"
target = 0.5
scale = 3.0

[[term]]
name = "close_floored"
op = "closeness"
value = "v"
scale = 4.0
floor = 0.0

[[term]]
name = "speed_match"
op = "modulation"
score = "sem"
quantity = "v"
target = 20.0

[[term]]
name = "band"
op = "modulation"
score = "sem"
quantity = "v"
target = 20.0
target_at_zero = 10.0
scale = 5.0
floor = -1.0

[[term]]
name = "gated"
op = "gate"
value = "v"
test = "abs_d"
below = 2.0

[[term]]
name = "gated_off"
op = "gate"
value = "v"
test = "abs_d"
above = 0.5
at_most = 1.0
otherwise = -3.0

[[term]]
name = "sum"
op = "weighted_sum"
args = ["prod", "close", "two"]
weights = [0.5, 2.0, -1.0]
bias = 0.25
"#;

#[test]
fn every_operator_matches_hand_computation() {
    let s = spec(ALL_OPS);
    let mut syn = Synthesizer::new(s, 1);
    let inf = info(json!({"v": 12.0, "d": -1.5}));
    let sem = [("semantic", 0.75)];
    let e = syn.step(0, &StepInput::new(&sem, &inf)).unwrap();
    let want = [
        ("sem", 0.75),
        ("v", 12.0),
        ("d", -1.5),
        ("two", 2.0),
        ("abs_d", 1.5),
        ("clipped", 10.0),
        ("smallest", -1.5),
        ("largest", 12.0),
        ("prod", 0.75 * 2.0 * 1.5),
        ("close", 1.0 - 2.0 / 3.0),
        ("close_floored", 0.0),                               // 1 - 12 / 4 = -2, floored at 0
        ("speed_match", 1.0 - (12.0 - 15.0f64).abs() / 20.0), // target 0.75 * 20 = 15
        ("band", 1.0 - 5.5 / 5.0),                            // target 10 + 0.75 * 10 = 17.5, above the floor -1
        ("gated", 12.0),
        ("gated_off", -3.0),
        ("sum", 0.25 + 0.5 * 2.25 + 2.0 * (1.0 / 3.0) - 2.0),
    ];
    let got: Vec<(&str, f64)> = e.terms().collect();
    assert_eq!(got.len(), want.len());
    for ((gn, gv), (wn, wv)) in got.iter().zip(&want) {
        assert_eq!(gn, wn);
        assert!((gv - wv).abs() < 1e-12, "{gn}: got {gv}, want {wv}");
    }
    assert!((e.reward - e.get("sum").unwrap()).abs() == 0.0);
    assert_eq!(e.terminal, None);
    assert_eq!(syn.term_names()[0], "sem");
}

#[test]
fn gate_bounds_are_strict_or_inclusive_as_named() {
    let s = spec(
        r#"
output = "g"
[[term]]
name = "x"
op = "state"
quantity = "x"
[[term]]
name = "g"
op = "gate"
value = 1
test = "x"
at_least = 1.0
below = 2.0
"#,
    );
    let mut syn = Synthesizer::new(s, 1);
    for (x, want) in [(0.5, 0.0), (1.0, 1.0), (1.99, 1.0), (2.0, 0.0)] {
        let inf = info(json!({ "x": x }));
        assert_eq!(syn.step(0, &StepInput::new(&[], &inf)).unwrap().reward, want, "x = {x}");
    }
}

/// Drives Driving-v0 (default `reward = "vlm-rl"`) with a seeded random policy and checks the
/// VLM-RL config with semantic = 1 gives the env's reward and components on every step.
#[test]
fn driving_config_with_semantic_one_reproduces_the_envs_vlm_rl_reward() {
    let mut syn = Synthesizer::new(RewardSpec::builtin("driving_vlmrl").unwrap(), 1);
    let mut env = make("Driving-v0").unwrap();
    let mut rng = Rng(11);
    let (mut steps, mut terminals, mut episode) = (0, Vec::new(), 0u64);
    let (mut positive, mut max_err) = (0, 0.0f64);
    env.reset(Some(episode), &Options::new()).unwrap();
    syn.reset(0, None).unwrap();
    while steps < 400 || terminals.is_empty() {
        assert!(steps < 5000, "no terminal step in 5000 steps");
        // Mostly forward with a random steer, so episodes both drive well and fail.
        let a = Value::Box(vec![0.5 * rng.signed(), 0.4 + 0.6 * rng.signed().abs()]);
        let step = env.step(&a).unwrap();
        steps += 1;
        let input = StepInput {
            semantic: &[("semantic", 1.0)],
            info: &step.info,
            terminated: step.terminated,
            truncated: step.truncated,
        };
        let e = syn.step(0, &input).unwrap();
        let err = (e.reward - step.reward).abs();
        max_err = max_err.max(err);
        assert!(err <= 1e-9, "step {steps}: synthesised {} vs env {} ({:?})", e.reward, step.reward, step.info);
        for k in ["r_speed", "f_center", "f_angle", "f_std"] {
            assert!((e.get(k).unwrap() - step.info[k].as_f64().unwrap()).abs() <= 1e-9, "{k} at step {steps}");
        }
        if e.reward > 0.0 {
            positive += 1;
        }
        if step.done() {
            if step.terminated {
                let reason = step.info["termination"].as_str().unwrap().to_string();
                assert_eq!(e.terminal.is_some(), reason != "success");
                terminals.push(reason);
            }
            episode += 1;
            env.reset(Some(episode), &Options::new()).unwrap();
            syn.reset(0, None).unwrap();
        }
    }
    assert!(positive > 50, "only {positive} steps with a positive reward");
    assert!(terminals.iter().any(|r| r != "success"), "{terminals:?}");
    eprintln!("{steps} steps, terminals {terminals:?}, max |error| {max_err:e}");
}

#[test]
fn semantic_score_sets_the_target_speed() {
    // At 12.5 km/h, r_sem = 0.5 asks for exactly this speed: r_speed = 1.
    let mut syn = Synthesizer::new(RewardSpec::builtin("driving_vlmrl").unwrap(), 1);
    let inf = info(json!({"speed_kmh": 12.5, "lateral_offset": 0.0, "heading_error": 0.0, "lateral_offset_std": 0.0}));
    let e = syn.step(0, &StepInput::new(&[("semantic", 0.5)], &inf)).unwrap();
    assert_eq!(e.get("r_speed"), Some(1.0));
    assert_eq!(e.reward, 1.0);
    let e = syn.step(0, &StepInput::new(&[("semantic", 0.0)], &inf)).unwrap();
    assert_eq!(e.get("r_speed"), Some(0.5));
}

#[test]
fn cartpole_ground_truth_config_is_cartpoles_reward() {
    let mut syn = Synthesizer::new(RewardSpec::load("cartpole_ground_truth").unwrap(), 1);
    let mut env = make("CartPole-v1").unwrap();
    let mut rng = Rng(1);
    env.reset(Some(0), &Options::new()).unwrap();
    let mut ends = 0;
    for _ in 0..300 {
        let step = env.step(&Value::Discrete(rng.bit())).unwrap();
        let input =
            StepInput { semantic: &[], info: &step.info, terminated: step.terminated, truncated: step.truncated };
        assert_eq!(syn.step(0, &input).unwrap().reward, step.reward);
        if step.done() {
            ends += 1;
            env.reset(None, &Options::new()).unwrap();
        }
    }
    assert!(ends > 3);
}

/// Runs CartPole episodes under the shaped config; returns per episode
/// (sum_t gamma^t F_t, Phi(s_0), Phi(s_T), terminated).
fn shaped_episodes(with_reset_state: bool) -> Vec<(f64, f64, f64, bool)> {
    let spec = RewardSpec::builtin("cartpole_shaped").unwrap();
    let gamma = 0.99;
    let mut syn = Synthesizer::new(spec, 1);
    // A 60-step limit so some episodes are truncated rather than terminated.
    let mut env = make("CartPole-v1").unwrap();
    let mut rng = Rng(5);
    let phi = |state: &Json| (1.0 - state["theta"].as_f64().unwrap().abs() / 12f64.to_radians()).max(0.0);
    let mut out = Vec::new();
    for ep in 0..12u64 {
        let (_, reset_info) = env.reset(Some(ep), &Options::new()).unwrap();
        let phi0 = phi(&reset_info["state"]);
        if with_reset_state {
            syn.reset(0, Some(&StepInput::new(&[], &reset_info))).unwrap();
        } else {
            syn.reset(0, None).unwrap();
        }
        let (mut sum, mut discount) = (0.0, 1.0);
        let mut state = reset_info["state"].clone();
        for t in 0..60 {
            // A balancing push keeps the pole up for the whole 60 steps; random pushes drop it.
            let lean = state["theta"].as_f64().unwrap() + 0.5 * state["theta_dot"].as_f64().unwrap();
            let a = if ep % 2 == 0 { (lean > 0.0) as i64 } else { rng.bit() };
            let step = env.step(&Value::Discrete(a)).unwrap();
            state = step.info["state"].clone();
            let truncated = t == 59 && !step.terminated;
            let input =
                StepInput { semantic: &[("semantic", 0.3)], info: &step.info, terminated: step.terminated, truncated };
            let e = syn.step(0, &input).unwrap();
            assert!((e.get("upright").unwrap() - phi(&step.info["state"])).abs() < 1e-12);
            assert!((e.reward - 0.3 - e.get("shaping").unwrap()).abs() < 1e-12);
            sum += discount * e.get("shaping").unwrap();
            discount *= gamma;
            if step.terminated || truncated {
                out.push((sum, phi0, phi(&step.info["state"]) * discount, step.terminated));
                break;
            }
        }
    }
    out
}

#[test]
fn potential_shaping_telescopes_over_an_episode() {
    let eps = shaped_episodes(true);
    assert!(eps.iter().any(|e| e.3) && eps.iter().any(|e| !e.3), "need terminated and truncated episodes");
    for (sum, phi0, discounted_phi_t, terminated) in eps {
        // Terminal states have Phi = 0; a truncated episode keeps gamma^T Phi(s_T).
        let want = if terminated { -phi0 } else { discounted_phi_t - phi0 };
        assert!((sum - want).abs() < 1e-9, "sum {sum} want {want}");
    }
    // Without the reset state, Phi(s_0) counts as 0.
    for (sum, _, discounted_phi_t, terminated) in shaped_episodes(false) {
        let want = if terminated { 0.0 } else { discounted_phi_t };
        assert!((sum - want).abs() < 1e-9, "sum {sum} want {want}");
    }
}

#[test]
fn potential_memory_is_per_env_and_cleared_at_episode_end() {
    let s = spec(
        r#"
output = "f"
[[term]]
name = "x"
op = "state"
quantity = "x"
[[term]]
name = "f"
op = "potential"
phi = "x"
gamma = 0.5
"#,
    );
    let mut syn = Synthesizer::new(s, 2);
    let st = |x: f64| info(json!({ "x": x }));
    let (a, b, c) = (st(2.0), st(4.0), st(10.0));
    // env 0: Phi(s0) unknown -> 0; F = 0.5 * 2 - 0 = 1, then 0.5 * 4 - 2 = 0.
    assert_eq!(syn.step(0, &StepInput::new(&[], &a)).unwrap().reward, 1.0);
    // env 1 is independent: starts from the reset state x = 10.
    syn.reset(1, Some(&StepInput::new(&[], &c))).unwrap();
    assert_eq!(syn.step(1, &StepInput::new(&[], &a)).unwrap().reward, 1.0 - 10.0);
    assert_eq!(syn.step(0, &StepInput::new(&[], &b)).unwrap().reward, 0.0);
    // Terminated: Phi(s') = 0, F = -Phi(s) = -4; the phi column still shows x.
    let end = StepInput { semantic: &[], info: &c, terminated: true, truncated: false };
    let e = syn.step(0, &end).unwrap();
    assert_eq!((e.reward, e.get("x")), (-4.0, Some(10.0)));
    // The next step starts a new episode by itself: Phi(s) = 0 again.
    assert_eq!(syn.step(0, &StepInput::new(&[], &a)).unwrap().reward, 1.0);
    // Truncated: Phi(s') is kept in F (0.5 * 4 - 2 = 0), then forgotten.
    let trunc = StepInput { semantic: &[], info: &b, terminated: false, truncated: true };
    assert_eq!(syn.step(0, &trunc).unwrap().reward, 0.0);
    assert_eq!(syn.step(0, &StepInput::new(&[], &a)).unwrap().reward, 1.0);
}

#[test]
fn terminal_overrides_replace_or_add_by_reason() {
    let s = spec(
        r#"
output = "one"
[[term]]
name = "one"
op = "constant"
value = 1
[[terminal]]
when = ["collision", "off_route"]
reward = -10
[[terminal]]
when = "success"
bonus = 5.0
[[terminal]]
when = "terminated"
reward = -1
"#,
    );
    let mut syn = Synthesizer::new(s, 1);
    let mut run = |termination: Json, success: bool, terminated: bool, truncated: bool| {
        let mut inf = info(json!({}));
        inf.insert("termination".into(), termination);
        inf.insert("success".into(), success.into());
        let e = syn.step(0, &StepInput { semantic: &[], info: &inf, terminated, truncated }).unwrap();
        (e.reward, e.terminal)
    };
    assert_eq!(run(json!("collision"), false, true, false), (-10.0, Some("collision".into())));
    assert_eq!(run(json!("off_route"), false, true, false), (-10.0, Some("off_route".into())));
    assert_eq!(run(json!("success"), true, true, false), (6.0, Some("success".into())));
    // No termination string: success from info["success"], else the catch-all.
    assert_eq!(run(Json::Null, true, true, false), (6.0, Some("success".into())));
    assert_eq!(run(Json::Null, false, true, false), (-1.0, Some("terminated".into())));
    // `stuck` matches no named rule but is a terminated step.
    assert_eq!(run(json!("stuck"), false, true, false), (-1.0, Some("stuck".into())));
    // Truncation and ordinary steps keep the output.
    assert_eq!(run(Json::Null, false, false, true), (1.0, None));
    assert_eq!(run(Json::Null, false, false, false), (1.0, None));
}

#[test]
fn an_overridden_terminal_step_tolerates_a_nan_state() {
    let mut syn = Synthesizer::new(RewardSpec::builtin("driving_vlmrl").unwrap(), 1);
    let mut inf =
        info(json!({"speed_kmh": null, "lateral_offset": 0.0, "heading_error": 0.0, "lateral_offset_std": 0.0}));
    inf.insert("termination".into(), "physics_error".into());
    let input = StepInput { semantic: &[("semantic", 1.0)], info: &inf, terminated: true, truncated: false };
    let e = syn.step(0, &input).unwrap();
    assert_eq!(e.reward, -10.0);
    assert!(e.get("speed").unwrap().is_nan() && e.get("reward").unwrap().is_nan());
    assert_eq!(e.get("f_center"), Some(1.0));
    // Without an override the same state is an error.
    inf.remove("termination");
    let input = StepInput { semantic: &[("semantic", 1.0)], info: &inf, terminated: false, truncated: false };
    let msg = format!("{:#}", syn.step(0, &input).unwrap_err());
    assert!(msg.contains("state quantity `speed_kmh` is not a finite number: null"), "{msg}");
}

fn step_err(syn: &mut Synthesizer, sem: &[(&str, f64)], inf: &Map<String, Json>, env: usize) -> String {
    format!("{:#}", syn.step(env, &StepInput::new(sem, inf)).unwrap_err())
}

#[test]
fn evaluation_errors_name_the_problem() {
    let mut syn = Synthesizer::new(RewardSpec::builtin("driving_vlmrl").unwrap(), 2);
    let inf = info(json!({"speed_kmh": 10.0, "heading_error": 0.0}));
    let msg = step_err(&mut syn, &[("semantic", 1.0)], &inf, 0);
    assert!(msg.contains("the env has no state quantity `lateral_offset` (it has: heading_error, speed_kmh)"), "{msg}");
    let msg = step_err(&mut syn, &[("goal", 1.0)], &inf, 0);
    assert!(msg.contains("needs the semantic score `semantic`, but the scores given are: goal"), "{msg}");
    let msg = step_err(&mut syn, &[("semantic", f64::NAN)], &inf, 0);
    assert!(msg.contains("semantic score `semantic` is NaN"), "{msg}");
    let msg = step_err(&mut syn, &[("semantic", 1.0)], &inf, 2);
    assert!(msg.contains("env 2 out of range (2 envs)"), "{msg}");
    let mut no_state = Map::new();
    no_state.insert("speed_kmh".into(), 3.0.into());
    let msg = step_err(&mut syn, &[("semantic", 1.0)], &no_state, 0);
    assert!(msg.contains("info has no `state` object (info keys: speed_kmh)"), "{msg}");
    // A term that evaluates to infinity.
    let s = spec(&lines(
        "output = 'c'; [[term]]; name = 'x'; op = 'state'; quantity = 'x'; \
         [[term]]; name = 'c'; op = 'closeness'; value = 1; scale = 'x'",
    ));
    let mut syn = Synthesizer::new(s, 1);
    let msg = step_err(&mut syn, &[], &info(json!({"x": 0.0})), 0);
    assert!(msg.contains("term `c`: `scale` must be > 0, got 0"), "{msg}");
    let msg = step_err(&mut syn, &[], &info(json!({"x": 1e-320})), 0);
    assert!(msg.contains("term `c` (closeness) evaluated to -inf"), "{msg}");
}

#[test]
fn config_errors_name_the_problem() {
    let t = |body: &str| lines(&format!("output = 'a'; [[term]]; name = 'a'; {body}"));
    let cases = [
        (t("op = \"sqrt\"\nof = 1"), "term `a`: unknown operator `sqrt` (known: constant, semantic, state"),
        (t("op = \"abs\"\nof = \"b\""), "term `a` refers to unknown term `b` (terms: a)"),
        (t("op = \"closeness\"\nvalue = 1\nscael = 2"), "term `a` (op `closeness`): unknown field `scael`"),
        (t("op = \"closeness\"\nvalue = 1\nscale = 0"), "term `a`: `scale` must be > 0, got 0"),
        (t("op = \"potential\"\nphi = \"a\"\ngamma = 0.9"), "terms form a cycle: a -> a"),
        (t("value = 1"), "term `a` has no `op`"),
        (t("op = \"product\"\nargs = []"), "term `a`: `args` is empty"),
        (t("op = \"weighted_sum\"\nargs = [1, 2]\nweights = [1]"), "term `a`: 1 `weights` for 2 `args`"),
        (t("op = \"gate\"\nvalue = 1\ntest = 1"), "a gate needs at least one of `above`"),
        (t("op = \"clip\"\nof = 1\nmin = 2\nmax = 1"), "`min` (2) is greater than `max` (1)"),
        (t("op = \"modulation\"\nscore = 1\nquantity = 1\ntarget = 0"), "`scale` must be > 0, got 0"),
        (t("op = \"constant\"\nvalue = \"one\""), "term `a` (op `constant`): invalid type: string \"one\""),
        (t("op = 'constant'; value = 1; [[term]]; name = 'a'; op = 'constant'; value = 2"), "two terms are named `a`"),
        (t("op = \"constant\"\nvalue = nan"), "`value` = NaN is not finite"),
        (t("op = \"constant\"\nvalue = 1\n[[terminal]]\nwhen = []\nreward = 1"), "terminal rule 0: `when` needs"),
        (t("op = 'constant'; value = 1; [[terminal]]; when = 'x'; reward = 1; bonus = 1"), "exactly one of"),
        ("[[term]]\nname = \"a\"\nop = \"constant\"\nvalue = 1\n".to_string(), "missing field `output`"),
        (lines("output = 'b'; [[term]]; name = 'a'; op = 'constant'; value = 1"), "`output` names unknown term `b`"),
        ("output = \"a\"\nterms = 3\n".to_string(), "unknown field `terms`"),
        ("output = \"a\"\n".to_string(), "no terms"),
        ("output = \"a\n".to_string(), "invalid TOML"),
        (
            lines(
                "output = 'f'; [[term]]; name = 'p'; op = 'potential'; phi = 'x'; gamma = 1; \
                 [[term]]; name = 'x'; op = 'constant'; value = 1; \
                 [[term]]; name = 'f'; op = 'potential'; phi = 'p'; gamma = 1",
            ),
            "potential `f`: its phi `p` depends on the potential term `p`",
        ),
        (
            t("op = 'potential'; phi = 'b'; gamma = 1.5; [[term]]; name = 'b'; op = 'constant'; value = 1"),
            "`gamma` must be in [0, 1], got 1.5",
        ),
    ];
    for (text, want) in cases {
        let msg = config_err(&text);
        assert!(msg.contains(want), "config:\n{text}\nerror: {msg}\nexpected: {want}");
    }
}

#[test]
fn configs_load_by_name_or_path() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/rewards");
    for name in ["driving_vlmrl", "cartpole_vlmrm", "cartpole_ground_truth", "cartpole_shaped"] {
        let by_name = RewardSpec::load(name).unwrap();
        let by_path = RewardSpec::load(&format!("{root}/{name}.toml")).unwrap();
        assert_eq!(by_name, by_path);
    }
    let s = RewardSpec::load("driving_vlmrl").unwrap();
    assert_eq!(s.semantic_scores(), ["semantic"]);
    assert_eq!(s.state_quantities(), ["heading_error", "lateral_offset", "lateral_offset_std", "speed_kmh"]);
    let msg = format!("{:#}", RewardSpec::load("no_such_reward").unwrap_err());
    assert!(msg.contains("no such file, and not a built-in (built-ins: driving_vlmrl"), "{msg}");
    let msg = format!("{:#}", RewardSpec::from_path(format!("{root}/missing.toml")).unwrap_err());
    assert!(msg.contains("cannot read"), "{msg}");
}

#[test]
fn manipulation_reward_adds_a_quarter_of_the_reach_term() {
    let mut syn = Synthesizer::new(RewardSpec::builtin("manipulation_vlmrl").unwrap(), 1);
    let inf = info(json!({"tcp_to_cube": 0.1, "tcp_to_goal": 0.3, "cube_to_goal": 0.2}));
    let e = syn.step(0, &StepInput::new(&[("semantic", 0.6)], &inf)).unwrap();
    assert!((e.reward - (0.6 + 0.25 * 0.8)).abs() < 1e-12, "{}", e.reward);
    let far = info(json!({"tcp_to_cube": 0.9}));
    assert_eq!(syn.step(0, &StepInput::new(&[("semantic", 0.6)], &far)).unwrap().reward, 0.6);
}

#[test]
fn manipulation_reach_reward_weighs_the_reach_term_as_the_score() {
    let mut syn = Synthesizer::new(RewardSpec::builtin("manipulation_reach").unwrap(), 1);
    let inf = info(json!({"tcp_to_cube": 0.1, "tcp_to_goal": 0.3, "cube_to_goal": 0.2}));
    let e = syn.step(0, &StepInput::new(&[("semantic", 0.6)], &inf)).unwrap();
    assert!((e.reward - (0.6 + 0.8)).abs() < 1e-12, "{}", e.reward);
    // The hover the quarter weight paid for: gripper 0.2 m from the cube with the goal
    // scored 0.26, against right at the cube scored 0.08 (scripts/arm_score_probe.py).
    let hover = syn.step(0, &StepInput::new(&[("semantic", 0.26)], &info(json!({"tcp_to_cube": 0.2})))).unwrap();
    let at_cube = syn.step(0, &StepInput::new(&[("semantic", 0.08)], &info(json!({"tcp_to_cube": 0.02})))).unwrap();
    assert!(at_cube.reward > hover.reward, "{} <= {}", at_cube.reward, hover.reward);
}

#[test]
fn manipulation_push_reward_reaches_for_the_push_point_not_the_cube() {
    let spec = RewardSpec::builtin("manipulation_push").unwrap();
    assert_eq!(spec.state_quantities(), ["tcp_to_push_point"]);
    let mut syn = Synthesizer::new(spec, 1);
    let e = syn.step(0, &StepInput::new(&[("semantic", 0.6)], &info(json!({"tcp_to_push_point": 0.1})))).unwrap();
    assert!((e.reward - (0.6 + 0.8)).abs() < 1e-12, "{}", e.reward);
    // A gripper at the cube's front face (0.045 m from the push point behind it) earns less
    // than one at the push point, whatever its distance to the cube's centre.
    let behind = syn.step(0, &StepInput::new(&[("semantic", 0.1)], &info(json!({"tcp_to_push_point": 0.0})))).unwrap();
    let front = syn.step(0, &StepInput::new(&[("semantic", 0.1)], &info(json!({"tcp_to_push_point": 0.045})))).unwrap();
    assert!(behind.reward > front.reward, "{} <= {}", behind.reward, front.reward);
}

#[test]
fn manipulation_progress_reward_pays_the_change_of_the_score() {
    // Phi = 5 r_sem with gamma 0.8: r_sem' + 0.8 * 5 r_sem' - 5 r_sem = 5 (r_sem' - r_sem).
    let mut syn = Synthesizer::new(RewardSpec::builtin("manipulation_progress").unwrap(), 1);
    syn.reset(0, None).unwrap();
    let far = info(json!({"tcp_to_cube": 0.5}));
    let first = syn.step(0, &StepInput::new(&[("semantic", 0.2)], &far)).unwrap();
    assert!((first.reward - (0.2 + 0.8 * 5.0 * 0.2)).abs() < 1e-12, "{}", first.reward);
    let second = syn.step(0, &StepInput::new(&[("semantic", 0.6)], &far)).unwrap();
    assert!((second.reward - 5.0 * (0.6 - 0.2)).abs() < 1e-12, "{}", second.reward);
    let held = syn.step(0, &StepInput::new(&[("semantic", 0.6)], &far)).unwrap();
    assert!(held.reward.abs() < 1e-12, "holding a score pays nothing more: {}", held.reward);
}

#[test]
fn cartpole_vlmrm_reward_is_the_semantic_score() {
    let mut syn = Synthesizer::new(RewardSpec::builtin("cartpole_vlmrm").unwrap(), 1);
    let inf = info(json!({"x": 0.0, "x_dot": 0.0, "theta": 0.0, "theta_dot": 0.0}));
    let e = syn.step(0, &StepInput::new(&[("semantic", 0.42)], &inf)).unwrap();
    assert_eq!(e.reward, 0.42);
    assert_eq!(e.terms().collect::<Vec<_>>(), [("r_sem", 0.42)]);
}

#[test]
fn navigation_semantic_reward_is_a_cost_set_by_the_score_alone() {
    let spec = RewardSpec::builtin("navigation_semantic").unwrap();
    assert!(spec.state_quantities().is_empty(), "no privileged state term: {:?}", spec.state_quantities());
    let mut syn = Synthesizer::new(spec, 1);
    let inf = info(json!({"distance_to_goal": 3.0}));
    for (score, want) in [(0.0, -0.105), (0.5, -0.055), (1.0, -0.005)] {
        let e = syn.step(0, &StepInput::new(&[("semantic", score)], &inf)).unwrap();
        assert!((e.reward - want).abs() < 1e-12, "score {score}: {}", e.reward);
    }
}

//! Observation and action spaces (Gymnasium's `Box`, `Discrete`, `MultiDiscrete`, `Dict`)
//! and the values that live in them.
//!
//! Box values are `f32`, like the `float32` boxes of Gymnasium's environments. Every space
//! flattens to a flat `f32` vector (Discrete one-hot, as `gymnasium.spaces.flatten` does),
//! which is how vector envs gather observations into one contiguous batch.

use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use serde_json::Value as Json;

use crate::error::{EnvError, Result};

/// A point in a [`Space`]: an observation or an action.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An element of a [`BoxSpace`], row-major.
    Box(Vec<f32>),
    /// An element of a [`Discrete`] space.
    Discrete(i64),
    /// An element of a [`MultiDiscrete`] space.
    MultiDiscrete(Vec<i64>),
    /// An element of a [`DictSpace`], keyed like the space.
    Dict(BTreeMap<String, Value>),
}

impl Value {
    /// The Box data, if this is a Box value.
    pub fn as_box(&self) -> Option<&[f32]> {
        match self {
            Value::Box(v) => Some(v),
            _ => None,
        }
    }

    /// The integer, if this is a Discrete value.
    pub fn as_discrete(&self) -> Option<i64> {
        match self {
            Value::Discrete(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as JSON: a number for Discrete, an array for Box and MultiDiscrete, an
    /// object for Dict.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Box(v) => Json::from(v.iter().map(|x| json_f32(*x)).collect::<Vec<_>>()),
            Value::Discrete(v) => Json::from(*v),
            Value::MultiDiscrete(v) => Json::from(v.clone()),
            Value::Dict(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

/// JSON has no NaN or infinity: write them as strings so a bad value is still visible.
fn json_f32(x: f32) -> Json {
    if x.is_finite() {
        // Through the shortest decimal that round-trips the f32, not its f64 widening.
        Json::from(x.to_string().parse::<f64>().unwrap_or(x as f64))
    } else {
        Json::from(x.to_string())
    }
}

/// A box in R^n: every element `i` lies in `[low[i], high[i]]` (bounds may be infinite).
#[derive(Clone, Debug, PartialEq)]
pub struct BoxSpace {
    shape: Vec<usize>,
    low: Vec<f32>,
    high: Vec<f32>,
}

impl BoxSpace {
    /// A box with per-element bounds; `low`, `high` and `shape` must agree and `low <= high`.
    pub fn new(low: Vec<f32>, high: Vec<f32>, shape: Vec<usize>) -> Result<Self> {
        let n: usize = shape.iter().product();
        let bad = |reason: String| EnvError::SpaceMismatch { space: "Box".into(), reason };
        if low.len() != n || high.len() != n {
            return Err(bad(format!(
                "shape {shape:?} has {n} elements but low has {} and high {}",
                low.len(),
                high.len()
            )));
        }
        for (i, (l, h)) in low.iter().zip(&high).enumerate() {
            if l.is_nan() || h.is_nan() || l > h {
                return Err(bad(format!("bound {i} is [{l}, {h}]: low must be <= high and not NaN")));
            }
        }
        Ok(BoxSpace { shape, low, high })
    }

    /// A box with the same bounds for every element.
    pub fn uniform(low: f32, high: f32, shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        BoxSpace::new(vec![low; n], vec![high; n], shape).expect("uniform box bounds are valid")
    }

    /// A 1-D box from per-element bounds.
    pub fn from_bounds(low: Vec<f32>, high: Vec<f32>) -> Result<Self> {
        let n = low.len();
        BoxSpace::new(low, high, vec![n])
    }

    /// The shape, e.g. `[4]` or `[3, 84, 84]`.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Lower bounds, one per element.
    pub fn low(&self) -> &[f32] {
        &self.low
    }

    /// Upper bounds, one per element.
    pub fn high(&self) -> &[f32] {
        &self.high
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.low.len()
    }

    /// True for a box with no elements.
    pub fn is_empty(&self) -> bool {
        self.low.is_empty()
    }

    /// True when every bound is finite.
    pub fn is_bounded(&self) -> bool {
        self.low.iter().chain(&self.high).all(|x| x.is_finite())
    }
}

/// The integers `start, start + 1, ..., start + n - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Discrete {
    /// Number of elements (> 0).
    pub n: i64,
    /// The smallest element.
    pub start: i64,
}

impl Discrete {
    /// `Discrete(n)`, starting at 0.
    pub fn new(n: i64) -> Self {
        assert!(n > 0, "Discrete needs n > 0");
        Discrete { n, start: 0 }
    }
}

/// A vector of independent discrete choices, element `i` in `0..nvec[i]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiDiscrete {
    /// Number of choices of each element (each > 0).
    pub nvec: Vec<i64>,
}

/// A dictionary of named sub-spaces, ordered by key.
#[derive(Clone, Debug, PartialEq)]
pub struct DictSpace {
    /// The sub-spaces.
    pub spaces: BTreeMap<String, Space>,
}

/// An observation or action space.
#[derive(Clone, Debug, PartialEq)]
pub enum Space {
    /// Continuous box.
    Box(BoxSpace),
    /// Finite set of integers.
    Discrete(Discrete),
    /// Vector of finite sets.
    MultiDiscrete(MultiDiscrete),
    /// Named sub-spaces.
    Dict(DictSpace),
}

impl fmt::Display for Space {
    /// Gymnasium's repr: `Box(-2.0, 2.0, (1,), float32)`, `Discrete(3)`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Space::Box(b) => {
                let bound = |v: &[f32]| -> String {
                    match v.first() {
                        Some(first) if v.iter().all(|x| x == first) => fmt_f32(*first),
                        _ => format!("[{}]", v.iter().map(|x| fmt_f32(*x)).collect::<Vec<_>>().join(" ")),
                    }
                };
                let shape = match b.shape.as_slice() {
                    [n] => format!("({n},)"),
                    s => format!("({})", s.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")),
                };
                write!(f, "Box({}, {}, {shape}, float32)", bound(&b.low), bound(&b.high))
            }
            Space::Discrete(d) if d.start == 0 => write!(f, "Discrete({})", d.n),
            Space::Discrete(d) => write!(f, "Discrete({}, start={})", d.n, d.start),
            Space::MultiDiscrete(m) => write!(f, "MultiDiscrete({:?})", m.nvec),
            Space::Dict(d) => {
                write!(f, "Dict(")?;
                for (i, (k, s)) in d.spaces.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "'{k}': {s}")?;
                }
                write!(f, ")")
            }
        }
    }
}

fn fmt_f32(x: f32) -> String {
    if x == f32::MAX {
        "3.4028235e+38".into()
    } else if x == f32::MIN {
        "-3.4028235e+38".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if x.fract() == 0.0 && x.abs() < 1e6 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

impl Space {
    /// Draws a random element, as Gymnasium does: uniform on bounded Box dimensions,
    /// shifted exponential on half-bounded ones, standard normal on unbounded ones.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Value {
        match self {
            Space::Box(b) => Value::Box(
                b.low
                    .iter()
                    .zip(&b.high)
                    .map(|(&l, &h)| match (l.is_finite(), h.is_finite()) {
                        (true, true) if l == h => l,
                        (true, true) => {
                            // Sample in f64 so that huge ranges (e.g. +-f32::MAX) stay finite.
                            let x = l as f64 + (h as f64 - l as f64) * rng.random::<f64>();
                            (x as f32).clamp(l, h)
                        }
                        (true, false) => l + Distribution::<f32>::sample(&Exp1, rng),
                        (false, true) => h - Distribution::<f32>::sample(&Exp1, rng),
                        (false, false) => StandardNormal.sample(rng),
                    })
                    .collect(),
            ),
            Space::Discrete(d) => Value::Discrete(d.start + rng.random_range(0..d.n)),
            Space::MultiDiscrete(m) => Value::MultiDiscrete(m.nvec.iter().map(|&n| rng.random_range(0..n)).collect()),
            Space::Dict(d) => Value::Dict(d.spaces.iter().map(|(k, s)| (k.clone(), s.sample(rng))).collect()),
        }
    }

    /// True when `value` is an element of the space (right kind, shape, within bounds,
    /// not NaN).
    pub fn contains(&self, value: &Value) -> bool {
        self.why_not_contained(value, true).is_none()
    }

    /// Checks an action before an env uses it: right kind and shape, finite, and for
    /// discrete spaces within range. Box actions outside their bounds are accepted (envs
    /// clip them, as Gymnasium's do); NaN and infinity are not.
    pub fn check_action(&self, action: &Value) -> Result<()> {
        match self.why_not_contained(action, false) {
            None => Ok(()),
            Some(reason) => Err(EnvError::InvalidAction { space: self.to_string(), reason }),
        }
    }

    fn why_not_contained(&self, value: &Value, check_box_bounds: bool) -> Option<String> {
        match (self, value) {
            (Space::Box(b), Value::Box(v)) => {
                if v.len() != b.len() {
                    return Some(format!("expected {} elements (shape {:?}), got {}", b.len(), b.shape, v.len()));
                }
                for (i, x) in v.iter().enumerate() {
                    if x.is_nan() {
                        return Some(format!("element {i} is NaN"));
                    }
                    if check_box_bounds {
                        if *x < b.low[i] || *x > b.high[i] {
                            return Some(format!("element {i} = {x} is outside [{}, {}]", b.low[i], b.high[i]));
                        }
                    } else if x.is_infinite() {
                        return Some(format!("element {i} is infinite"));
                    }
                }
                None
            }
            (Space::Discrete(d), Value::Discrete(x)) => {
                if *x < d.start || *x >= d.start + d.n {
                    Some(format!("{x} is not in {}..{}", d.start, d.start + d.n))
                } else {
                    None
                }
            }
            (Space::MultiDiscrete(m), Value::MultiDiscrete(v)) => {
                if v.len() != m.nvec.len() {
                    return Some(format!("expected {} elements, got {}", m.nvec.len(), v.len()));
                }
                v.iter()
                    .zip(&m.nvec)
                    .enumerate()
                    .find(|(_, (x, n))| **x < 0 || *x >= *n)
                    .map(|(i, (x, n))| format!("element {i} = {x} is not in 0..{n}"))
            }
            (Space::Dict(d), Value::Dict(m)) => {
                if let Some(k) = d.spaces.keys().find(|k| !m.contains_key(*k)) {
                    return Some(format!("missing key `{k}`"));
                }
                if let Some(k) = m.keys().find(|k| !d.spaces.contains_key(*k)) {
                    return Some(format!("unexpected key `{k}`"));
                }
                d.spaces
                    .iter()
                    .find_map(|(k, s)| s.why_not_contained(&m[k], check_box_bounds).map(|r| format!("key `{k}`: {r}")))
            }
            (space, value) => Some(format!("expected a {} value, got {}", space.kind(), value_kind(value))),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Space::Box(_) => "Box",
            Space::Discrete(_) => "Discrete",
            Space::MultiDiscrete(_) => "MultiDiscrete",
            Space::Dict(_) => "Dict",
        }
    }

    /// Length of the flattened vector (`gymnasium.spaces.flatdim`).
    pub fn flatdim(&self) -> usize {
        match self {
            Space::Box(b) => b.len(),
            Space::Discrete(d) => d.n as usize,
            Space::MultiDiscrete(m) => m.nvec.iter().map(|&n| n as usize).sum(),
            Space::Dict(d) => d.spaces.values().map(Space::flatdim).sum(),
        }
    }

    /// Writes the flattened value into `out` (length [`Space::flatdim`]): Box as is,
    /// Discrete one-hot, MultiDiscrete concatenated one-hots, Dict in key order.
    pub fn flatten_into(&self, value: &Value, out: &mut [f32]) -> Result<()> {
        if out.len() != self.flatdim() {
            return Err(self.mismatch(format!("output has {} slots, flatdim is {}", out.len(), self.flatdim())));
        }
        match (self, value) {
            (Space::Box(b), Value::Box(v)) if v.len() == b.len() => out.copy_from_slice(v),
            (Space::Discrete(d), Value::Discrete(x)) if (d.start..d.start + d.n).contains(x) => {
                out.fill(0.0);
                out[(x - d.start) as usize] = 1.0;
            }
            (Space::MultiDiscrete(m), Value::MultiDiscrete(v)) if v.len() == m.nvec.len() => {
                out.fill(0.0);
                let mut offset = 0;
                for (x, n) in v.iter().zip(&m.nvec) {
                    if *x < 0 || x >= n {
                        return Err(self.mismatch(format!("element {x} is not in 0..{n}")));
                    }
                    out[offset + *x as usize] = 1.0;
                    offset += *n as usize;
                }
            }
            (Space::Dict(d), Value::Dict(m)) => {
                let mut offset = 0;
                for (k, s) in &d.spaces {
                    let v = m.get(k).ok_or_else(|| self.mismatch(format!("missing key `{k}`")))?;
                    let n = s.flatdim();
                    s.flatten_into(v, &mut out[offset..offset + n])?;
                    offset += n;
                }
            }
            (_, v) => return Err(self.mismatch(format!("cannot flatten a {} value of this size", value_kind(v)))),
        }
        Ok(())
    }

    /// The flattened value (`gymnasium.spaces.flatten`).
    pub fn flatten(&self, value: &Value) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.flatdim()];
        self.flatten_into(value, &mut out)?;
        Ok(out)
    }

    /// The inverse of [`Space::flatten`] (`gymnasium.spaces.unflatten`); a one-hot block
    /// decodes to the index of its largest entry.
    pub fn unflatten(&self, flat: &[f32]) -> Result<Value> {
        if flat.len() != self.flatdim() {
            return Err(self.mismatch(format!("expected {} numbers, got {}", self.flatdim(), flat.len())));
        }
        let argmax = |xs: &[f32]| -> i64 {
            let mut best = 0;
            for (i, x) in xs.iter().enumerate() {
                if *x > xs[best] {
                    best = i;
                }
            }
            best as i64
        };
        Ok(match self {
            Space::Box(_) => Value::Box(flat.to_vec()),
            Space::Discrete(d) => Value::Discrete(d.start + argmax(flat)),
            Space::MultiDiscrete(m) => {
                let mut offset = 0;
                let mut v = Vec::with_capacity(m.nvec.len());
                for &n in &m.nvec {
                    v.push(argmax(&flat[offset..offset + n as usize]));
                    offset += n as usize;
                }
                Value::MultiDiscrete(v)
            }
            Space::Dict(d) => {
                let mut offset = 0;
                let mut m = BTreeMap::new();
                for (k, s) in &d.spaces {
                    let n = s.flatdim();
                    m.insert(k.clone(), s.unflatten(&flat[offset..offset + n])?);
                    offset += n;
                }
                Value::Dict(m)
            }
        })
    }

    /// Reads a value of this space from JSON: a number for Discrete (also `[n]`), an
    /// array for Box (a bare number for a one-element Box) and MultiDiscrete, an object
    /// for Dict.
    pub fn value_from_json(&self, json: &Json) -> Result<Value> {
        let bad = |reason: String| self.mismatch(reason);
        match self {
            Space::Box(b) => {
                let nums: Vec<f32> = match json {
                    Json::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN) as f32],
                    Json::Array(a) => a
                        .iter()
                        .map(|x| x.as_f64().map(|f| f as f32).ok_or_else(|| bad(format!("`{x}` is not a number"))))
                        .collect::<Result<_>>()?,
                    other => return Err(bad(format!("expected an array of numbers, got `{other}`"))),
                };
                if nums.len() != b.len() {
                    return Err(bad(format!("expected {} numbers, got {}", b.len(), nums.len())));
                }
                Ok(Value::Box(nums))
            }
            Space::Discrete(_) => {
                let x = match json {
                    Json::Array(a) if a.len() == 1 => &a[0],
                    x => x,
                };
                x.as_i64().map(Value::Discrete).ok_or_else(|| bad(format!("expected an integer, got `{json}`")))
            }
            Space::MultiDiscrete(m) => {
                let a = json.as_array().ok_or_else(|| bad(format!("expected an array of integers, got `{json}`")))?;
                let v: Vec<i64> = a
                    .iter()
                    .map(|x| x.as_i64().ok_or_else(|| bad(format!("`{x}` is not an integer"))))
                    .collect::<Result<_>>()?;
                if v.len() != m.nvec.len() {
                    return Err(bad(format!("expected {} integers, got {}", m.nvec.len(), v.len())));
                }
                Ok(Value::MultiDiscrete(v))
            }
            Space::Dict(d) => {
                let o = json.as_object().ok_or_else(|| bad(format!("expected an object, got `{json}`")))?;
                let mut m = BTreeMap::new();
                for (k, s) in &d.spaces {
                    let v = o.get(k).ok_or_else(|| bad(format!("missing key `{k}`")))?;
                    m.insert(k.clone(), s.value_from_json(v)?);
                }
                if let Some(k) = o.keys().find(|k| !d.spaces.contains_key(*k)) {
                    return Err(bad(format!("unexpected key `{k}`")));
                }
                Ok(Value::Dict(m))
            }
        }
    }

    fn mismatch(&self, reason: String) -> EnvError {
        EnvError::SpaceMismatch { space: self.to_string(), reason }
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Box(_) => "Box",
        Value::Discrete(_) => "Discrete",
        Value::MultiDiscrete(_) => "MultiDiscrete",
        Value::Dict(_) => "Dict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn dict() -> Space {
        let mut spaces = BTreeMap::new();
        spaces.insert("pos".to_string(), Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![2])));
        spaces.insert("gear".to_string(), Space::Discrete(Discrete { n: 3, start: 1 }));
        spaces.insert("lights".to_string(), Space::MultiDiscrete(MultiDiscrete { nvec: vec![2, 4] }));
        Space::Dict(DictSpace { spaces })
    }

    #[test]
    fn samples_are_contained_and_seeded() {
        let spaces = [
            dict(),
            Space::Box(
                BoxSpace::from_bounds(
                    vec![f32::NEG_INFINITY, 0.0, -f32::MAX],
                    vec![f32::INFINITY, f32::INFINITY, f32::MAX],
                )
                .unwrap(),
            ),
            Space::Box(BoxSpace::from_bounds(vec![f32::NEG_INFINITY], vec![5.0]).unwrap()),
        ];
        for space in &spaces {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let a: Vec<Value> = (0..500).map(|_| space.sample(&mut rng)).collect();
            assert!(a.iter().all(|v| space.contains(v)), "{space}");
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let b: Vec<Value> = (0..500).map(|_| space.sample(&mut rng)).collect();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn flatten_round_trips_with_one_hot_discrete() {
        let space = dict();
        assert_eq!(space.flatdim(), 3 + 2 + 2 + 4);
        let mut m = BTreeMap::new();
        m.insert("pos".to_string(), Value::Box(vec![0.5, -0.25]));
        m.insert("gear".to_string(), Value::Discrete(2));
        m.insert("lights".to_string(), Value::MultiDiscrete(vec![1, 3]));
        let v = Value::Dict(m);
        let flat = space.flatten(&v).unwrap();
        // keys in order: gear, lights, pos
        assert_eq!(flat, vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.5, -0.25]);
        assert_eq!(space.unflatten(&flat).unwrap(), v);
    }

    #[test]
    fn contains_rejects_wrong_shape_bounds_nan_and_kind() {
        let b = Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![2]));
        assert!(b.contains(&Value::Box(vec![1.0, -1.0])));
        assert!(!b.contains(&Value::Box(vec![1.5, 0.0])));
        assert!(!b.contains(&Value::Box(vec![0.0])));
        assert!(!b.contains(&Value::Box(vec![f32::NAN, 0.0])));
        assert!(!b.contains(&Value::Discrete(0)));
        // Actions outside the bounds are clipped by envs, but NaN is an error.
        assert!(b.check_action(&Value::Box(vec![3.0, 0.0])).is_ok());
        let err = b.check_action(&Value::Box(vec![f32::NAN, 0.0])).unwrap_err().to_string();
        assert_eq!(err, "invalid action for Box(-1.0, 1.0, (2,), float32): element 0 is NaN");
        let d = Space::Discrete(Discrete::new(2));
        let err = d.check_action(&Value::Discrete(2)).unwrap_err().to_string();
        assert_eq!(err, "invalid action for Discrete(2): 2 is not in 0..2");
    }

    #[test]
    fn json_round_trip_and_errors() {
        let space = dict();
        let json: Json = serde_json::json!({"pos": [0.5, -0.25], "gear": 3, "lights": [0, 2]});
        let v = space.value_from_json(&json).unwrap();
        assert_eq!(v.to_json(), json);
        let err = space.value_from_json(&serde_json::json!({"pos": [0.5], "gear": 3, "lights": [0, 2]})).unwrap_err();
        assert!(err.to_string().contains("expected 2 numbers, got 1"), "{err}");
        assert!(BoxSpace::new(vec![1.0], vec![0.0], vec![1]).is_err());
    }

    #[test]
    fn display_matches_gymnasium() {
        assert_eq!(Space::Box(BoxSpace::uniform(-2.0, 2.0, vec![1])).to_string(), "Box(-2.0, 2.0, (1,), float32)");
        assert_eq!(Space::Discrete(Discrete::new(3)).to_string(), "Discrete(3)");
        let b = BoxSpace::from_bounds(vec![-1.2, -0.07], vec![0.6, 0.07]).unwrap();
        assert_eq!(Space::Box(b).to_string(), "Box([-1.2 -0.07], [0.6 0.07], (2,), float32)");
    }
}

//! Action wrappers: clipping and affine rescaling of Box actions.

use super::{inner_accessors, require_box, Wrapper};
use crate::env::{Env, Step};
use crate::error::{EnvError, Result};
use crate::spaces::{BoxSpace, Space, Value};

/// Clips Box actions into the env's bounds; the exposed action space is unbounded
/// (Gymnasium's `ClipAction`).
pub struct ClipAction<E> {
    env: E,
    bounds: BoxSpace,
    action_space: Space,
}

impl<E: Env> ClipAction<E> {
    /// Wraps an env with a Box action space.
    pub fn new(env: E) -> Result<Self> {
        let bounds = require_box(env.action_space(), "ClipAction", "action")?.clone();
        let action_space = Space::Box(BoxSpace::uniform(f32::NEG_INFINITY, f32::INFINITY, bounds.shape().to_vec()));
        Ok(ClipAction { env, bounds, action_space })
    }

    inner_accessors!();
}

impl<E: Env> Wrapper for ClipAction<E> {
    inner_accessors!(Wrapper);

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        self.action_space.check_action(action)?;
        let Value::Box(a) = action else { unreachable!("checked above") };
        let clipped = a.iter().enumerate().map(|(i, x)| x.clamp(self.bounds.low()[i], self.bounds.high()[i])).collect();
        self.env.step(&Value::Box(clipped))
    }
}
crate::impl_env_for_wrapper!(ClipAction);

/// Exposes the Box action space as `[min_action, max_action]` and maps actions affinely
/// onto the env's bounds (Gymnasium's `RescaleAction`).
pub struct RescaleAction<E> {
    env: E,
    gradient: Vec<f64>,
    intercept: Vec<f64>,
    action_space: Space,
}

impl<E: Env> RescaleAction<E> {
    /// Wraps an env whose Box action space is bounded; `min_action < max_action`.
    pub fn new(env: E, min_action: f32, max_action: f32) -> Result<Self> {
        let b = require_box(env.action_space(), "RescaleAction", "action")?.clone();
        if !b.is_bounded() {
            return Err(EnvError::SpaceMismatch {
                space: env.action_space().to_string(),
                reason: "RescaleAction needs finite action bounds".into(),
            });
        }
        if min_action.is_nan() || max_action.is_nan() || min_action >= max_action {
            return Err(EnvError::kwarg(
                "min_action",
                format!("must be below max_action, got [{min_action}, {max_action}]"),
            ));
        }
        let (lo, hi) = (min_action as f64, max_action as f64);
        let gradient: Vec<f64> =
            b.low().iter().zip(b.high()).map(|(&l, &h)| (h as f64 - l as f64) / (hi - lo)).collect();
        let intercept = gradient.iter().zip(b.low()).map(|(g, &l)| g * -lo + l as f64).collect();
        let action_space = Space::Box(BoxSpace::uniform(min_action, max_action, b.shape().to_vec()));
        Ok(RescaleAction { env, gradient, intercept, action_space })
    }

    inner_accessors!();
}

impl<E: Env> Wrapper for RescaleAction<E> {
    inner_accessors!(Wrapper);

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        self.action_space.check_action(action)?;
        let Value::Box(a) = action else { unreachable!("checked above") };
        let mapped =
            a.iter().enumerate().map(|(i, &x)| (self.gradient[i] * x as f64 + self.intercept[i]) as f32).collect();
        self.env.step(&Value::Box(mapped))
    }

    /// The inner env's expert action, mapped back into `[min_action, max_action]`.
    fn expert_action(&self) -> Result<Option<Value>> {
        Ok(self.env.expert_action()?.map(|v| match v {
            Value::Box(a) => Value::Box(
                a.iter()
                    .enumerate()
                    .map(|(i, &x)| ((x as f64 - self.intercept[i]) / self.gradient[i]) as f32)
                    .collect(),
            ),
            other => other,
        }))
    }
}
crate::impl_env_for_wrapper!(RescaleAction);

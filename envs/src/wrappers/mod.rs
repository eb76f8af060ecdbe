//! Wrappers that compose around any [`Env`], after Gymnasium 1.x's.
//!
//! Each holds its inner env by value, so they nest (`TimeLimit<NormalizeObservation<E>>`)
//! and also wrap a `Box<dyn Env>`. `inner()` / `inner_mut()` reach the wrapped env.
//!
//! Every wrapper is built on [`Wrapper`], the base trait after `gymnasium.Wrapper`: its
//! methods mirror [`Env`]'s and by default pass straight through to the inner env, so a
//! wrapper implements only what it changes. To write a new one, hold the inner env in a
//! field, implement [`Wrapper`] with `type Inner`, `inner()`, `inner_mut()` and the
//! methods you change (say `step`, or `observation_space` plus `reset` and `step` when the
//! observations change), then turn it into an [`Env`] with
//! [`impl_env_for_wrapper!`](crate::impl_env_for_wrapper) (`impl_env_for_wrapper!(MyWrapper)`
//! for a `MyWrapper<E>` over any `E: Env`). `close`, `scene`, `captions` and
//! `expert_action` then reach the inner env untouched (an action-changing wrapper such as
//! `RescaleAction` maps the expert's action into its own space), so a stack of wrappers
//! still draws, captions and solves the env at its core. The macro stands in for a blanket `impl<W: Wrapper> Env for W`, which Rust's
//! coherence rules refuse next to `impl<E: Env + ?Sized> Env for Box<E>` (another crate
//! could implement `Wrapper` for `Box<ItsOwnType>`). With both traits in scope, call a
//! wrapper's env methods as `Env::step(&mut w, ..)`: the two traits share method names.

mod action;
mod episode;
mod frame_stack;
mod normalize;
mod transform;

pub use action::{ClipAction, RescaleAction};
pub use episode::{EpisodeStats, RecordEpisodeStatistics, TimeLimit};
pub use frame_stack::FrameStack;
pub use normalize::{NormalizeObservation, NormalizeReward, RunningMeanStd};
pub use transform::{TransformObservation, TransformReward};

use crate::env::{Env, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::scene::{Caption, Scene};
use crate::spaces::{BoxSpace, Space, Value};

/// The base of every wrapper, after Gymnasium's `gymnasium.Wrapper`: an env around an
/// inner env whose methods, unless overridden, pass straight through to the inner env.
///
/// Implement it, then [`impl_env_for_wrapper!`](crate::impl_env_for_wrapper) to get the
/// [`Env`] that calls these methods (see the [module doc](self)).
pub trait Wrapper: Send {
    /// The wrapped env.
    type Inner: Env;

    /// The wrapped env.
    fn inner(&self) -> &Self::Inner;

    /// The wrapped env, mutably.
    fn inner_mut(&mut self) -> &mut Self::Inner;

    /// [`Env::observation_space`]; the inner env's unless overridden.
    fn observation_space(&self) -> &Space {
        self.inner().observation_space()
    }

    /// [`Env::action_space`]; the inner env's unless overridden.
    fn action_space(&self) -> &Space {
        self.inner().action_space()
    }

    /// [`Env::reset`]; resets the inner env unless overridden.
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        self.inner_mut().reset(seed, options)
    }

    /// [`Env::step`]; steps the inner env unless overridden.
    fn step(&mut self, action: &Value) -> Result<Step> {
        self.inner_mut().step(action)
    }

    /// [`Env::close`]; closes the inner env unless overridden.
    fn close(&mut self) {
        self.inner_mut().close()
    }

    /// [`Env::scene`]; the inner env's unless overridden.
    fn scene(&self) -> Option<Scene> {
        self.inner().scene()
    }

    /// [`Env::captions`]; the inner env's unless overridden.
    fn captions(&self) -> Vec<Caption> {
        self.inner().captions()
    }

    /// [`Env::expert_action`]; the inner env's unless overridden (a wrapper that changes
    /// the action space maps it into its own).
    fn expert_action(&self) -> Result<Option<Value>> {
        self.inner().expert_action()
    }
}

/// Implements [`Env`](crate::Env) for types that implement
/// [`Wrapper`](crate::wrappers::Wrapper), each `Env` method calling the `Wrapper` one.
///
/// `impl_env_for_wrapper!(A, B)` covers `A<E>` and `B<E>` for every `E: Env`;
/// `impl_env_for_wrapper!([generics] Type)` covers any other shape, e.g.
/// `impl_env_for_wrapper!([E: Env, F: Fn(f64) -> f64 + Send] MyWrapper<E, F>)` or
/// `impl_env_for_wrapper!([] MyCartPoleWrapper)`.
///
/// ```
/// use vlmgym_envs::wrappers::Wrapper;
/// use vlmgym_envs::{impl_env_for_wrapper, make, Env, Options, Result, Step, Value};
///
/// /// Doubles every reward; everything else passes through.
/// struct DoubleReward<E>(E);
///
/// impl<E: Env> Wrapper for DoubleReward<E> {
///     type Inner = E;
///     fn inner(&self) -> &E {
///         &self.0
///     }
///     fn inner_mut(&mut self) -> &mut E {
///         &mut self.0
///     }
///     fn step(&mut self, action: &Value) -> Result<Step> {
///         let mut step = self.0.step(action)?;
///         step.reward *= 2.0;
///         Ok(step)
///     }
/// }
/// impl_env_for_wrapper!(DoubleReward);
///
/// let mut env = DoubleReward(make("CartPole-v1").unwrap());
/// Env::reset(&mut env, Some(0), &Options::new()).unwrap();
/// assert_eq!(Env::step(&mut env, &Value::Discrete(0)).unwrap().reward, 2.0);
/// assert!(Env::scene(&env).is_some(), "the scene passes through");
/// ```
#[macro_export]
macro_rules! impl_env_for_wrapper {
    ([$($generics:tt)*] $ty:ty) => {
        impl<$($generics)*> $crate::env::Env for $ty {
            fn observation_space(&self) -> &$crate::spaces::Space {
                <Self as $crate::wrappers::Wrapper>::observation_space(self)
            }
            fn action_space(&self) -> &$crate::spaces::Space {
                <Self as $crate::wrappers::Wrapper>::action_space(self)
            }
            fn reset(
                &mut self,
                seed: ::core::option::Option<u64>,
                options: &$crate::env::Options,
            ) -> $crate::error::Result<($crate::spaces::Value, $crate::env::Info)> {
                <Self as $crate::wrappers::Wrapper>::reset(self, seed, options)
            }
            fn step(&mut self, action: &$crate::spaces::Value) -> $crate::error::Result<$crate::env::Step> {
                <Self as $crate::wrappers::Wrapper>::step(self, action)
            }
            fn close(&mut self) {
                <Self as $crate::wrappers::Wrapper>::close(self)
            }
            fn scene(&self) -> ::core::option::Option<$crate::scene::Scene> {
                <Self as $crate::wrappers::Wrapper>::scene(self)
            }
            fn captions(&self) -> ::std::vec::Vec<$crate::scene::Caption> {
                <Self as $crate::wrappers::Wrapper>::captions(self)
            }
            fn expert_action(
                &self,
            ) -> $crate::error::Result<::core::option::Option<$crate::spaces::Value>> {
                <Self as $crate::wrappers::Wrapper>::expert_action(self)
            }
        }
    };
    ($($name:ident),+ $(,)?) => {
        $($crate::impl_env_for_wrapper!([E: $crate::env::Env] $name<E>);)+
    };
}

/// The Box of a space, or an error naming the wrapper that needs one.
fn require_box<'a>(space: &'a Space, wrapper: &str, what: &str) -> Result<&'a BoxSpace> {
    match space {
        Space::Box(b) => Ok(b),
        other => Err(EnvError::SpaceMismatch {
            space: other.to_string(),
            reason: format!("{wrapper} needs a Box {what} space"),
        }),
    }
}

/// The accessors every wrapper shares: the inherent `inner`, `inner_mut` and
/// `into_inner`, and `Wrapper`'s `Inner`, `inner` and `inner_mut`, over the field `env`.
macro_rules! inner_accessors {
    () => {
        /// The wrapped env.
        pub fn inner(&self) -> &E {
            &self.env
        }

        /// The wrapped env, mutably.
        pub fn inner_mut(&mut self) -> &mut E {
            &mut self.env
        }

        /// Unwraps one layer.
        pub fn into_inner(self) -> E {
            self.env
        }
    };
    (Wrapper) => {
        type Inner = E;

        fn inner(&self) -> &E {
            &self.env
        }

        fn inner_mut(&mut self) -> &mut E {
            &mut self.env
        }
    };
}
use inner_accessors;

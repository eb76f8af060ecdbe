//! Wrappers that compose around any [`Env`](crate::Env), after Gymnasium 1.x's.
//!
//! Each holds its inner env by value, so they nest (`TimeLimit<NormalizeObservation<E>>`)
//! and also wrap a `Box<dyn Env>`. `inner()` / `inner_mut()` reach the wrapped env.

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

use crate::error::{EnvError, Result};
use crate::spaces::{BoxSpace, Space};

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

/// Forwards the accessors every wrapper shares.
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
}
use inner_accessors;

//! The error type shared by every environment, wrapper and vector env.

use thiserror::Error;

/// Everything that can go wrong when making, resetting or stepping an environment.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EnvError {
    /// `make` was given an id that is not registered.
    #[error("unknown environment id `{id}`{}", did_you_mean(.suggestions))]
    UnknownEnv {
        /// The id that was asked for.
        id: String,
        /// Registered ids that are spelled similarly, best first.
        suggestions: Vec<String>,
    },
    /// `register` was given an id that is already taken.
    #[error("environment id `{0}` is already registered")]
    AlreadyRegistered(String),
    /// An action is not of the shape or kind the action space expects, or is not finite.
    #[error("invalid action for {space}: {reason}")]
    InvalidAction {
        /// The action space, as `Space` displays it.
        space: String,
        /// What is wrong with the action.
        reason: String,
    },
    /// A constructor argument (kwarg) or reset option has the wrong key, type or value.
    #[error("invalid {what} `{key}`: {reason}")]
    InvalidArgument {
        /// "kwarg" or "option".
        what: &'static str,
        /// The offending key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A batch of frames whose bytes do not match its shape (see [`crate::Frames`]).
    #[error("frames: {0}")]
    BadFrames(String),
    /// `step` was called before the first `reset`.
    #[error("cannot call step() before reset(): call reset() first")]
    ResetNeeded,
    /// A value could not be converted to or from a space (wrong length, wrong type).
    #[error("value does not fit {space}: {reason}")]
    SpaceMismatch {
        /// The space, as `Space` displays it.
        space: String,
        /// What does not fit.
        reason: String,
    },
    /// The environment checker found the env breaks the Env contract.
    #[error("environment check failed: {0}")]
    CheckFailed(String),
    /// A tool needs a piece of an env's metadata (see [`crate::metadata`]) that the env
    /// does not declare.
    #[error("{id} does not declare {what}, which {needed_for} needs")]
    MissingMetadata {
        /// The env id.
        id: String,
        /// What is missing.
        what: String,
        /// What needed it.
        needed_for: String,
    },
    /// A wrapper's own work failed (e.g. a vector wrapper that renders frames).
    #[error("{0}")]
    Wrapper(String),
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        "; run `vlmgym list` to see the registered ids".to_string()
    } else {
        format!("; did you mean {}?", suggestions.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "))
    }
}

/// Shorthand for results whose error is [`EnvError`].
pub type Result<T, E = EnvError> = std::result::Result<T, E>;

impl EnvError {
    /// An invalid kwarg.
    pub fn kwarg(key: impl Into<String>, reason: impl Into<String>) -> Self {
        EnvError::InvalidArgument { what: "kwarg", key: key.into(), reason: reason.into() }
    }

    /// An invalid reset option.
    pub fn option(key: impl Into<String>, reason: impl Into<String>) -> Self {
        EnvError::InvalidArgument { what: "option", key: key.into(), reason: reason.into() }
    }
}

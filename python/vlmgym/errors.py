"""The exceptions the Rust side raises, with its messages."""


class VlmgymError(Exception):
    """Base class of every error raised by vlmgym's Rust side."""


class UnknownEnvError(VlmgymError, KeyError):
    """An id that is not registered; the message names close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(VlmgymError, ValueError):
    """A bad action (wrong shape or kind, NaN), kwarg, reset option or argument."""


class ResetNeededError(VlmgymError, RuntimeError):
    """``step`` before the first ``reset``."""

"""User-facing errors.

Every error a user can cause (a bad path, a bad config value, a broken
checkpoint, an unknown plugin) is a :class:`GenkitError`. The CLI prints its
message as one line and exits non-zero; anything else is a bug and keeps its
traceback.
"""


class GenkitError(Exception):
    """An error whose message is meant for the user, as one clear line."""


class ConfigError(GenkitError):
    """A config file or override has an unknown key or a bad value."""


class DataError(GenkitError):
    """A dataset cannot be found, read or used by the chosen model."""


class CheckpointError(GenkitError):
    """A checkpoint file is missing, corrupt, truncated or not genkit's."""


class PluginError(GenkitError):
    """A plugin or a name it should provide is missing or clashes with another."""


class RunNotFoundError(GenkitError):
    """A run target (directory, checkpoint or model name) resolves to nothing."""


class CapabilityError(GenkitError):
    """The model cannot do what was asked (for example: no likelihood, no latent space)."""


class DeviceError(GenkitError):
    """The requested device is not available on this machine."""


class DivergenceError(GenkitError):
    """Training produced a non-finite or exploding loss."""


class GenkitNote(UserWarning):
    """Something the user should know that does not stop the command (a value replaced, an old
    file read without a check it predates); the CLI prints each as one ``note:`` line."""

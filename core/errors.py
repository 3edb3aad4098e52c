"""Exceptions shared by ``core`` and ``models``.

Algorithms turn :class:`DeepProspectError` into ``QgsProcessingException`` with the same
message, so every message must say what is wrong *and* what to do about it.
"""


class DeepProspectError(ValueError):
    """Bad input or an impossible request; the message tells the user how to fix it."""


class MissingDependencyError(DeepProspectError):
    """tensorflow or shap cannot be imported; the message says how to install them."""


class OperationCanceled(Exception):
    """The user pressed Cancel; whatever was being written has been removed."""

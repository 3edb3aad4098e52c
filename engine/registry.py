"""The engine's half of ``catalog``: a choice's ``factory`` ("module:function") resolved to code."""
import importlib

_PACKAGE = __package__.rpartition(".")[0]


def resolve(choice):
    """The function a ``catalog.Choice`` names in its ``factory``, imported on first use."""
    module, _, function = choice.factory.partition(":")
    return getattr(importlib.import_module("." + module, _PACKAGE), function)

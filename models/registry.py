"""Code for the choices of ``catalog``: a ``Choice``'s ``factory`` ("module:function", relative to
the plugin package) imported on first use, the one resolver for every layer that dispatches through the catalog
(architectures, validation schemes, explainers, classification methods). ``core`` may not import
``models``, so the pre-processing chain of ``core/spectral_preprocessing.py`` finds its steps in
its own module, in the catalog's order.
"""
import importlib

# The plugin package (``deepprospect``), which a factory's module path is relative to.
_PACKAGE = __package__.rpartition(".")[0]


def resolve(choice):
    """The function ``choice.factory`` names, e.g. ``models.evaluation:split_at_random``."""
    module_name, function_name = choice.factory.split(":")
    return getattr(importlib.import_module("{}.{}".format(_PACKAGE, module_name)), function_name)

"""Code for the choices of ``catalog``: a ``Choice``'s ``factory`` ("module:function", relative to
the plugin package) imported on first use, for the models that dispatch through the catalog
(architectures, validation schemes). ``engine/registry.py`` does the same for the engine's tasks.
"""
import importlib

# The plugin package (``deepprospect``), which a factory's module path is relative to.
_PACKAGE = __package__.rpartition(".")[0]


def resolve(choice):
    """The function ``choice.factory`` names, e.g. ``models.evaluation:split_at_random``."""
    module_name, function_name = choice.factory.split(":")
    return getattr(importlib.import_module("{}.{}".format(_PACKAGE, module_name)), function_name)

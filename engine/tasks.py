"""The tasks the engine runs for the QGIS front, by name: ``run_task("idw", args, feedback)``.

Each task takes plain JSON arguments (file paths, numbers, strings, lists) and returns plain
outputs; the Processing algorithm of the same name turns QGIS parameters into these arguments
(``processing_provider/``) and the outputs back into Processing outputs. Tasks register
themselves with :func:`task`; the modules that hold them are imported on first use, so a
worker starts in a fraction of a second and imports TensorFlow only for tasks that need it.
"""
import importlib
import sys

from ..core.errors import DeepProspectError

_TASKS = {}
#: Modules whose functions register tasks (imported lazily, on the first request).
_TASK_MODULES = ("evidence_tasks", "modelling_tasks", "spectral_tasks", "inspector_tasks", "export_tasks")


def task(name):
    """Decorator: register ``function(args, feedback) -> dict`` as the task ``name``."""
    def register(function):
        _TASKS[name] = function
        return function
    return register


def run_task(name, args, feedback):
    """Run the task ``name`` with ``args`` (a dict); returns its outputs (a dict)."""
    for module in _TASK_MODULES:
        if name in _TASKS:
            break
        importlib.import_module("{}.{}".format(__package__, module))  # registers its tasks
    if name not in _TASKS:
        raise DeepProspectError("The engine has no task '{}'. Reinstall the plugin: its QGIS part and its "
                                "engine are from different versions.".format(name))
    return _TASKS[name](args, feedback)


@task("ping")
def ping(args, feedback):
    """The engine's versions (and a round trip for the runner's overhead benchmark)."""
    versions = {"python": sys.version.split()[0]}
    for module in args.get("modules", ()):
        try:
            versions[module] = importlib.import_module(module).__version__
        except ImportError:
            versions[module] = None
    return versions

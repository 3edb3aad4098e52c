"""Start the engine worker: ``<engine python> <plugin folder>/engine/worker.py``.

The protocol is described in ``engine/protocol.py``. This file is run as a script, so it first
imports the plugin folder as the package ``deepprospect`` (whatever the folder is called: QGIS
names it after the profile link, a checkout may be called anything), then serves.
"""
import importlib.util
import sys
from pathlib import Path


def _import_as_deepprospect():
    if "deepprospect" in sys.modules:
        return
    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location(
        "deepprospect", root / "__init__.py", submodule_search_locations=[str(root)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["deepprospect"] = module
    spec.loader.exec_module(module)


if __name__ == "__main__":
    _import_as_deepprospect()
    from deepprospect.engine.protocol import serve

    sys.exit(serve())

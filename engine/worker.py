"""Start the engine worker: ``<engine python> <plugin folder>/engine/worker.py``.

The protocol is described in ``engine/protocol.py``. This file is run as a script, so it first
imports the plugin folder as the package ``deepprospect`` (whatever the folder is called: QGIS
names it after the profile link, a checkout may be called anything), then serves.

GDAL's side-car files are off for the whole process (``GDAL_PAM_ENABLED=NO``, set before GDAL is
loaded): reading a user's raster must never write ``.aux.xml`` beside it. Outputs keep their
band names and tags inside the GeoTIFF.
"""
import importlib.util
import os
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
    os.environ["GDAL_PAM_ENABLED"] = "NO"
    _import_as_deepprospect()
    from deepprospect.engine.protocol import serve

    sys.exit(serve())

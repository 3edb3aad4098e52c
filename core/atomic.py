"""Write outputs under a temporary name and move them into place only when complete.

A canceled or failed run must never leave a half-written file under the name the user
asked for (docs/ARCHITECTURE.md, "Conventions").
"""
import contextlib
import os
import shutil
import uuid
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    On any exception (including cancel) the temporary file is removed and ``path`` is left
    as it was before. The temporary name keeps the extension so GDAL picks the driver.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(".{}.{}.partial{}".format(path.stem, uuid.uuid4().hex[:8], path.suffix))
    try:
        yield temporary
        _remove_sidecars(path)
        os.replace(temporary, path)
        for sidecar in _sidecars(temporary):
            os.replace(sidecar, Path(str(path) + sidecar.name[len(temporary.name):]))
    finally:
        if temporary.exists():
            temporary.unlink()
        for sidecar in _sidecars(temporary):
            sidecar.unlink()


@contextlib.contextmanager
def atomic_folder(path):
    """Like :func:`atomic_output` for a folder of files: built aside, then moved into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(".{}.{}.partial".format(path.name, uuid.uuid4().hex[:8]))
    temporary.mkdir()
    try:
        yield temporary
        if path.exists():
            shutil.rmtree(path)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)


def _sidecars(path):
    # GDAL may write statistics (.aux.xml) beside a GeoTIFF; they travel with it.
    return [p for p in path.parent.glob(path.name + ".*") if p.is_file()]


def _remove_sidecars(path):
    for sidecar in path.parent.glob(path.name + ".aux.xml"):
        sidecar.unlink()

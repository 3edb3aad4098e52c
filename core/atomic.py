"""Write outputs under a temporary name and move them into place only when complete.

A canceled or failed run must never leave a half-written file under the name the user
asked for (docs/ARCHITECTURE.md, "Conventions").
"""
import contextlib
import os
import shutil
import uuid
from pathlib import Path

from .errors import DeepProspectError


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


def check_writable(paths):
    """Raise :class:`DeepProspectError` unless every output file in ``paths`` (None skipped) can be
    written: not a folder, its folder writable or creatable. Called before long work (training),
    so a bad path fails in a second, not after the work. The QGIS front checks the same before
    starting the engine; this covers scripts that call the tasks directly.

    Writability is probed by creating and removing a file: ``os.access`` says yes to root even
    for an immutable folder.
    """
    for path in (Path(p) for p in paths if p):
        if path.is_dir():
            raise DeepProspectError("The output {} is an existing folder; give a file name inside it.".format(path))
        folder = path.parent
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
        if not folder.is_dir():
            raise DeepProspectError("The output {} cannot be written: {} is a file, not a folder. Choose another "
                                    "folder.".format(path, folder))
        probe = folder / ".{}.{}.write-test".format(path.name, uuid.uuid4().hex[:8])
        try:
            probe.touch(exist_ok=False)
            probe.unlink()
        except OSError as error:
            raise DeepProspectError("The output {} cannot be written ({}: {}). Choose a folder you can write "
                                    "to.".format(path, folder, error.strerror or error)) from None


def _sidecars(path):
    # GDAL may write statistics (.aux.xml) beside a GeoTIFF; they travel with it.
    return [p for p in path.parent.glob(path.name + ".*") if p.is_file()]


def _remove_sidecars(path):
    for sidecar in path.parent.glob(path.name + ".aux.xml"):
        sidecar.unlink()

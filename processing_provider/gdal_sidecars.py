"""Keep GDAL from writing ``<file>.aux.xml`` beside the user's input rasters.

QGIS computes a raster's statistics when it loads it as a layer (for its default contrast
stretch), and GDAL's PAM stores them in a side-car ``.aux.xml`` beside the file. An algorithm
that only reads its inputs must not leave files in the user's folders, so the layers it loads
are opened with ``GDAL_PAM_ENABLED=NO`` (GDAL reads the environment when it opens a dataset;
datasets already open, e.g. the project's layers, are not affected). The engine process has it
off for its whole life (``engine/worker.py``).
"""
import contextlib
import os

_PAM = "GDAL_PAM_ENABLED"


@contextlib.contextmanager
def no_sidecar_files():
    """GDAL's side-car files off while the ``with`` body loads layers; the setting is restored after."""
    previous = os.environ.get(_PAM)
    os.environ[_PAM] = "NO"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_PAM, None)
        else:
            os.environ[_PAM] = previous

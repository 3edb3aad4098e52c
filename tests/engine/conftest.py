"""Engine test harness: import the checkout as ``deepprospect`` (the package name QGIS gives the
plugin folder) and provide the synthetic province. No QGIS here: these tests run in the engine's
own virtual environment (``$(python3 engine_environment.py python) -m pytest tests/engine``).

Fixtures:
* ``province`` — a 20 × 20 km synthetic province (seed 1), generated once per session;
* ``province_stack`` — the province's ideal 16-factor evidence (``truth_evidence.tif``).
"""
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")


def _import_checkout_as_deepprospect():
    """Put a folder holding a ``deepprospect`` symlink to the checkout first on ``sys.path``
    (whatever the checkout folder is called), unless another harness already did."""
    for entry in sys.path:
        link = Path(entry) / "deepprospect"
        if link.is_symlink() and link.resolve() == ROOT:
            return
    folder = Path(tempfile.mkdtemp(prefix="deepprospect-engine-import-"))
    (folder / "deepprospect").symlink_to(ROOT, target_is_directory=True)
    sys.path.insert(0, str(folder))


_import_checkout_as_deepprospect()


@pytest.fixture(scope="session")
def province(tmp_path_factory):
    """A 20 km synthetic province (seed 1): dict of file paths plus the parsed truth."""
    from deepprospect.core import synthetic

    return synthetic.generate_province(tmp_path_factory.mktemp("province20"), size_km=20, seed=1)


@pytest.fixture(scope="session")
def province_stack(province):
    """Path of the province's noise-free 16-band evidence stack (factor names as band descriptions)."""
    return province["truth_evidence"]


def write_tiled_stack(path, data, factors, tile):
    """Write ``data`` (bands, rows, cols) float32 as a tiled GeoTIFF stack at 250 m in UTM 45N with
    the engine's nodata and ``factors`` as band names; returns the path as a string."""
    import rasterio
    from rasterio.transform import from_origin

    from deepprospect.core.raster import STACK_NODATA

    bands, height, width = data.shape
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=bands, dtype="float32",
                       crs="EPSG:32645", transform=from_origin(500000, 2400000, 250, 250), nodata=STACK_NODATA,
                       tiled=True, blockxsize=tile, blockysize=tile, compress="deflate") as dataset:
        dataset.write(data)
        for index, name in enumerate(factors, start=1):
            dataset.set_band_description(index, name)
    return str(path)


# The ``bad_input`` fixture and its ``-m bad_input`` marker, shared by both suites.
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
from bad_input_log import bad_input, pytest_collection_modifyitems, pytest_configure  # noqa: E402,F401

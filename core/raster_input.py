"""Reading the user's rasters: opened without writing beside them, damaged files named, and one
nodata rule for every reader.

Every engine reader of a raster (stacking, prediction, SHAP, sampling, the inspector, spectral
maps) opens it through :func:`open_raster` and takes its nodata from :func:`raster_nodata`, so
all of them agree on which cells are data.

**Side-car files.** GDAL's PAM writes ``<file>.aux.xml`` beside a raster when statistics,
histograms or metadata are computed on it. Inputs are opened with ``GDAL_PAM_ENABLED=NO``
(and the engine worker sets it for its whole process), so reading never writes beside the
user's files. Outputs keep everything in the GeoTIFF itself (band descriptions and tags go
into its ``GDAL_METADATA`` tag).

**Damaged files.** A GeoTIFF whose tiles or strips point beyond the end of the file (a copy or
download cut short) is refused when it is opened; a read that fails later (a corrupt tile)
raises the same kind of :class:`DeepProspectError` naming the file, never a GDAL traceback.

**Nodata rule.** Per band, in this order:

1. an override given by the user (``deepprospect:stack``'s ``NODATA_VALUES``): a number is the
   nodata value, ``none`` means every finite value is data;
2. the raster's own nodata tag;
3. without a tag, a *sentinel* is detected on the band's values (all of them up to
   :data:`SAMPLE_VALUES`, else an evenly spaced sample, and the cell count is then estimated):

   * a classic sentinel (-9999, -99999, -32768, ±3.4028235e38 or beyond ±1e38) that is the
     band's minimum (or maximum) and lies further from every other value than those values'
     whole range (so a bathymetry reaching -10 000 m keeps its -9999);
   * any other minimum or maximum that lies that far out *and* covers at least
     :data:`MIN_SENTINEL_FRACTION` of the cells, the other values taking at least three
     distinct values (a 0/1 layer keeps its 0);
   * 0 on at least half of the raster's outer ring, where the zero cells connected to the edge
     cover at least :data:`MIN_SENTINEL_FRACTION` of the cells and almost no zero lies elsewhere
     (a survey padded with 0 outside its area).

   A detected sentinel is treated as nodata (the safe behaviour: a sentinel taken as data
   makes a false anomaly) and the log warns, naming the layer, the value and the cell count.

Not-a-number cells are nodata in every case.
"""
import contextlib
import os
import re
from dataclasses import dataclass

import numpy as np

from .errors import DeepProspectError

#: Sentinels written by common software for "no data" when no nodata tag is set.
CLASSIC_SENTINELS = (-9999.0, -99999.0, -32768.0)
#: Values beyond ±this are the float32 extremes used as sentinels (±3.4028235e38).
HUGE_SENTINEL = 1e38
#: "Many cells": the share of a band a non-classic sentinel must cover.
MIN_SENTINEL_FRACTION = 0.01
#: Values read to detect sentinels and class codes (all bands together); more cells are sampled.
SAMPLE_VALUES = 4_000_000
#: A layer with at most this many distinct integer values looks like classes.
MAX_CLASS_CODES = 64
#: What readers of stacks suggest when they find a sentinel (deepprospect:stack has its own override).
READER_FIX = ("Set the file's nodata value to make this explicit (Raster ▸ Conversion ▸ Translate, "
              "'Assign a specified nodata value', or gdal_edit.py -a_nodata), or rebuild it with deepprospect:stack.")

_NO_PAM = dict(GDAL_PAM_ENABLED="NO")
_checked_complete = set()
_detected = {}
_warned = set()


@dataclass(frozen=True)
class BandNodata:
    """The nodata value one band is read with: ``value`` (NaN: none), ``origin`` ("override",
    "tag", "detected" or "none"), and for a detected sentinel the ``cells`` holding it
    (``estimated`` when counted on a sample), the data's range ``low``–``high`` and ``why``."""

    value: float
    origin: str
    cells: int = 0
    estimated: bool = False
    low: float = float("nan")
    high: float = float("nan")
    why: str = ""


def open_raster(path, what="raster"):
    """Open ``path`` read-only (rasterio dataset) without writing side-car files.

    Raises :class:`DeepProspectError` naming ``what`` and the file when it cannot be opened or
    is incomplete (a GeoTIFF whose data goes past the end of the file)."""
    import rasterio

    path = str(path)
    if "://" not in path and not path.startswith("/vsi") and ":" not in path[2:] and not os.path.exists(path):
        raise DeepProspectError("The {} {} does not exist; check the path.".format(what, path))
    try:
        with rasterio.Env(**_NO_PAM):
            dataset = rasterio.open(path)
    except Exception as error:
        raise DeepProspectError(
            "Cannot open the {} {}: it is damaged, incomplete or not a raster GDAL can read ({}). If it was "
            "copied or downloaded, copy it again; otherwise export it again from the program that made it."
            .format(what, path, error))
    try:
        _check_complete(dataset, path)
    except DeepProspectError:
        dataset.close()
        raise
    return dataset


#: GDAL's words for a failed read of the file's bytes (as opposed to, say, a failed reprojection).
_IO_FAILURE = re.compile(r"IReadBlock|TIFF|decompress|deflate|LZW|JPEG|ZSTD|LERC|corrupt|truncat|read error|"
                         r"end of file|short read|cannot read", re.IGNORECASE)


def damaged(path, error):
    """The :class:`DeepProspectError` for a read of ``path`` that failed with ``error``."""
    # rasterio's own text is "Read failed. See previous exception": GDAL's reason is its cause
    reason = error.__cause__ or error
    if not _IO_FAILURE.search(str(reason)):
        return DeepProspectError(
            "GDAL could not read the raster {} ({}). Check that the file opens in QGIS and that its CRS is right; "
            "if it was copied or downloaded, copy it again.".format(path, reason))
    return DeepProspectError(
        "The raster {} is damaged or incomplete: GDAL could not read its data ({}). If it was copied or "
        "downloaded, copy it again; otherwise export it again from the program that made it.".format(path, reason))


@contextlib.contextmanager
def reading(path):
    """Turn a GDAL read error inside the ``with`` body into :func:`damaged`'s error for ``path``."""
    from rasterio.errors import RasterioError

    try:
        yield
    except RasterioError as error:
        raise damaged(path, error) from error


def _check_complete(dataset, path):
    """Raise when a GeoTIFF's tiles or strips end beyond the file (checked once per file version)."""
    key = _file_key(path)
    if dataset.driver != "GTiff" or key[1] is None or key in _checked_complete:
        return
    size = key[1]
    block_rows, block_cols = dataset.block_shapes[0]
    across = -(-dataset.width // block_cols)
    down = -(-dataset.height // block_rows)
    bands = dataset.indexes if dataset.interleaving is not None and dataset.interleaving.name == "band" else [1]
    for band in bands:
        for row in range(down):
            for col in range(across):
                offset = dataset.get_tag_item("BLOCK_OFFSET_{}_{}".format(col, row), "TIFF", bidx=band)
                length = dataset.get_tag_item("BLOCK_SIZE_{}_{}".format(col, row), "TIFF", bidx=band)
                end = int(offset or 0) + int(length or 0)
                if offset and end > size:
                    raise DeepProspectError(
                        "The raster {} is incomplete: the file ends at byte {:,} but its data goes on to byte {:,} "
                        "(a copy or download that stopped early?). Copy it again, or export it again from the "
                        "program that made it.".format(path, size, end))
    _checked_complete.add(key)


def _file_key(path):
    try:
        status = os.stat(path)
    except OSError:
        return str(path), None, None
    return os.path.realpath(path), status.st_size, status.st_mtime_ns


# --------------------------------------------------------------------------------------------- nodata

def band_nodata(dataset, path, override=None):
    """The :class:`BandNodata` of every band of the open ``dataset`` (file ``path``), by the rule
    of this module's docstring. ``override``: None (the tag or detection), a number, or "none"."""
    if override is not None:
        value = float("nan") if str(override).strip().lower() == "none" else float(override)
        return tuple(BandNodata(value, "override" if value == value else "none") for _ in dataset.indexes)
    tags = [float("nan") if value is None else float(value) for value in dataset.nodatavals]
    untagged = [band for band, value in zip(dataset.indexes, tags) if np.isnan(value)]
    detected = _detect(dataset, path, tuple(untagged)) if untagged else {}
    rules = []
    for band, tag in zip(dataset.indexes, tags):
        if not np.isnan(tag):
            rules.append(BandNodata(tag, "tag"))
        else:
            rules.append(detected.get(band) or BandNodata(float("nan"), "none"))
    return tuple(rules)


def raster_nodata(dataset, path, feedback=None, name=None, override=None, fix=READER_FIX):
    """Nodata value per band (tuple of floats, NaN: none) of ``dataset`` by :func:`band_nodata`;
    a detected sentinel is reported to ``feedback`` (once per run and file) as a warning naming the
    layer (``name``, else the file), the value, the bands and the cell count, followed by ``fix``."""
    from .feedback import Feedback

    rules = band_nodata(dataset, path, override)
    key = (id(feedback), _file_key(path))
    if feedback is not None and type(feedback) is not Feedback and key not in _warned:   # silent: nothing
        _warned.add(key)
        detected = {}
        for band, rule in zip(dataset.indexes, rules):
            if rule.origin == "detected":
                detected.setdefault(rule.value, []).append((band, rule))
        for bands in detected.values():
            feedback.warning(sentinel_message(name, dataset, bands, fix))
    return tuple(rule.value for rule in rules)


def sentinel_message(name, dataset, bands, fix):
    """The warning for one sentinel detected in ``bands`` (list of (band, BandNodata)) of ``dataset``;
    the first band's counts are given (see :func:`raster_nodata`)."""
    band, rule = bands[0]
    where = "Layer '{}'".format(name) if name else "The raster {}".format(dataset.name)
    description = dataset.descriptions[band - 1]
    first = "band {}{}".format(band, ", " + description if description else "")
    if len(bands) > 1:
        where += " ({} of its {} bands, e.g. {})".format(len(bands), dataset.count, first)
    elif dataset.count > 1:
        where += " ({})".format(first)
    total = dataset.width * dataset.height
    return ("{} has no nodata value set, but the value {:g} {} {}{:,} cells ({:.1%}) while its data lie between "
            "{:.6g} and {:.6g}: it is taken as nodata. {}".format(
                where, rule.value, rule.why, "about " if rule.estimated else "", rule.cells, rule.cells / total,
                rule.low, rule.high, fix))


def _detect(dataset, path, bands):
    """{band: BandNodata} of the detected sentinels of ``bands`` (cached per file version)."""
    key = (_file_key(path), bands)
    if key not in _detected:
        sample, factor = sample_bands(dataset, path, bands)
        found = {}
        for band, values in zip(bands, sample):
            found_value = detect_sentinel(values)
            if found_value is not None:
                value, count, low, high, why = found_value
                found[band] = BandNodata(value, "detected", int(round(count * factor)), factor != 1.0, low, high, why)
        _detected[key] = found
    return _detected[key]


def sample_bands(dataset, path, bands):
    """(values (len(bands), rows, cols) in the raster's dtype, cells per sampled cell): every cell
    when the bands hold at most :data:`SAMPLE_VALUES` values, else an evenly spaced sample
    (nearest cell, so the values are the raster's own)."""
    import rasterio
    from rasterio.enums import Resampling

    cells = dataset.width * dataset.height
    keep = min(1.0, (SAMPLE_VALUES / max(len(bands), 1) / cells) ** 0.5)
    rows, cols = max(1, int(dataset.height * keep)), max(1, int(dataset.width * keep))
    shape = (len(bands), rows, cols)
    with reading(path):
        if keep < 1.0 and dataset.overviews(bands[0]):
            # GDAL would read a smaller sample from the overviews, whose cells may average a sentinel
            # with data: read the full-resolution cells instead
            with rasterio.Env(**_NO_PAM), rasterio.open(path, OVERVIEW_LEVEL="NONE") as plain:
                values = plain.read(list(bands), out_shape=shape, resampling=Resampling.nearest)
        else:
            values = dataset.read(list(bands), out_shape=shape, resampling=Resampling.nearest)
    return values, cells / float(rows * cols)


def detect_sentinel(values):
    """A likely nodata sentinel of one band without nodata tag: ``values`` (rows, cols), NaN allowed.

    Returns ``(value, cells, low, high, why)`` (cells in ``values``; ``low``–``high`` the range
    of the other values) or None. The rule is in this module's docstring."""
    finite = values.ravel()
    if finite.dtype.kind == "f":
        finite = finite[np.isfinite(finite)]
    if finite.size < 2 or finite.min() == finite.max():
        return None
    for candidate in (finite.min(), finite.max()):
        count = int(np.count_nonzero(finite == candidate))
        rest = finite[finite != candidate]
        low, high = float(rest.min()), float(rest.max())
        candidate = float(candidate)   # python floats: no integer overflow in the gap
        gap = low - candidate if candidate < low else candidate - high
        if gap <= high - low:
            continue
        if _classic(candidate):
            return float(candidate), count, low, high, "(a common nodata sentinel) is found on"
        if count >= MIN_SENTINEL_FRACTION * finite.size and np.unique(rest[:100_000]).size >= 3:
            return float(candidate), count, low, high, "lies far outside the other values and covers"
    return _zero_border(values, finite)


def _classic(value):
    return abs(value) >= HUGE_SENTINEL or any(value == sentinel for sentinel in CLASSIC_SENTINELS)


def _zero_border(values, finite):
    """(0, cells, low, high, why) when 0 pads the raster's border (a survey's outside), else None."""
    from scipy import ndimage

    if values.shape[0] < 3 or values.shape[1] < 3:
        return None
    ring = np.concatenate([values[0], values[-1], values[1:-1, 0], values[1:-1, -1]])
    if np.count_nonzero(ring == 0) < 0.5 * ring.size:
        return None
    zero = values == 0
    labels, _ = ndimage.label(zero)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.isin(labels, edge[edge > 0])
    rest = finite[finite != 0]
    stray = np.count_nonzero(zero & ~outside)
    if (outside.sum() < MIN_SENTINEL_FRACTION * finite.size or stray > 0.001 * values.size or rest.size == 0
            or np.unique(rest[:100_000]).size < 3):
        return None
    return 0.0, int(np.count_nonzero(zero)), float(rest.min()), float(rest.max()), "pads the raster's border on"


def class_codes(dataset, path, nodata):
    """The distinct values of a raster that looks like classes (integer values, at most
    :data:`MAX_CLASS_CODES` of them, nodata excluded) as a sorted list, else None."""
    sample, _ = sample_bands(dataset, path, tuple(dataset.indexes))
    return whole_number_codes(sample, nodata)


def whole_number_codes(sample, nodata):
    """The distinct values of ``sample`` (any shape) without the ``nodata`` values (NaN: none) as a
    sorted list when they are at most :data:`MAX_CLASS_CODES` whole numbers, else None."""
    values = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample.ravel()
    for value in nodata:
        if not np.isnan(value):
            values = values[values != value]
    if values.size == 0 or np.any(values != np.round(values)):
        return None
    codes = np.unique(values)
    return [float(code) for code in codes] if codes.size <= MAX_CLASS_CODES else None

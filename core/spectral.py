"""Hyperspectral rasters: band wavelengths, pixels ↔ cubes, the pre-processing chain over a raster
(through ``core.pipeline.map_windows``), and the plot of raw against processed spectra.

Spectra tables are ``core.spectra_table``; the pre-processing chain of Carvalho et al. (2024) is
``core.spectral_preprocessing``. Wavelengths are in nm, spectra (n_spectra, n_bands) of
reflectance (0–1), cubes (bands, rows, cols).
"""
import re

import numpy as np

from .atomic import atomic_output
from .errors import DeepProspectError
from .pipeline import RasterOutput, map_windows
from .raster import STACK_NODATA
from .spectra_table import format_wavelength
from .spectral_preprocessing import PreprocessSettings, preprocess, trim_range

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def raster_wavelengths(path):
    """Band centre wavelengths (nm, float64 (n_bands,)) of a hyperspectral GeoTIFF or ENVI file.

    Looked for, in order: the ENVI header's ``wavelength`` list (with ``wavelength units``),
    each band's ``wavelength`` metadata item, then a number in each band description
    (``"2205.5"``, ``"Band 12 (2205.5 nm)"``). Micrometres are converted. Raises
    :class:`DeepProspectError` when a raster has no wavelengths.
    """
    from .raster_input import open_raster

    with open_raster(path, "hyperspectral raster") as dataset:
        values, units = _wavelength_metadata(dataset)
    if values is None or len(values) != dataset.count:
        raise DeepProspectError(
            "The raster {} has no band wavelengths. Give each band its wavelength in nm as band description "
            "(or use an ENVI file whose header has a 'wavelength' list).".format(path))
    values = np.asarray(values, dtype=np.float64)
    if units.lower().startswith(("micro", "um", "µm")) or values.max() < 100:
        values = values * 1000.0
    if np.any(np.diff(values) <= 0):
        raise DeepProspectError("The band wavelengths of {} do not increase band by band; reorder the bands "
                                "by wavelength.".format(path))
    return values


def _wavelength_metadata(dataset):
    """(wavelength values or None, their units) from an open rasterio dataset (see raster_wavelengths)."""
    count = dataset.count
    values, units = None, ""
    envi = dataset.tags(ns="ENVI")
    if envi.get("wavelength"):
        values = [float(v) for v in _NUMBER.findall(envi["wavelength"])]
        units = envi.get("wavelength_units", "")
    if values is None or len(values) != count:
        tags = [dataset.tags(band) for band in range(1, count + 1)]
        if all("wavelength" in t for t in tags):
            values = [float(t["wavelength"]) for t in tags]
            units = tags[0].get("wavelength_units", "")
    if values is None or len(values) != count:
        found = [_NUMBER.findall(d or "") for d in dataset.descriptions]
        if all(found):
            # "Band 12 (2205.5 nm)": the wavelength is the last number
            values = [float(f[-1]) for f in found]
            units = "nm"
    return values, units


def map_spectra(path, output, compute, bands=None, block_size=256, tile_size=None, feedback=None):
    """Apply ``compute`` to the spectrum of every valid pixel of the hyperspectral raster ``path``,
    window by window (``core.pipeline.map_windows``), and write ``output`` (a ``RasterOutput``).

    ``bands``: boolean mask (n_bands,) of the bands to read (None: all). ``compute(wavelengths,
    pixels)`` gets the read bands' wavelengths (nm, (m,)) and the valid pixels' spectra (n, m)
    (float rasters keep their precision, others become float64) and returns (n, output.count).
    Pixels with a nodata or non-finite band get ``output.nodata``. ``tile_size``: window
    alignment (default the raster's tiles). Returns the read bands' wavelengths (nm).
    """
    wavelengths = raster_wavelengths(path)
    indexes = None if bands is None else [int(i) + 1 for i in np.flatnonzero(bands)]
    if bands is not None:
        wavelengths = wavelengths[bands]

    def compute_window(block, cube):
        pixels = _pixels(cube)
        valid = block.valid.ravel()   # no nodata or non-finite band (core.pipeline's mask, as cube_to_pixels)
        if valid.all():   # the usual window: no copy of its pixels and of their results
            result = np.asarray(compute(wavelengths, pixels)).astype(output.dtype, copy=False)
        else:
            result = np.full((len(pixels), output.count), output.nodata, dtype=output.dtype)
            if valid.any():
                result[valid] = compute(wavelengths, pixels[valid])
        return [np.ascontiguousarray(result.T).reshape((output.count,) + cube.shape[1:])]

    map_windows([(path, indexes)], [output], compute_window, block_size=block_size, tile_size=tile_size,
                feedback=feedback)
    return wavelengths


def preprocess_raster(path, output, settings=None, block_size=256, feedback=None):
    """Apply :func:`preprocess` to every pixel of a hyperspectral raster, block by block.

    Writes a float32 GeoTIFF (band descriptions = output wavelengths in nm, nodata
    ``STACK_NODATA``) atomically; pixels with any nodata/non-finite band are nodata.
    Returns the output wavelengths (nm).
    """
    settings = settings or PreprocessSettings()
    wavelengths = raster_wavelengths(path)
    keep = trim_range(wavelengths, settings.min_wavelength, settings.max_wavelength)
    names = [format_wavelength(value) for value in wavelengths[keep]]
    target = RasterOutput(output, len(names), "float32", STACK_NODATA, tuple(names),
                          tuple(dict(wavelength=name, wavelength_units="nm") for name in names))
    untrimmed = settings.for_bands(wavelengths[keep])   # the bands read are already trimmed

    def compute(kept_wavelengths, pixels):
        processed = preprocess(kept_wavelengths, pixels, untrimmed)[1]
        processed[~np.isfinite(processed)] = STACK_NODATA   # in place: a window holds 65 536 spectra
        return processed

    # windows aligned to 256 pixels whatever the input's tiling: the output's own tiles
    return map_spectra(path, target, compute, keep, block_size, tile_size=256, feedback=feedback)


def cube_to_pixels(cube, nodata):
    """(bands, rows, cols) → (pixels (rows*cols, bands), valid bool (rows*cols,)).

    Floating-point cubes keep their precision (float32 stays float32: half the memory of a block)."""
    flat = cube.reshape(cube.shape[0], -1)
    valid = np.isfinite(flat).all(axis=0) if flat.dtype.kind == "f" else np.ones(flat.shape[1], dtype=bool)
    if nodata is not None and not np.isnan(nodata):
        valid &= ~(flat == nodata).any(axis=0)
    return _pixels(cube), valid


def _pixels(cube):
    """(bands, rows, cols) → contiguous (rows*cols, bands); float keeps its precision, others become float64."""
    flat = cube.reshape(cube.shape[0], -1)
    return np.ascontiguousarray(flat.T if flat.dtype.kind == "f" else flat.T.astype(np.float64))


def plot_spectra(path, wavelengths, spectra, processed_wavelengths, processed, labels=None, title="",
                 processed_label="processed", max_spectra=6):
    """A two-panel PNG: a few raw spectra (top) and the same spectra processed (bottom).

    Drawn with matplotlib's object API (no pyplot): the engine may draw off its main thread."""
    import matplotlib
    from matplotlib.figure import Figure

    count = min(max_spectra, len(spectra))
    figure = Figure(figsize=(9, 7))
    top, bottom = figure.subplots(2, 1, sharex=True)
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, max(count, 1)))
    for row in range(count):
        label = labels[row] if labels is not None else None
        top.plot(wavelengths, spectra[row], color=colours[row], lw=1, label=label)
        bottom.plot(processed_wavelengths, processed[row], color=colours[row], lw=1)
    top.set_ylabel("reflectance")
    top.set_title(title or "Raw and processed spectra")
    bottom.set_ylabel(processed_label)
    bottom.set_xlabel("wavelength (nm)")
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    if labels is not None:
        top.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    return str(path)

"""The upper convex hull of reflectance spectra (their continuum), compiled with numba.

:func:`continuum` is what ``core.spectral_preprocessing.continuum_removed`` and ``upper_hull``
run; that module imports this one on first use, so only runs that remove the continuum pay for
importing numba and compiling (a few seconds, once per process: float32 and float64 spectra,
contiguous or not, as a trimmed raster window is, are compiled together on import).

Each spectrum's hull is found by quickhull on the bands, which are sorted by wavelength: the band
highest above the chord between two hull vertices is a vertex too, and a chord with no band
strictly above it is an edge of the hull. The search for the highest band is a plain loop over
consecutive bands that the compiler vectorises, and it touches each band only a few times (a
spectrum's hull has a handful of vertices), so a megapixel of 400 bands takes seconds, where the
earlier numpy monotone chain (``benchmarks/continuum_before.py``) took minutes. The hull's values
between vertices use that implementation's formula, ``y_left + (x − x_left) / span × (y_right −
y_left)``, so results agree with it to rounding.
"""
import numba
import numpy as np


def continuum(wavelengths, spectra, divide):
    """The hull of every spectrum at every band (``divide`` False) or the spectra divided by it
    (True; NaN where the hull is not positive).

    ``wavelengths`` (n_bands,) nm, increasing; ``spectra`` (n, n_bands) of any real dtype
    (float32 and float64 are read as they are; the arithmetic is float64). Returns float64
    (n, n_bands); rows of spectra holding a NaN or infinite band are NaN."""
    x = np.ascontiguousarray(wavelengths, dtype=np.float64)
    y = np.atleast_2d(np.asarray(spectra))
    if y.dtype not in (np.float32, np.float64):
        y = y.astype(np.float64)
    if y.ndim != 2 or y.shape[1] != len(x):
        raise ValueError("{} wavelengths for spectra of shape {}".format(len(x), y.shape))
    out = np.empty(y.shape, dtype=np.float64)
    if y.size:
        _continuum_rows(x, y, out, divide)
    return out


@numba.njit(nogil=True, cache=True)
def _one_hull(x, row, chords, out, divide):
    """Quickhull of one spectrum ``row`` (n_bands,) into ``out`` (n_bands,)."""
    last = len(row) - 1
    _fill_edge(x, row, last, last, out, divide)
    chords[0, 0], chords[0, 1] = 0, last
    pending = 1
    while pending:
        pending -= 1
        left, right = chords[pending, 0], chords[pending, 1]
        dx, dy = x[right] - x[left], row[right] - row[left]
        # height above the chord, up to the factor dx and a constant: row * dx − x * dy
        chord = row[left] * dx - x[left] * dy
        highest = _highest(x, row, left, right, dx, dy)
        if not highest > chord:
            _fill_edge(x, row, left, right, out, divide)
            continue
        vertex = left + 1
        while vertex < right - 1 and row[vertex] * dx - x[vertex] * dy < highest:
            vertex += 1
        chords[pending, 0], chords[pending, 1] = left, vertex
        chords[pending + 1, 0], chords[pending + 1, 1] = vertex, right
        pending += 2


@numba.njit(nogil=True, cache=True, fastmath={"nnan", "ninf"})
def _highest(x, row, left, right, dx, dy):
    """max of ``row * dx − x * dy`` over the bands strictly between ``left`` and ``right`` (−inf
    if none). Rows are finite here, so the compiler may assume no NaN or inf and vectorise; the
    maximum of the same values is the same in any order."""
    best = -np.inf
    for band in range(left + 1, right):
        best = max(best, row[band] * dx - x[band] * dy)
    return best


@numba.njit(nogil=True, cache=True)
def _fill_edge(x, row, left, right, out, divide):
    """The hull on the edge from vertex ``left`` to vertex ``right`` at bands left..right−1
    (just ``left`` when they are the same band)."""
    span = x[right] - x[left]
    for band in range(left, max(right, left + 1)):
        fraction = (x[band] - x[left]) / span if span > 0 else 0.0
        hull = row[left] + fraction * (row[right] - row[left])
        if not divide:
            out[band] = hull
        elif hull > 0:
            out[band] = row[band] / hull
        else:
            out[band] = np.nan


@numba.njit(["void(float64[::1], float32[:, :], float64[:, ::1], boolean)",
             "void(float64[::1], float64[:, :], float64[:, ::1], boolean)"], nogil=True, cache=True)
def _continuum_rows(x, y, out, divide):
    """Fill ``out`` (n, n_bands) row by row; the GIL is released, so the pipeline's reading and
    writing threads go on meanwhile."""
    count, bands = y.shape
    row = np.empty(bands, dtype=np.float64)
    chords = np.empty((bands, 2), dtype=np.int64)  # the chords still to search, at most one per band
    for spectrum in range(count):
        # x * 0 is 0 for finite values and NaN for NaN or ±inf: one sum tells whether the row is usable
        check = 0.0
        for band in range(bands):
            row[band] = y[spectrum, band]
            check += row[band] * 0.0
        if check != 0.0:
            out[spectrum, :] = np.nan
        else:
            _one_hull(x, row, chords, out[spectrum], divide)

"""The upper convex hull of reflectance spectra (their continuum), compiled with numba.

:func:`continuum` is what ``core.spectral_preprocessing.continuum_removed`` and ``upper_hull``
run; that module imports this one on first use, so only runs that remove the continuum pay for
importing numba and compiling (a few seconds, once per process: float32 and float64 spectra,
contiguous or not, as a trimmed raster window is, are compiled together on import).

Each spectrum's hull is found by quickhull on the bands, which are sorted by wavelength: the band
highest above the chord between two hull vertices is a vertex too, and a chord with no band
strictly above it is an edge of the hull. The search for the highest band is one plain pass over
consecutive bands, and it touches each band only a few times (a spectrum's hull has a handful
of vertices), so a megapixel of 400 bands takes seconds, where the
earlier numpy monotone chain (``benchmarks/continuum_before.py``) took minutes. The hull's values
between vertices use that implementation's formula, ``y_left + (x − x_left) / span × (y_right −
y_left)``, so results agree with it to rounding.
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

#: Fewer spectra than this per thread are removed on the calling thread alone: starting a thread
#: costs about as much as the hulls of a few hundred spectra.
SPECTRA_PER_THREAD = 4096


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
        _split_over_cores(x, y, out, divide)
    return out


def _split_over_cores(x, y, out, divide):
    """Run :func:`_continuum_rows` on consecutive blocks of spectra, one block per usable core.

    The compiled loop releases the GIL, so plain threads run the blocks at once, each writing its
    own rows of ``out``; every spectrum goes through the same compiled code as on one thread, so
    the values do not depend on the split. On a machine shared with other work, two threads also
    get twice one thread's share of the cores."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, min(usable, len(y) // SPECTRA_PER_THREAD))
    if threads == 1:
        _continuum_rows(x, y, out, divide)
        return
    bounds = np.linspace(0, len(y), threads + 1).astype(np.int64)
    with ThreadPoolExecutor(threads, thread_name_prefix="continuum") as pool:
        for done in [pool.submit(_continuum_rows, x, y[first:last], out[first:last], divide)
                     for first, last in zip(bounds[:-1], bounds[1:])]:
            done.result()   # raises a block's error here


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
        vertex = _highest(x, row, left, right)
        if vertex < 0:
            _fill_edge(x, row, left, right, out, divide)
            continue
        chords[pending, 0], chords[pending, 1] = left, vertex
        chords[pending + 1, 0], chords[pending + 1, 1] = vertex, right
        pending += 2


@numba.njit(nogil=True, cache=True)
def _highest(x, row, left, right):
    """The first band strictly between ``left`` and ``right`` highest strictly above their chord,
    or −1 if none is above it (the chord is an edge of the hull). The height above the chord, up
    to the factor dx and a constant, is ``row * dx − x * dy``; one pass finds both the highest
    value and its band (a separate pass to find the band again cost a fifth of the time)."""
    dx, dy = x[right] - x[left], row[right] - row[left]
    best = row[left] * dx - x[left] * dy
    vertex = -1
    for band in range(left + 1, right):
        height = row[band] * dx - x[band] * dy
        if height > best:
            best, vertex = height, band
    return vertex


@numba.njit(nogil=True, cache=True)
def _fill_edge(x, row, left, right, out, divide):
    """The hull on the edge from vertex ``left`` to vertex ``right`` at bands left..right−1
    (just ``left`` when they are the same band). The loops hold no test but the hull's sign, so
    the compiler runs several bands' divisions at once; the arithmetic is the same as band by band."""
    if right == left:   # the last band: its own hull
        out[left] = row[left] if not divide else (row[left] / row[left] if row[left] > 0 else np.nan)
        return
    span, x_left, y_left, rise = x[right] - x[left], x[left], row[left], row[right] - row[left]
    if not span > 0:   # bands at one wavelength: the hull stays at the left vertex
        span, rise = 1.0, 0.0
    if divide:
        for band in range(left, right):
            hull = y_left + (x[band] - x_left) / span * rise
            out[band] = row[band] / hull if hull > 0 else np.nan
    else:
        for band in range(left, right):
            out[band] = y_left + (x[band] - x_left) / span * rise


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

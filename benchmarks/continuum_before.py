"""Continuum removal as it was before issue 19 (commit 3480b6c, ``core/spectral_preprocessing.py``),
kept verbatim as the "before" of the continuum-removal benchmark and to record the test's
reference outputs (``tests/engine/data/make_continuum_reference.py``). Not used by the plugin.

Andrew's monotone chain vectorised over spectra with numpy: a Python loop over bands, popping
per spectrum the hull vertices that fall on or below the new chord.
"""
import numpy as np


def continuum_removed(wavelengths, spectra):
    """Spectra divided by their upper convex hull: 1 on the hull, < 1 inside absorption features.

    Spectra (n, n_bands) must be positive reflectance; non-positive hull values give NaN."""
    hull = upper_hull(wavelengths, spectra)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.asarray(spectra, dtype=np.float64) / hull
    result[~(hull > 0)] = np.nan
    return result


def upper_hull(wavelengths, spectra):
    """The upper convex hull (continuum) of each spectrum, evaluated at every band.

    ``wavelengths`` (n_bands,) increasing; ``spectra`` (n, n_bands). Returns float64 (n, n_bands).
    Andrew's monotone chain, run for all spectra at once: the stack of hull vertices is an array,
    and each new band pops, per spectrum, the vertices that fall on or below the new chord.
    """
    x = np.asarray(wavelengths, dtype=np.float64)
    y = np.atleast_2d(np.asarray(spectra, dtype=np.float64))
    if len(y) > _HULL_CHUNK:
        # chunks small enough to stay in cache are several times faster than one large array
        return np.concatenate([upper_hull(x, y[start:start + _HULL_CHUNK])
                               for start in range(0, len(y), _HULL_CHUNK)])
    is_vertex = _hull_vertices(x, y, _hull_candidates(x, y))
    return _between_vertices(x, y, is_vertex)


_HULL_PREFILTER_PASSES = 2
_HULL_CHUNK = 2048


def _hull_candidates(x, y):
    """Boolean (n, n_bands): the bands that may be hull vertices.

    A point strictly below the chord of two other points is never a hull vertex: a few cheap
    whole-array passes discard most points before the (per-band) monotone chain runs."""
    candidate = np.ones(y.shape, dtype=bool)
    for _ in range(_HULL_PREFILTER_PASSES):
        previous, following = _neighbour_candidates(candidate)
        xp, xn = x[previous], x[following]
        yp = np.take_along_axis(y, previous, axis=1)
        yn = np.take_along_axis(y, following, axis=1)
        below = (y - yp) * (xn - xp) < (yn - yp) * (x - xp)
        below[:, 0] = below[:, -1] = False
        if not below[candidate].any():
            break
        candidate &= ~below
    return candidate


def _hull_vertices(x, y, candidate):
    """Boolean (n, n_bands): the upper hull's vertices among the ``candidate`` bands (Andrew's
    monotone chain over the candidates of all spectra at once)."""
    count, bands = y.shape
    rows = np.arange(count)
    counts = candidate.sum(axis=1)
    width = int(counts.max())
    order = np.argsort(~candidate, axis=1, kind="stable")[:, :width]
    cx, cy = x[order], np.take_along_axis(y, order, axis=1)
    stack = np.zeros((count, width), dtype=np.int64)
    top = np.ones(count, dtype=np.int64)  # the first band is on every hull
    for column in range(1, width):
        here = rows[counts > column]
        active = here[top[here] >= 2]
        while active.size:
            a = stack[active, top[active] - 2]
            b = stack[active, top[active] - 1]
            xa, ya = cx[active, a], cy[active, a]
            xb, yb = cx[active, b], cy[active, b]
            xi, yi = cx[active, column], cy[active, column]
            # b stays only if strictly above the chord a → new point
            pop = (yb - ya) * (xi - xa) <= (yi - ya) * (xb - xa)
            active = active[pop]
            top[active] -= 1
            active = active[top[active] >= 2]
        stack[here, top[here]] = column
        top[here] += 1
    is_vertex = np.zeros((count, bands), dtype=bool)
    for depth in range(int(top.max())):
        has = rows[top > depth]
        is_vertex[has, order[has, stack[has, depth]]] = True
    return is_vertex


def _between_vertices(x, y, is_vertex):
    """float64 (n, n_bands): ``y`` at the vertices, linear between them."""
    count, bands = y.shape
    index = np.broadcast_to(np.arange(bands), (count, bands))
    left = np.maximum.accumulate(np.where(is_vertex, index, 0), axis=1)
    right = np.flip(np.minimum.accumulate(np.flip(np.where(is_vertex, index, bands - 1), axis=1), axis=1), axis=1)
    y_left = np.take_along_axis(y, left, axis=1)
    y_right = np.take_along_axis(y, right, axis=1)
    span = x[right] - x[left]
    fraction = np.divide(x[index] - x[left], span, out=np.zeros_like(span), where=span > 0)
    return y_left + fraction * (y_right - y_left)


def _neighbour_candidates(candidate):
    """For every band, the index of the nearest candidate band before and after it (itself excluded)."""
    count, bands = candidate.shape
    index = np.broadcast_to(np.arange(bands), (count, bands))
    marked = np.where(candidate, index, -1)
    previous = np.maximum.accumulate(marked, axis=1)
    previous = np.concatenate([np.zeros((count, 1), dtype=previous.dtype), previous[:, :-1]], axis=1)
    marked = np.where(candidate, index, bands)
    following = np.flip(np.minimum.accumulate(np.flip(marked, axis=1), axis=1), axis=1)
    following = np.concatenate([following[:, 1:], np.full((count, 1), bands - 1, dtype=following.dtype)], axis=1)
    return np.clip(previous, 0, bands - 1), np.clip(following, 0, bands - 1)

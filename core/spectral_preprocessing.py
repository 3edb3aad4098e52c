"""The pre-processing chain of Carvalho et al. (2024) for reflectance spectra.

The steps and their order are ``catalog.PREPROCESSING_STEPS``; each is switched by the fields of
:class:`PreprocessSettings` its ``switches`` option names (defaults: ``catalog.PreprocessingSettings``):

1. trim to ``min_wavelength``..``max_wavelength`` (nm; default 400–2400, the noisy < 400 nm part goes);
2. continuum removal: reflectance divided by its upper convex hull (values in (0, 1], 1 on the hull);
3. reflectance → absorbance, ``log10(1 / R)``;
4. Savitzky–Golay smoothing (``scipy.signal.savgol_filter``), window given in nanometres
   (31 nm in the paper, i.e. 31 bands at the 1 nm sampling of an ASD FieldSpec), then the
   derivative with respect to wavelength (0, 1 or 2; ``numpy.gradient``, per nm, as in the paper).

Spectra are arrays (n_spectra, n_bands) of reflectance (0–1), wavelengths a 1-D array in nm,
increasing. Everything is vectorised over spectra so raster blocks of 65 536 pixels go through
in a fraction of a second.
"""
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..catalog import PREPROCESSING_STEPS, PreprocessingSettings
from .errors import DeepProspectError


@dataclass(frozen=True)
class PreprocessSettings(PreprocessingSettings):
    """The switchable steps of the chain (module doc); fields and defaults are
    ``catalog.PreprocessingSettings``'s. Saved in model bundles as :meth:`to_dict`."""

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Settings from a dict; keys this version does not know (a newer bundle's) are ignored."""
        known = {key: values[key] for key in cls.__dataclass_fields__ if key in values}
        return cls(**known)

    def for_bands(self, wavelengths):
        """The same chain for spectra already trimmed to ``wavelengths`` (nm, increasing): the trim
        range becomes their first and last wavelength."""
        return replace(self, min_wavelength=float(wavelengths[0]), max_wavelength=float(wavelengths[-1]))

    def switched_on(self, step):
        """Whether ``step`` (a ``catalog.PREPROCESSING_STEPS`` choice) runs with these settings."""
        switches = step.options["switches"]
        return not switches or any(getattr(self, name) for name in switches)

    def describe(self, wavelengths=None):
        """The chain in words. With the input's ``wavelengths`` (nm, before trimming) it says what
        the trim keeps and the Savitzky–Golay window in the bands really used."""
        steps = ["trim {:g}–{:g} nm".format(self.min_wavelength, self.max_wavelength)]
        kept = None
        if wavelengths is not None:
            kept = trim(np.asarray(wavelengths, dtype=float), np.zeros((1, len(wavelengths))), self)[0]
            steps[0] += " ({} of {} bands)".format(len(kept), len(wavelengths))
        if self.continuum_removal:
            steps.append("continuum removal")
        if self.absorbance:
            steps.append("absorbance log10(1/R)")
        if self.smoothing:
            steps.append("Savitzky–Golay {}, order {}".format(self._window_words(kept), self.polyorder))
        if self.derivative:
            steps.append("derivative {}".format(self.derivative))
        return " → ".join(steps)

    def _window_words(self, kept):
        """``31 nm`` or, knowing the kept wavelengths, ``31 nm = 31 bands`` / ``31 nm → 5 bands (50 nm)``."""
        if kept is None:
            return "{:g} nm".format(self.window_nm)
        bands, requested = window_bands(kept, self.window_nm, self.polyorder), _requested_bands(kept, self.window_nm)
        if bands == requested:
            return "{:g} nm = {} bands".format(self.window_nm, bands)
        return "{:g} nm → {} bands ({:g} nm)".format(self.window_nm, bands, bands * _spacing(kept))


def preprocess(wavelengths, spectra, settings=None):
    """Apply the chain of :class:`PreprocessSettings` to ``spectra`` (n, n_bands) of reflectance.

    Returns ``(wavelengths_out (m,), processed float64 (n, m))``: trimmed wavelengths and spectra.
    Rows containing NaN give NaN rows (they are not valid spectra). With no step after the trim
    switched on, the trimmed spectra keep their dtype.
    """
    settings = settings or PreprocessSettings()
    if settings.derivative not in (0, 1, 2):
        raise DeepProspectError("DERIVATIVE must be 0, 1 or 2, not {}.".format(settings.derivative))
    x = np.asarray(wavelengths, dtype=np.float64)
    y = np.atleast_2d(np.asarray(spectra))
    if y.dtype.kind != "f":
        y = y.astype(np.float64)
    always, optional = _chain(settings)
    for step in always:
        x, y = step(x, y, settings)
    bad = ~np.isfinite(y).all(axis=1)
    if not optional:
        if bad.any():
            y = y.copy()
            y[bad] = np.nan
        return x, y
    y = y.astype(np.float64)
    for step in optional:
        # an invalid spectrum goes through as a flat 1.0 (which every step accepts) and leaves as NaN
        if bad.any():
            y[bad] = 1.0
        x, y = step(x, y, settings)
        bad |= ~np.isfinite(y).all(axis=1)
    y[bad] = np.nan
    return x, y


def _chain(settings):
    """The step functions of ``catalog.PREPROCESSING_STEPS`` that run with ``settings``, in order:
    (steps without switches, the switched-on others). Each ``factory`` names a function of this
    module (``core`` may not import ``engine.registry``, so it looks them up here)."""
    always, optional = [], []
    for step in PREPROCESSING_STEPS:
        module, _, function = step.factory.partition(":")
        if not __name__.endswith("." + module):
            raise DeepProspectError("The pre-processing step '{}' is not in {}.".format(step.name, __name__))
        if settings.switched_on(step):
            (optional if step.options["switches"] else always).append(globals()[function])
    return always, optional


# The steps (catalog.PREPROCESSING_STEPS) ------------------------------------------------------

def trim(wavelengths, spectra, settings):
    """The bands from ``settings.min_wavelength`` to ``settings.max_wavelength`` (nm): views of
    ``wavelengths`` (n_bands,) and ``spectra`` (n, n_bands), as the kept bands are contiguous (a
    copy would double a raster block's memory)."""
    keep = trim_range(wavelengths, settings.min_wavelength, settings.max_wavelength)
    first, last = np.flatnonzero(keep)[[0, -1]]
    return wavelengths[first:last + 1], spectra[:, first:last + 1]


def remove_continuum(wavelengths, spectra, settings):
    """:func:`continuum_removed` as a step of the chain."""
    return wavelengths, continuum_removed(wavelengths, spectra)


def to_absorbance(wavelengths, spectra, settings):
    """:func:`absorbance` as a step of the chain."""
    return wavelengths, absorbance(spectra)


def savitzky_golay(wavelengths, spectra, settings):
    """Savitzky–Golay smoothing of ``settings.window_nm`` nm (if ``settings.smoothing``), then the
    ``settings.derivative``-th derivative per nm (``numpy.gradient``, second-order edges)."""
    from scipy.signal import savgol_filter

    if settings.smoothing:
        spectra = savgol_filter(spectra, window_bands(wavelengths, settings.window_nm, settings.polyorder),
                                settings.polyorder, axis=1, mode="interp")
    for _ in range(settings.derivative):
        spectra = np.gradient(spectra, wavelengths, axis=1, edge_order=2)
    return wavelengths, spectra


# The computations ------------------------------------------------------------------------------

def trim_range(wavelengths, min_wavelength, max_wavelength):
    """Boolean mask (n_bands,) of bands with ``min_wavelength`` ≤ λ ≤ ``max_wavelength`` (nm).

    Raises :class:`DeepProspectError` when fewer than 3 bands remain."""
    wavelengths = np.asarray(wavelengths, dtype=float)
    keep = (wavelengths >= min_wavelength) & (wavelengths <= max_wavelength)
    if keep.sum() < 3:
        raise DeepProspectError(
            "Only {} band(s) lie between {:g} and {:g} nm (the data cover {:g}–{:g} nm). Choose a wavelength "
            "range inside the data's.".format(int(keep.sum()), min_wavelength, max_wavelength,
                                               wavelengths.min(), wavelengths.max()))
    return keep


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


def absorbance(reflectance, floor=1e-6):
    """``log10(1 / R)``; reflectance below ``floor`` is clipped to it (a dark pixel, not −∞)."""
    return -np.log10(np.clip(np.asarray(reflectance, dtype=np.float64), floor, None))


def window_bands(wavelengths, window_nm, polyorder):
    """The odd number of bands closest to ``window_nm`` at the median band spacing, at least
    ``polyorder + 2`` (a window of ``polyorder + 1`` bands fits every point exactly and smooths
    nothing), at most the band count (odd). :func:`report_chain` warns when it widens the window."""
    bands = max(_requested_bands(wavelengths, window_nm), polyorder + 2 + (polyorder + 2 + 1) % 2)
    limit = len(wavelengths) - (1 - len(wavelengths) % 2)
    if bands > limit:
        raise DeepProspectError(
            "The Savitzky–Golay window of {:g} nm spans {} bands but only {} bands remain after trimming. "
            "Use a smaller WINDOW or a wider wavelength range.".format(window_nm, bands, len(wavelengths)))
    return bands


def _spacing(wavelengths):
    return float(np.median(np.diff(wavelengths)))


def _requested_bands(wavelengths, window_nm):
    """The odd number of bands closest to ``window_nm`` at the median band spacing."""
    bands = int(round(window_nm / _spacing(wavelengths)))
    return bands + 1 - bands % 2


#: The trim warns when it drops more than this share of the bands, or keeps fewer than TOO_FEW_BANDS.
TRIM_WARNING_SHARE = 0.25
TOO_FEW_BANDS = 16


def report_chain(wavelengths, settings, feedback):
    """Log the chain as it will run on spectra at ``wavelengths`` (nm, before trimming): the bands
    the trim drops (a warning when more than a quarter, or when fewer than 16 remain) and the
    Savitzky–Golay window in bands (a warning when it had to be widened to smooth at all).
    Returns the trimmed wavelengths."""
    wavelengths = np.asarray(wavelengths, dtype=float)
    kept = trim(wavelengths, np.zeros((1, len(wavelengths))), settings)[0]
    feedback.info("Pre-processing: " + settings.describe(wavelengths))
    dropped = len(wavelengths) - len(kept)
    if dropped:
        ranges = [(wavelengths[0], wavelengths[wavelengths < kept[0]].max()) if wavelengths[0] < kept[0] else None,
                  (wavelengths[wavelengths > kept[-1]].min(), wavelengths[-1]) if wavelengths[-1] > kept[-1] else None]
        message = "The trim to {:g}–{:g} nm drops {} of {} bands ({}); {} remain.".format(
            settings.min_wavelength, settings.max_wavelength, dropped, len(wavelengths),
            " and ".join(_band_range(*r) for r in ranges if r), len(kept))
        if dropped > TRIM_WARNING_SHARE * len(wavelengths) or len(kept) < TOO_FEW_BANDS:
            feedback.warning(message + " Check MIN_WAVELENGTH and MAX_WAVELENGTH against the spectra's range "
                                       "({:g}–{:g} nm).".format(wavelengths[0], wavelengths[-1]))
        else:
            feedback.info(message)
    if settings.smoothing:
        requested, bands = _requested_bands(kept, settings.window_nm), window_bands(kept, settings.window_nm,
                                                                                    settings.polyorder)
        if bands != requested:
            feedback.warning(
                "The Savitzky–Golay window of {:g} nm covers only {} band(s) at the {:g} nm band spacing: a window "
                "of {} bands or fewer fits a polynomial of order {} exactly and smooths nothing. It is widened to {} "
                "bands ({:g} nm). Set WINDOW to at least {:g} nm to choose the window yourself, or switch SMOOTHING "
                "off.".format(settings.window_nm, requested, _spacing(kept), settings.polyorder + 1,
                              settings.polyorder, bands, bands * _spacing(kept), bands * _spacing(kept)))
    return kept


def _band_range(first, last):
    """``350–399 nm``, or ``300 nm`` for one band."""
    return "{:g} nm".format(first) if first == last else "{:g}–{:g} nm".format(first, last)


def processed_label(settings):
    """Y-axis label naming what the processed values are."""
    name = "absorbance" if settings.absorbance else "reflectance"
    if settings.continuum_removal:
        name = "continuum-removed " + name
    if settings.derivative:
        name = "{} derivative (per nm)\nof {}".format({1: "1st", 2: "2nd"}[settings.derivative], name)
    return name

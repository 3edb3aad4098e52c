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
increasing. Every step works on all the spectra of a raster window at once (65 536 pixels);
continuum removal is compiled (numba, ``core/continuum.py``).
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
    if bad.any() or optional[0] not in _READ_ANY_FLOAT:
        y = y.astype(np.float64)   # a float64 copy to patch rows in, or for steps that need float64
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


#: Steps that read float32 spectra as they are and compute in float64: a raster window's float32
#: pixels go to them without a float64 copy first (it would double the window's memory).
_READ_ANY_FLOAT = (remove_continuum, to_absorbance)


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

    ``wavelengths`` (n_bands,) nm, increasing; ``spectra`` (n, n_bands) positive reflectance.
    Returns float64 (n, n_bands); NaN where the hull is not positive, NaN rows for spectra holding
    a NaN or infinite band. Compiled (``core/continuum.py``): 16–25× faster than the numpy monotone
    chain it replaced inside a raster run, 24–65× in memory, on a shared 2-core machine
    (``benchmarks/bench_continuum.py``)."""
    from .continuum import continuum

    return continuum(wavelengths, spectra, divide=True)


def upper_hull(wavelengths, spectra):
    """The upper convex hull (continuum) of each spectrum, evaluated at every band.

    ``wavelengths`` (n_bands,) nm, increasing; ``spectra`` (n, n_bands). Returns float64
    (n, n_bands); NaN rows for spectra holding a NaN or infinite band."""
    from .continuum import continuum

    return continuum(wavelengths, spectra, divide=False)


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

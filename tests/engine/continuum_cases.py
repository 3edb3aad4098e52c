"""Spectra for the continuum-removal tests (issue 19) and a plain-Python continuum to hold the
fast one against.

* :func:`realistic_groups`: 2,000 smooth reflectance spectra with absorption features, in four
  groups of 500 sharing wavelengths (200, 273 irregularly spaced, 331 and 400 bands), half of
  them with measurement noise. Built from ``Generator.random`` only (uniform doubles), whose
  stream is the most stable part of numpy's generators.
* :func:`edge_cases`: flat, monotonic, single-maximum, plateau, stepped, non-positive and
  minimal (3-band) spectra, each a (wavelengths, spectra) pair.
* :func:`reference_continuum`: Andrew's monotone chain in plain Python, spectrum by spectrum.

``tests/engine/data/continuum_reference.npz`` holds the hull vertices the implementation before
issue 19 found on these spectra (``tests/engine/data/make_continuum_reference.py``).
"""
import numpy as np

GROUP_BANDS = (200, 273, 331, 400)
GROUP_SIZE = 500
SEED = 19


def group_wavelengths(bands, rng):
    """(bands,) nm over 400–2500 nm; the 273-band group irregularly spaced (as resampled or
    mosaicked sensors are)."""
    if bands == 273:
        return np.sort(400.0 + 2100.0 * rng.random(bands))
    return np.linspace(400.0, 2500.0, bands)


def smooth_spectra(wavelengths, count, rng):
    """(count, bands) reflectance: a sloping, curved continuum (0.15–0.9) times up to six
    Gaussian absorption features (depth ≤ 0.45, width 5–120 nm); every other spectrum gets
    ±0.002 noise, as a sensor gives."""
    t = (wavelengths - wavelengths[0]) / (wavelengths[-1] - wavelengths[0])

    def uniform(low, high, shape=(count, 1)):
        return low + (high - low) * rng.random(shape)

    level, slope, bend = uniform(0.15, 0.75), uniform(-0.25, 0.25), uniform(-0.6, 0.6)
    spectra = level + slope * t + bend * t * (1 - t)
    for _ in range(6):
        depth = uniform(0.0, 0.45) * (rng.random((count, 1)) < 0.7)
        centre, width = uniform(450.0, 2450.0), uniform(5.0, 120.0)
        spectra = spectra * (1 - depth * np.exp(-0.5 * ((wavelengths - centre) / width) ** 2))
    noisy = (np.arange(count) % 2 == 1)[:, None]
    spectra = spectra + noisy * uniform(-0.002, 0.002, (count, len(wavelengths)))
    return np.clip(spectra, 0.01, None)


def realistic_groups():
    """[(wavelengths (bands,), spectra (500, bands)), …] for the bands of :data:`GROUP_BANDS`."""
    rng = np.random.default_rng(SEED)
    groups = []
    for bands in GROUP_BANDS:
        wavelengths = group_wavelengths(bands, rng)
        groups.append((wavelengths, smooth_spectra(wavelengths, GROUP_SIZE, rng)))
    return groups


def edge_cases():
    """{name: (wavelengths (bands,), spectra (n, bands))} of spectra that stress a hull."""
    x = np.linspace(400.0, 2400.0, 41)
    spike = np.full(41, 0.1)
    spike[17] = 0.9
    plateau = np.full(41, 0.3)
    plateau[5:12] = plateau[20:30] = 0.6
    stairs = np.repeat([0.2, 0.5, 0.5, 0.35, 0.6, 0.6, 0.1], [6, 6, 6, 6, 6, 6, 5])
    negative = 0.3 * np.sin(x / 150.0)
    return {
        "flat": (x, np.full((2, 41), 0.5)),
        "monotonic": (x, np.vstack([0.1 + 0.0003 * x, np.exp(x / 1000.0) / 20, np.log(x) / 10,
                                    1.0 - 0.0003 * x])),
        "single maximum": (x, np.vstack([spike, spike[::-1]])),
        "first or last band maximum": (x, np.vstack([np.r_[0.9, np.full(40, 0.2)], np.r_[np.full(40, 0.2), 0.9]])),
        "duplicated values": (x, np.vstack([plateau, stairs, np.round(0.5 + 0.2 * np.sin(x / 200.0), 1)])),
        "non-positive values": (x, np.vstack([negative, np.zeros(41), negative - 0.5])),
        "three bands": (np.array([500.0, 1000.0, 2000.0]), np.array([[0.2, 0.1, 0.3], [0.2, 0.5, 0.3],
                                                                      [0.4, 0.4, 0.4]])),
        "float32": (x, (0.4 + 0.2 * np.sin(x / 90.0) ** 2).astype(np.float32)[None]),
    }


def reference_continuum(wavelengths, spectrum):
    """The upper convex hull of one spectrum at every band (Andrew's monotone chain, plain Python):
    a vertex stays only if it lies strictly above the chord from the vertex before it to the next
    band."""
    x, y = [float(value) for value in wavelengths], [float(value) for value in spectrum]
    hull = []
    for i in range(len(x)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (y[b] - y[a]) * (x[i] - x[a]) > (y[i] - y[a]) * (x[b] - x[a]):
                break
            hull.pop()
        hull.append(i)
    return np.interp(x, [x[v] for v in hull], [y[v] for v in hull])


def continuum_from_vertices(wavelengths, spectrum, vertices):
    """Reflectance divided by the straight lines between ``vertices`` (band indices); NaN where
    that continuum is not positive (the rule for non-positive spectra)."""
    continuum = np.interp(wavelengths, wavelengths[vertices], spectrum[vertices])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(continuum > 0, spectrum / continuum, np.nan)

"""Synthetic spectral library and hyperspectral scene with known truth, for tests and demos.

Spectra are reflectance over 350–2500 nm built from mineral end-members mixed linearly:

    R_mineral(λ) = albedo · Π_k (1 − depth_k · exp(−(λ − centre_k)² / (2 σ_k²)))

with the diagnostic features of :data:`MINERALS` (Fe³⁺ ~900 nm, water ~1400/1900 nm, Al-OH
~2200 nm, Fe-OH/Mg-OH ~2250/2330 nm, carbonate ~2340 nm, gypsum water 1450/1750/1940 nm).
Each sample is a mixture ``Σ a_m R_m`` multiplied by a smooth sample continuum (brightness,
slope, curvature: grain size, moisture, illumination) plus noise. Point-spectrometer spectra
(1 nm, ASD-like) carry the FieldSpec detector *splice*: the SWIR1 (1001–1800 nm) and SWIR2
(1801–2500 nm) detectors are offset by a small random factor, and noise grows below 400 nm.

**Element law (regression truth).** In the soil library the antimony content modulates the
spectrum through ``s = clip(log10(Sb / 5 ppm) / log10(1000 / 5), 0, 1)``:

* a stibnite-like VNIR conduction-band edge: reflectance × ``(1 − 0.25 s · sigmoid((650 − λ) / 40 nm))``;
* shallower water (~1910 nm) and Al-OH (~2205 nm) absorptions, depths × ``(1 − 0.5 s)``
  (Carvalho et al. 2024 observed exactly these two effects in high-Sb soils).

As follows Sb as a pathfinder (As = 0.6 · Sb^0.9 · lognormal(σ 0.25) + 12 ppm), Pb weakly, and Mn
not at all (its spectrum carries no Mn signal, so an honest model cannot predict it).
A fraction of samples are mine-tailings *outliers* (Sb 1 000–6 000 ppm) whose spectra do not follow
the law (their ``s`` is random), as in the paper; Sb above 4 000 ppm is written ``>4000`` and the
lowest As values ``<0.2`` (censored).

**Classes (classification truth).** :data:`CLASSES` are mineral mixtures after the Apliki mine
clusters of DeepGeoMap; ``pillow_lava`` and ``smectitic_alteration`` share their minerals and
differ only by a few percent of smectite and chlorite (subtle feature depths), which is where a
spectral-angle mapper struggles under brightness/slope variation.
"""
import json
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .spectra_table import SpectraTable, format_wavelength, write_spectra_table

#: Mineral end-members: albedo and absorption features (centre nm, sigma nm, depth).
MINERALS = {
    "quartz": dict(albedo=0.78, features=[(1410, 15, 0.03), (1910, 20, 0.04)]),
    "montmorillonite": dict(albedo=0.62, features=[(1412, 22, 0.22), (1912, 28, 0.35), (2205, 18, 0.22)]),
    "kaolinite": dict(albedo=0.70, features=[(1395, 10, 0.15), (1412, 10, 0.15), (1912, 25, 0.08),
                                             (2165, 12, 0.18), (2207, 14, 0.28)]),
    "chlorite": dict(albedo=0.45, features=[(1000, 120, 0.18), (1400, 20, 0.08), (2250, 18, 0.20),
                                            (2330, 22, 0.30)]),
    "goethite": dict(albedo=0.40, features=[(480, 70, 0.55), (920, 90, 0.40), (1910, 25, 0.05)]),
    "calcite": dict(albedo=0.72, features=[(1995, 25, 0.08), (2340, 25, 0.35)]),
    "gypsum": dict(albedo=0.80, features=[(1450, 25, 0.35), (1750, 15, 0.15), (1940, 30, 0.45),
                                          (2215, 15, 0.10)]),
}
MINERAL_NAMES = list(MINERALS)

#: Class → mean mineral abundances (fractions summing to 1).
CLASSES = {
    "pillow_lava": dict(quartz=0.30, montmorillonite=0.40, chlorite=0.20, goethite=0.10),
    "smectitic_alteration": dict(quartz=0.27, montmorillonite=0.48, chlorite=0.15, goethite=0.10),
    "chloritic_stockwork": dict(quartz=0.25, montmorillonite=0.15, chlorite=0.55, goethite=0.05),
    "silicified_zone": dict(quartz=0.80, chlorite=0.10, goethite=0.10),
    "sulfate_gossan": dict(quartz=0.30, goethite=0.40, gypsum=0.30),
    "gypsum_veins": dict(quartz=0.25, gypsum=0.70, goethite=0.05),
}
CLASS_NAMES = list(CLASSES)

SOIL_MINERALS = ("quartz", "montmorillonite", "kaolinite", "goethite", "calcite")
SB_LOW, SB_HIGH = 5.0, 1000.0


def asd_wavelengths():
    """1 nm sampling over 350–2500 nm (2151 bands), like an averaged ASD FieldSpec export."""
    return np.arange(350.0, 2501.0, 1.0)


def imaging_wavelengths(count=400, start=400.0, stop=2395.0):
    """``count`` evenly spaced band centres (nm) of an imaging spectrometer (default 400 bands, 5 nm)."""
    return np.linspace(start, stop, count)


def sb_signal(sb_ppm):
    """The law's ``s`` in [0, 1] from Sb in ppm (see module doc)."""
    s = np.log10(np.clip(np.asarray(sb_ppm, dtype=float), 1e-3, None) / SB_LOW) / np.log10(SB_HIGH / SB_LOW)
    return np.clip(s, 0.0, 1.0)


def mineral_spectra(wavelengths, depth_scale=None):
    """Reflectance of every end-member at ``wavelengths``: float64 (n_minerals, n_bands).

    ``depth_scale``: optional {(centre): factor array (n,)} scaling feature depths per sample; then the
    result is (n, n_minerals, n_bands)."""
    x = np.asarray(wavelengths, dtype=float)
    if depth_scale is None:
        out = np.empty((len(MINERALS), len(x)))
        for index, mineral in enumerate(MINERALS.values()):
            out[index] = _mineral(x, mineral, 1.0)
        return out
    count = len(next(iter(depth_scale.values())))
    out = np.empty((count, len(MINERALS), len(x)))
    for index, mineral in enumerate(MINERALS.values()):
        out[:, index] = _mineral(x, mineral, depth_scale)
    return out


def mix(wavelengths, abundances, rng, brightness_sd=0.12, slope_sd=0.06, curvature_sd=0.03,
        noise=0.002, depth_scale=None):
    """Mixed spectra (n, n_bands) from ``abundances`` (n, n_minerals) with a random sample continuum
    (brightness, slope and curvature across the range) and Gaussian noise of ``noise`` reflectance."""
    x = np.asarray(wavelengths, dtype=float)
    count = len(abundances)
    members = mineral_spectra(x, depth_scale)
    if members.ndim == 2:
        spectra = abundances @ members
    else:
        spectra = np.einsum("nm,nmb->nb", abundances, members)
    t = (x - 1425.0) / 1075.0
    brightness = np.exp(rng.normal(0, brightness_sd, (count, 1)))
    slope = rng.normal(0, slope_sd, (count, 1))
    curvature = rng.normal(0, curvature_sd, (count, 1))
    spectra = spectra * brightness * (1 + slope * t - curvature * t ** 2)
    spectra = spectra + rng.normal(0, noise, spectra.shape)
    return np.clip(spectra, 0.005, 1.2)


def class_abundances(class_names, rng, spread=0.03):
    """Abundances (n, n_minerals) for samples of ``class_names``: class means ± ``spread``, renormalised."""
    means = np.array([[CLASSES[name].get(m, 0.0) for m in MINERAL_NAMES] for name in class_names])
    present = means > 0
    values = np.where(present, np.clip(means + rng.normal(0, spread, means.shape), 0.005, None), 0.0)
    return values / values.sum(axis=1, keepdims=True)


def generate_mineral_library(n_per_class=150, seed=0, wavelengths=None, noise=0.003, spread=0.03):
    """Labelled lab spectra of every class in :data:`CLASSES`.

    Returns a :class:`SpectraTable` with a text column ``class`` (class names), ``n_per_class``
    spectra per class at ``wavelengths`` (default :func:`imaging_wavelengths`)."""
    rng = np.random.default_rng(seed)
    wavelengths = imaging_wavelengths() if wavelengths is None else np.asarray(wavelengths, dtype=float)
    names = [name for name in CLASS_NAMES for _ in range(n_per_class)]
    order = rng.permutation(len(names))
    names = [names[i] for i in order]
    spectra = mix(wavelengths, class_abundances(names, rng, spread), rng, noise=noise)
    ids = ["L{:05d}".format(i + 1) for i in range(len(names))]
    return SpectraTable(ids, wavelengths, spectra, "id", text={"class": names})


def generate_soil_library(count=400, seed=0, wavelengths=None, outlier_fraction=0.05, noise=0.002):
    """Soil spectra with element contents that follow the documented law (module doc).

    Returns ``(table, truth)``: a :class:`SpectraTable` (ASD wavelengths by default, with the
    detector splice) with targets Sb, As, Pb, Mn in ppm (some censored), and a dict with the
    uncensored Sb (``sb_ppm``), the outlier mask and the law's parameters."""
    rng = np.random.default_rng(seed)
    wavelengths = asd_wavelengths() if wavelengths is None else np.asarray(wavelengths, dtype=float)
    sb = np.exp(rng.uniform(np.log(SB_LOW), np.log(950.0), count))
    outlier = rng.random(count) < outlier_fraction
    sb[outlier] = np.exp(rng.uniform(np.log(1000.0), np.log(6000.0), outlier.sum()))
    s = sb_signal(sb)
    s[outlier] = rng.uniform(0, 1, outlier.sum())  # tailings: the spectrum does not follow the law
    abundances = np.zeros((count, len(MINERAL_NAMES)))
    soil_index = [MINERAL_NAMES.index(m) for m in SOIL_MINERALS]
    abundances[:, soil_index] = rng.dirichlet([6.0, 3.0, 2.0, 1.5, 0.8], count)
    scale = 1.0 - 0.5 * s
    depth_scale = {1912: scale, 1910: scale, 2205: scale, 2207: scale}
    spectra = mix(wavelengths, abundances, rng, noise=noise, depth_scale=depth_scale)
    spectra *= 1.0 - 0.25 * s[:, None] / (1.0 + np.exp(-(650.0 - wavelengths) / 40.0))
    spectra = _asd_artefacts(wavelengths, spectra, rng)
    arsenic = 0.6 * sb ** 0.9 * np.exp(rng.normal(0, 0.25, count)) + 12.0
    lead = 15.0 + 0.05 * sb * np.exp(rng.normal(0, 0.5, count)) + rng.gamma(4.0, 3.0, count)
    manganese = np.exp(rng.normal(np.log(50.0), 0.7, count))
    ids = ["S{:04d}".format(i + 1) for i in range(count)]
    table = SpectraTable(ids, wavelengths, spectra, "sample_id")
    for name, values in (("Sb", sb), ("As", arsenic), ("Pb", lead), ("Mn", manganese)):
        values = np.round(values, 2)
        table.targets[name] = values.copy()
        table.censored[name] = np.array([""] * count)
        table.censored_values[name] = np.full(count, np.nan)
    over = sb > 4000.0
    _censor(table, "Sb", over, ">", 4000.0)
    low_as = np.argsort(arsenic)[:2]
    _censor(table, "As", np.isin(np.arange(count), low_as), "<", 0.2)
    truth = dict(sb_ppm=sb, outlier=outlier, signal=s,
                 law="s = clip(log10(Sb/5)/log10(200), 0, 1); VNIR edge x (1 - 0.25 s sigmoid((650-λ)/40)); "
                     "depths at 1910/2205 nm x (1 - 0.5 s)")
    return table, truth


def write_soil_library(path, count=400, seed=0, **options):
    """:func:`generate_soil_library` written as a CSV spectra table; returns ``(path, truth)``."""
    table, truth = generate_soil_library(count, seed, **options)
    write_spectra_table(path, table, digits=6)
    return str(path), truth


def write_mineral_library(path, n_per_class=150, seed=0, **options):
    """:func:`generate_mineral_library` written as a CSV spectra table with a ``class`` column."""
    table = generate_mineral_library(n_per_class, seed, **options)
    write_spectra_table(path, table, digits=6)
    return str(path)


def generate_scene(path, size=96, seed=0, wavelengths=None, cells=14, noise=0.004, pixel_size=2.0,
                   nodata_border=2):
    """A hyperspectral GeoTIFF of the classes (a Voronoi mosaic of ``cells`` regions) and its truth.

    The scene is ``size`` × ``size`` pixels of ``pixel_size`` m in UTM 36N (Cyprus), float32
    reflectance with band descriptions and ``wavelength`` tags in nm, nodata −9999 in a
    ``nodata_border``-pixel frame (unscanned). Writes ``<path>`` and ``<stem>_truth.tif`` (uint8 class
    index + 1, 0 = nodata) and ``<stem>_truth.json`` (class names). Returns a dict of paths and the
    truth array (rows, cols) of class indices (−1 = nodata)."""
    from rasterio.transform import from_origin

    from .raster import STACK_NODATA, write_geotiff

    rng = np.random.default_rng(seed)
    wavelengths = imaging_wavelengths() if wavelengths is None else np.asarray(wavelengths, dtype=float)
    centres = rng.uniform(0, size, (cells, 2))
    labels = np.concatenate([np.arange(len(CLASS_NAMES)), rng.integers(0, len(CLASS_NAMES), cells)])[:cells]
    rows, cols = np.mgrid[0:size, 0:size]
    distance = (rows[..., None] - centres[:, 0]) ** 2 + (cols[..., None] - centres[:, 1]) ** 2
    truth = labels[np.argmin(distance, axis=-1)]
    names = [CLASS_NAMES[i] for i in truth.ravel()]
    spectra = mix(wavelengths, class_abundances(names, rng), rng, noise=noise)
    cube = spectra.T.reshape(len(wavelengths), size, size).astype(np.float32)
    if nodata_border:
        frame = np.zeros((size, size), dtype=bool)
        frame[:nodata_border] = frame[-nodata_border:] = True
        frame[:, :nodata_border] = frame[:, -nodata_border:] = True
        cube[:, frame] = STACK_NODATA
        truth = np.where(frame, -1, truth)
    transform = from_origin(520000.0, 3880000.0, pixel_size, pixel_size)
    path = Path(path)
    _write_cube(path, cube, wavelengths, transform)
    truth_path = path.with_name(path.stem + "_truth.tif")
    write_geotiff(truth_path, (truth + 1).astype(np.uint8), transform, "EPSG:32636", ["class"], nodata=0,
                  dtype="uint8")
    json_path = path.with_name(path.stem + "_truth.json")
    with atomic_output(json_path) as temporary:
        Path(temporary).write_text(json.dumps({"classes": CLASS_NAMES, "codes": "class index + 1; 0 = nodata"}))
    return dict(scene=str(path), truth_raster=str(truth_path), truth_json=str(json_path), truth=truth,
                class_names=list(CLASS_NAMES))


def _write_cube(path, cube, wavelengths, transform):
    """``cube`` (bands, rows, cols) float32 reflectance as a GeoTIFF in UTM 36N, atomically, each
    band described and tagged with its wavelength in nm. A whole-array write, not a window loop:
    the scene is small, and written this way its bytes match the scenes earlier versions wrote."""
    import rasterio

    from .raster import GEOTIFF_OPTIONS, STACK_NODATA

    options = dict(GEOTIFF_OPTIONS, width=cube.shape[2], height=cube.shape[1], crs="EPSG:32636", transform=transform)
    with atomic_output(path) as temporary:
        with rasterio.open(temporary, "w", count=len(wavelengths), dtype="float32", nodata=STACK_NODATA,
                           **options) as dataset:
            dataset.write(cube)
            for index, value in enumerate(wavelengths, start=1):
                dataset.set_band_description(index, format_wavelength(value))
                dataset.update_tags(index, wavelength=format_wavelength(value), wavelength_units="nm")


def _mineral(x, mineral, depth_scale):
    reflectance = mineral["albedo"]
    for centre, sigma, depth in mineral["features"]:
        factor = 1.0
        if isinstance(depth_scale, dict) and centre in depth_scale:
            factor = np.asarray(depth_scale[centre])[:, None]
        reflectance = reflectance * (1.0 - depth * factor * np.exp(-0.5 * ((x - centre) / sigma) ** 2))
    if isinstance(depth_scale, dict):
        count = len(next(iter(depth_scale.values())))
        return np.broadcast_to(reflectance, (count, len(x))) if np.ndim(reflectance) < 2 else reflectance
    return reflectance


def _asd_artefacts(wavelengths, spectra, rng):
    # FieldSpec: three detectors with small gain offsets at the splices, and a noisy blue end.
    count = len(spectra)
    swir1 = (wavelengths > 1000) & (wavelengths <= 1800)
    swir2 = wavelengths > 1800
    spectra = spectra.copy()
    spectra[:, swir1] *= 1 + rng.normal(0, 0.01, (count, 1))
    spectra[:, swir2] *= 1 + rng.normal(0, 0.01, (count, 1))
    blue = np.clip((420.0 - wavelengths) / 70.0, 0, None)
    spectra += rng.normal(0, 1, spectra.shape) * 0.01 * blue
    return np.clip(spectra, 0.005, 1.2)


def _censor(table, name, mask, flag, limit):
    table.censored[name][mask] = flag
    table.censored_values[name][mask] = limit
    table.targets[name][mask] = np.nan

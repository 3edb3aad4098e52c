"""Continuum removal (issue 19: compiled, ≥ 20× faster) gives the values of the implementation
before it, recorded in ``data/continuum_reference.npz`` by ``data/make_continuum_reference.py``,
and of a plain-Python monotone chain (``continuum_cases.reference_continuum``), to 1e-6.
No timings here: ``benchmarks/bench_continuum.py`` measures the speed-up."""
from pathlib import Path

import numpy as np
import pytest

from continuum_cases import (GROUP_BANDS, continuum_from_vertices, edge_cases, realistic_groups, smooth_spectra,
                             reference_continuum)
from deepprospect.core import spectral_preprocessing as chain

RECORDED = Path(__file__).resolve().parent / "data" / "continuum_reference.npz"
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def recorded():
    with np.load(RECORDED) as archive:
        return dict(archive)


@pytest.fixture(scope="module")
def groups():
    return realistic_groups()


def test_the_test_spectra_are_the_recorded_ones(groups, recorded):
    """The generator still draws the spectra the reference was recorded on (else the comparison
    below would hold different spectra against the recorded hulls)."""
    for wavelengths, spectra in groups:
        np.testing.assert_allclose(spectra.sum(axis=1), recorded["spectra_sum_{}".format(len(wavelengths))],
                                   rtol=1e-12)


def test_realistic_spectra_equal_the_recorded_reference(groups, recorded):
    for wavelengths, spectra in groups:
        vertices = np.unpackbits(recorded["vertices_{}".format(len(wavelengths))], axis=1,
                                 count=len(wavelengths)).astype(bool)
        expected = np.vstack([continuum_from_vertices(wavelengths, row, np.flatnonzero(mask))
                              for row, mask in zip(spectra, vertices)])
        removed = chain.continuum_removed(wavelengths, spectra)
        np.testing.assert_allclose(removed, expected, rtol=0, atol=TOLERANCE)
        assert removed.dtype == np.float64 and np.all(removed <= 1 + 1e-12)
        # the features are there: most spectra go well below their continuum somewhere
        assert np.mean(removed.min(axis=1) < 0.9) > 0.5


def test_realistic_spectra_equal_a_plain_python_monotone_chain(groups):
    for wavelengths, spectra in groups:
        rows = range(0, len(spectra), 5)   # 100 spectra of each group: the plain chain is slow
        expected = np.vstack([spectra[row] / reference_continuum(wavelengths, spectra[row]) for row in rows])
        np.testing.assert_allclose(chain.continuum_removed(wavelengths, spectra[::5]), expected, rtol=0,
                                   atol=TOLERANCE)
        hull = chain.upper_hull(wavelengths, spectra[::5])
        np.testing.assert_allclose(hull, [reference_continuum(wavelengths, spectra[row]) for row in rows],
                                   rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("name", list(edge_cases()))
def test_edge_cases_equal_the_recorded_reference_and_the_plain_chain(name, recorded):
    wavelengths, spectra = edge_cases()[name]
    removed = chain.continuum_removed(wavelengths, spectra)
    np.testing.assert_allclose(removed, recorded["edge_" + name], rtol=0, atol=TOLERANCE, equal_nan=True)
    for row, values in zip(np.asarray(spectra, dtype=np.float64), removed):
        hull = reference_continuum(wavelengths, row)
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.where(hull > 0, row / hull, np.nan)
        np.testing.assert_allclose(values, expected, rtol=0, atol=TOLERANCE, equal_nan=True)


def test_known_edge_values():
    """Closed forms: a flat or concave spectrum is its own hull; a convex rising one has the
    straight chord as hull; a single maximum is joined to both ends by straight lines."""
    x = np.linspace(400.0, 2400.0, 41)
    np.testing.assert_array_equal(chain.continuum_removed(x, np.full((1, 41), 0.5)), 1.0)
    convex = np.exp(x / 1000.0) / 20
    chord = np.interp(x, x[[0, -1]], convex[[0, -1]])
    np.testing.assert_allclose(chain.upper_hull(x, convex), [chord], rtol=1e-12)
    spike = np.full(41, 0.1)
    spike[17] = 0.9
    hull = chain.upper_hull(x, spike)[0]
    np.testing.assert_allclose(hull, np.interp(x, x[[0, 17, 40]], [0.1, 0.9, 0.1]), rtol=1e-12)
    assert chain.continuum_removed(x, spike)[0, 17] == 1.0


def test_non_finite_bands_give_nan_rows_and_leave_other_rows_alone():
    wavelengths, spectra = realistic_groups()[0]
    spectra = spectra[:6].copy()
    spectra[1, 50] = np.nan
    spectra[3, 0] = np.inf
    spectra[4, -1] = -np.inf
    removed = chain.continuum_removed(wavelengths, spectra)
    assert np.isnan(removed[[1, 3, 4]]).all()
    for row in (0, 2, 5):
        np.testing.assert_allclose(removed[row], spectra[row] / reference_continuum(wavelengths, spectra[row]),
                                   rtol=0, atol=TOLERANCE)
    # the chain's own rule is unchanged: a spectrum with a NaN band is a NaN row, the others processed
    processed = chain.preprocess(wavelengths, spectra, chain.PreprocessSettings(
        min_wavelength=wavelengths[0], max_wavelength=wavelengths[-1], absorbance=False, smoothing=False, derivative=0))[1]
    assert np.isnan(processed[[1, 3, 4]]).all()
    np.testing.assert_allclose(processed[[0, 2, 5]], removed[[0, 2, 5]], rtol=0, atol=1e-15)


def test_dtypes_shapes_and_empty_input():
    wavelengths, spectra = realistic_groups()[1]
    as_float64 = chain.continuum_removed(wavelengths, spectra[:20])
    as_float32 = chain.continuum_removed(wavelengths, spectra[:20].astype(np.float32))
    expected32 = np.vstack([row / reference_continuum(wavelengths, row) for row in
                            spectra[:20].astype(np.float32).astype(np.float64)])
    np.testing.assert_allclose(as_float32, expected32, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(as_float32, as_float64, rtol=0, atol=1e-5)   # float32's own rounding
    scaled = np.round(spectra[:20] * 10000).astype(np.int16)   # reflectance × 10 000 as integers
    np.testing.assert_allclose(chain.continuum_removed(wavelengths, scaled),
                               chain.continuum_removed(wavelengths, scaled / 10000.0), rtol=0, atol=1e-12)
    one = chain.continuum_removed(wavelengths, spectra[7])
    assert one.shape == (1, len(wavelengths))
    np.testing.assert_array_equal(one[0], as_float64[7])
    assert chain.continuum_removed(wavelengths, np.empty((0, len(wavelengths)))).shape == (0, len(wavelengths))
    assert len(GROUP_BANDS) * 500 == sum(len(s) for _, s in realistic_groups())


def test_raster_windows_full_and_partial_equal_the_in_memory_removal(tmp_path):
    """core.spectral.preprocess_raster with continuum removal only: a window of valid pixels only
    (the first 256 × 256) and windows with nodata pixels give, pixel by pixel, the in-memory
    values (to float32's rounding) and nodata where a band is missing."""
    import rasterio
    from rasterio.transform import from_origin

    from deepprospect.core import spectral

    rng = np.random.default_rng(5)
    wavelengths = np.arange(400.0, 2400.0, 50.0)   # whole nm: the band names hold them exactly
    rows, cols = 300, 260
    pixels = smooth_spectra(wavelengths, rows * cols, rng).astype(np.float32)
    cube = pixels.T.reshape(40, rows, cols).copy()
    cube[:, 280:, 10:20] = -9999.0
    cube[7, 290, 200] = np.nan
    path = tmp_path / "scene.tif"
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=40, dtype="float32", nodata=-9999.0,
                       crs="EPSG:32636", transform=from_origin(500000, 4000000, 5, 5)) as dataset:
        dataset.write(cube)
        for band, value in enumerate(wavelengths, start=1):
            dataset.set_band_description(band, "{:g} nm".format(value))
    settings = chain.PreprocessSettings(min_wavelength=400.0, max_wavelength=2350.0, absorbance=False,
                                        smoothing=False, derivative=0)
    spectral.preprocess_raster(path, tmp_path / "removed.tif", settings)
    with rasterio.open(tmp_path / "removed.tif") as done:
        got = done.read().reshape(40, -1).T
    valid = np.isfinite(cube).all(axis=0).ravel() & (cube != -9999.0).all(axis=0).ravel()
    assert (~valid).sum() == 20 * 10 + 1
    np.testing.assert_array_equal(spectral.raster_wavelengths(path), wavelengths)
    expected = chain.continuum_removed(wavelengths, pixels[valid])
    np.testing.assert_allclose(got[valid], expected, rtol=0, atol=1e-6)
    assert np.all(got[~valid] == -9999.0)

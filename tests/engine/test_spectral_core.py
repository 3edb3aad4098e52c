"""core/spectral.py, spectral_preprocessing.py, spectra_table.py and synthetic_spectra.py against
closed forms and independent references (scipy's ConvexHull, numpy's own polynomial derivative),
without TensorFlow or QGIS."""
import numpy as np
import pytest

from deepprospect.core import spectra_table, spectral, synthetic_spectra
from deepprospect.core import spectral_preprocessing as chain
from deepprospect.core.errors import DeepProspectError


def _hull_reference(x, y):
    from scipy.spatial import ConvexHull

    points = np.c_[np.r_[x, x[::-1]], np.r_[y, np.full(len(x), y.min() - 10)]]
    vertices = sorted(v for v in ConvexHull(points).vertices if v < len(x))
    return np.interp(x, x[vertices], y[vertices])


def test_a_spectrum_that_is_its_own_hull_gives_one_everywhere():
    x = np.linspace(400, 2400, 301)
    concave = 0.2 + 0.6 * np.sin(np.pi * (x - 350) / 2200)  # concave on this range
    line = 0.1 + 0.0003 * x
    removed = chain.continuum_removed(x, np.vstack([concave, line]))
    np.testing.assert_allclose(removed, 1.0, atol=1e-12)


def test_upper_hull_matches_scipy_convex_hull_on_noisy_spectra():
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(350, 2500, 250))
    spectra = np.vstack([rng.uniform(0.05, 0.9, (20, 250)),
                         synthetic_spectra.mix(x, rng.dirichlet(np.ones(7), 20), rng, noise=0.01)])
    hull = chain.upper_hull(x, spectra)
    for row in range(len(spectra)):
        np.testing.assert_allclose(hull[row], _hull_reference(x, spectra[row]), atol=1e-12)
    assert np.all(hull >= spectra - 1e-12)


def test_gaussian_absorption_on_a_linear_continuum_is_recovered():
    x = np.arange(400.0, 2401.0, 2.0)
    depth, centre, sigma = 0.3, 2206.0, 20.0
    continuum = 0.25 + 0.0002 * x
    reflectance = continuum * (1 - depth * np.exp(-0.5 * ((x - centre) / sigma) ** 2))
    removed = chain.continuum_removed(x, reflectance[None])[0]
    assert x[np.argmin(removed)] == pytest.approx(centre, abs=2.0)
    assert 1 - removed.min() == pytest.approx(depth, abs=1e-6)
    np.testing.assert_allclose(removed, reflectance / continuum, atol=1e-9)


def test_the_chain_follows_the_catalog():
    """Every step of catalog.PREPROCESSING_STEPS resolves (as the engine resolves factories) to the
    function the chain runs, and the settings' defaults are the catalog's, Carvalho et al.'s chain."""
    from dataclasses import asdict

    from deepprospect.catalog import PREPROCESSING_STEPS, TRIM_ONLY_PREPROCESSING, PreprocessingSettings
    from deepprospect.models.registry import resolve

    functions = [resolve(step) for step in PREPROCESSING_STEPS]
    assert functions == [chain.trim, chain.remove_continuum, chain.to_absorbance, chain.savitzky_golay]
    assert chain.PreprocessSettings().to_dict() == asdict(PreprocessingSettings()) == dict(
        min_wavelength=400.0, max_wavelength=2400.0, continuum_removal=True, absorbance=True, smoothing=True,
        window_nm=31.0, polyorder=2, derivative=1)
    assert not any(asdict(TRIM_ONLY_PREPROCESSING)[name] for name in ("continuum_removal", "absorbance",
                                                                      "smoothing", "derivative"))
    # the steps one by one give the whole chain
    x = np.arange(400.0, 2401.0, 10.0)
    spectra = synthetic_spectra.mix(x, np.random.default_rng(1).dirichlet(np.ones(7), 3), np.random.default_rng(2))
    settings = chain.PreprocessSettings(window_nm=50)
    wavelengths, values = x, spectra
    for function in functions:
        wavelengths, values = function(wavelengths, values, settings)
    np.testing.assert_array_equal(chain.preprocess(x, spectra, settings)[1], values)


def test_derivatives_of_a_known_polynomial_are_exact():
    rng = np.random.default_rng(0)
    a, b, c = 2e-7, -3e-4, 0.4
    uneven = np.sort(np.r_[400.0, 2400.0, rng.uniform(400, 2400, 298)])  # e.g. a resampled sensor
    even = np.arange(400.0, 2401.0, 5.0)
    for x, smoothing in ((uneven, False), (even, True)):
        spectra = (a * x ** 2 + b * x + c)[None]
        base = dict(continuum_removal=False, absorbance=False, smoothing=smoothing, window_nm=61, polyorder=2)
        _, first = chain.preprocess(x, spectra, chain.PreprocessSettings(derivative=1, **base))
        _, second = chain.preprocess(x, spectra, chain.PreprocessSettings(derivative=2, **base))
        np.testing.assert_allclose(first[0], np.polyval(np.polyder([a, b, c]), x), rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(second[0], 2 * a, rtol=1e-5)  # round-off of close bands


def test_savitzky_golay_keeps_quadratics_on_even_sampling_and_absorbance_is_log10_inverse():
    x = np.arange(400.0, 2401.0, 1.0)
    quadratic = (1e-7 * (x - 1400) ** 2 + 0.3)[None]
    settings = chain.PreprocessSettings(continuum_removal=False, absorbance=False, derivative=0)
    np.testing.assert_allclose(chain.preprocess(x, quadratic, settings)[1], quadratic, rtol=1e-10)
    settings = chain.PreprocessSettings(continuum_removal=False, smoothing=False, derivative=0)
    np.testing.assert_allclose(chain.preprocess(x, quadratic, settings)[1], np.log10(1 / quadratic))
    assert chain.window_bands(x, 31, 2) == 31


def test_trim_and_bad_settings_give_clear_errors():
    x = np.arange(350.0, 2501.0, 10.0)
    spectra = np.full((2, len(x)), 0.5)
    kept, _ = chain.preprocess(x, spectra)
    assert kept[0] == 400 and kept[-1] == 2400
    with pytest.raises(DeepProspectError, match="Choose a wavelength range"):
        chain.preprocess(x, spectra, chain.PreprocessSettings(min_wavelength=3000, max_wavelength=4000))
    with pytest.raises(DeepProspectError, match="WINDOW"):
        chain.preprocess(x[:10], spectra[:, :10], chain.PreprocessSettings(min_wavelength=300, window_nm=500))


def test_spectra_table_keeps_censored_values_apart(tmp_path):
    path = tmp_path / "spectra.csv"
    path.write_text("Sample,Sb,As,class,0.40,0.41,0.42,0.43\n"
                    "RS001,13.38,25,soil,0.1,0.2,0.3,0.4\n"
                    "TP051,>4000,571.8,soil,0.1,0.2,0.3,0.4\n"
                    "BLK,<0.02,0.3,blank,0.1,0.2,0.3,0.4\n")
    table = spectra_table.read_spectra_table(path)
    np.testing.assert_allclose(table.wavelengths, [400, 410, 420, 430])  # µm headers converted
    assert table.ids == ["RS001", "TP051", "BLK"] and table.id_column == "Sample"
    assert table.targets["Sb"][0] == 13.38 and np.isnan(table.targets["Sb"][1:]).all()
    assert list(table.censored["Sb"]) == ["", ">", "<"]
    assert table.censored_values["Sb"][1] == 4000
    assert table.text["class"] == ["soil", "soil", "blank"]
    report = " ".join(table.censored_report())
    assert "1 above the upper limit (>4000)" in report and "1 below detection (<0.02)" in report
    out = tmp_path / "copy.csv"
    spectra_table.write_spectra_table(out, table)
    again = spectra_table.read_spectra_table(out)
    assert list(again.censored["Sb"]) == ["", ">", "<"]
    np.testing.assert_allclose(again.spectra, table.spectra)


def test_semicolon_table_with_decimal_commas(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("id;Sb;400;401;402\nA;12,5;0,10;0,20;0,30\nB;<0,02;0,11;0,21;0,31\n")
    table = spectra_table.read_spectra_table(path)
    np.testing.assert_allclose(table.spectra, [[0.1, 0.2, 0.3], [0.11, 0.21, 0.31]])
    assert table.targets["Sb"][0] == 12.5 and table.censored["Sb"][1] == "<"


def test_grouped_split_keeps_each_group_on_one_side():
    from deepprospect.models.spectral_common import split_indices

    groups = np.repeat(["site{}".format(i) for i in range(12)], 10)
    train, validation = split_indices(len(groups), 1 / 3, 42, groups=groups)
    assert set(groups[train]).isdisjoint(groups[validation])
    assert len(train) + len(validation) == 120 and len(validation) == 40
    again = split_indices(len(groups), 1 / 3, 42, groups=groups)
    np.testing.assert_array_equal(again[1], validation)


def test_spectra_table_errors_say_what_to_do(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,Sb,a,b\nx,1,2,3\n")
    with pytest.raises(DeepProspectError, match="header of each spectral column must be its"):
        spectra_table.read_spectra_table(path)
    path.write_text("id,400,410,420\nx,0.1,oops,0.3\n")
    with pytest.raises(DeepProspectError, match="not a number: 'oops'"):
        spectra_table.read_spectra_table(path)


def test_raster_path_equals_table_path_pixel_by_pixel(tmp_path):
    import rasterio

    wavelengths = synthetic_spectra.imaging_wavelengths(60, 400.0, 2380.0)
    scene = synthetic_spectra.generate_scene(tmp_path / "scene.tif", size=270, seed=2, wavelengths=wavelengths)
    settings = chain.PreprocessSettings(window_nm=170)
    out = tmp_path / "processed.tif"
    out_wavelengths = spectral.preprocess_raster(scene["scene"], out, settings)
    with rasterio.open(scene["scene"]) as raw, rasterio.open(out) as done:
        cube, result = raw.read().astype(float), done.read()
        assert done.count == len(out_wavelengths) and done.descriptions[0] == spectra_table.format_wavelength(
            out_wavelengths[0])
        assert done.nodata == -9999
    pixels, valid = spectral.cube_to_pixels(cube, -9999)
    _, expected = chain.preprocess(wavelengths, pixels[valid], settings)
    got = result.reshape(result.shape[0], -1).T
    np.testing.assert_allclose(got[valid], expected, rtol=1e-5, atol=1e-6)  # float32 output
    assert np.all(got[~valid] == -9999)
    assert (~valid).sum() == 270 * 270 - 266 * 266


def test_canceled_raster_preprocessing_leaves_no_output(tmp_path):
    from deepprospect.core.errors import OperationCanceled
    from deepprospect.core.feedback import Feedback

    class CancelAfterFirstBlock(Feedback):
        calls = 0

        def set_progress(self, percent):
            self.calls += 1

        def is_canceled(self):
            return self.calls >= 1

    wavelengths = synthetic_spectra.imaging_wavelengths(20, 400.0, 2380.0)
    scene = synthetic_spectra.generate_scene(tmp_path / "scene.tif", size=260, seed=2, wavelengths=wavelengths)
    out = tmp_path / "processed.tif"
    with pytest.raises(OperationCanceled):
        spectral.preprocess_raster(scene["scene"], out, chain.PreprocessSettings(smoothing=False),
                                   feedback=CancelAfterFirstBlock())
    assert list(tmp_path.glob("processed*")) == [] and not list(tmp_path.glob(".processed*"))


def test_raster_wavelengths_from_envi_header_and_clear_error_without(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    envi = tmp_path / "scan.img"
    with rasterio.open(envi, "w", driver="ENVI", width=4, height=3, count=3, dtype="float32",
                       crs="EPSG:32636", transform=from_origin(500000, 3800000, 1, 1)) as dataset:
        dataset.write(np.ones((3, 3, 4), np.float32))
        dataset.update_tags(ns="ENVI", wavelength="{0.5, 0.6, 0.7}", wavelength_units="Micrometers")
    np.testing.assert_allclose(spectral.raster_wavelengths(envi), [500, 600, 700])
    plain = tmp_path / "plain.tif"
    with rasterio.open(plain, "w", driver="GTiff", width=4, height=3, count=2, dtype="float32",
                       crs="EPSG:32636", transform=from_origin(500000, 3800000, 1, 1)) as dataset:
        dataset.write(np.ones((2, 3, 4), np.float32))
    with pytest.raises(DeepProspectError, match="no band wavelengths"):
        spectral.raster_wavelengths(plain)


def test_synthetic_soil_library_follows_its_documented_law():
    table, truth = synthetic_spectra.generate_soil_library(300, seed=5, noise=0.0)
    normal = ~truth["outlier"]
    removed = chain.continuum_removed(table.wavelengths, table.spectra)
    # the stibnite-like VNIR edge darkens the blue relative to the red as Sb rises
    blue = table.spectra[:, np.searchsorted(table.wavelengths, 560)]
    red = table.spectra[:, np.searchsorted(table.wavelengths, 760)]
    log_sb = np.log10(truth["sb_ppm"])
    assert np.corrcoef(log_sb[normal], (blue / red)[normal])[0, 1] < -0.5
    depth = 1 - removed[:, np.searchsorted(table.wavelengths, 2205)]
    assert np.corrcoef(log_sb[normal], depth[normal])[0, 1] < -0.2
    assert (truth["sb_ppm"] > 4000).sum() == (table.censored["Sb"] == ">").sum() > 0
    assert table.wavelengths[0] == 350 and table.wavelengths[-1] == 2500


def test_spectral_angle_closed_form():
    from deepprospect.models.spectral_classifier import sam_classify, spectral_angles

    references = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    spectra = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [5.0, 5.0, 0.0]])
    angles = spectral_angles(spectra, references)
    np.testing.assert_allclose(angles, [[0, np.pi / 4], [np.pi / 2, np.pi / 4], [np.pi / 4, 0]], atol=1e-7)
    classes, best = sam_classify(spectra * 7.5, references)  # brightness does not matter
    assert list(classes) == [0, 1, 1]

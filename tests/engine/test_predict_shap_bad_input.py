"""Bad input around the engine's predict and shap tasks: a clear error before any output, or a
warning with the safe behaviour. The tasks are called as QGIS's runner calls them."""
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_bundle import _rewrite
from test_bundle_safety import (FACTORS, Log, _edited_member, _predict, _predict_error,  # noqa: F401
                                bundle_and_stack)

from deepprospect.core.errors import DeepProspectError


def _shap(model, stack, folder, **options):
    from deepprospect.engine import modelling_tasks

    log = Log()
    args = dict(model=str(model), stack=str(stack), points=None, explainer="gradient", sample_size=50,
                 background_size=10, seed=0, folder=str(folder), raster=None, map_references=4, map_steps=4)
    args.update(options)
    return modelling_tasks.shap(args, log), log.lines


def _stack(path, names, values):
    from rasterio.transform import from_origin

    from deepprospect.core.raster import write_geotiff

    write_geotiff(path, values.astype(np.float32), from_origin(0, 10 * values.shape[1], 10, 10), "EPSG:32645", names,
                  nodata=-9999.0)
    return path


def test_a_stack_with_the_factors_in_another_order_is_refused(bundle_and_stack, tmp_path, bad_input):
    model, _ = bundle_and_stack
    swapped = _stack(tmp_path / "swapped.tif", FACTORS[::-1], np.random.default_rng(0).normal(size=(6, 8, 8)))
    message = _predict_error(model, swapped, tmp_path / "map.tif")
    assert message == (
        "The evidence stack's factors do not match the model's: same factors in another order (the model expects "
        "f0, f1, f2, f3, f4, f5). Use the stack the model was trained on, or rebuild the stack with the same layers "
        "in the same order.")
    with pytest.raises(DeepProspectError, match="same factors in another order"):
        _shap(model, swapped, tmp_path / "shap")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["swapped.tif"]
    bad_input("A stack with the model's factors in another order (predict, SHAP)", "error", message)


def test_shap_sample_larger_than_the_valid_pixels_explains_them_all_with_a_warning(bundle_and_stack, tmp_path,
                                                                                     bad_input):
    model, _ = bundle_and_stack
    values = np.random.default_rng(1).normal(size=(6, 6, 6))
    values[:, :3, :] = -9999.0                       # half the stack is nodata: 18 valid pixels
    small = _stack(tmp_path / "small.tif", FACTORS, values)
    outputs, lines = _shap(model, small, tmp_path / "shap", sample_size=500)
    message = "Only 18 valid pixels could be sampled (SAMPLE_SIZE 500): all of them are explained."
    assert message in lines
    with open(tmp_path / "shap" / "shap_values.csv") as handle:
        assert sum(1 for _ in handle) == 1 + 18
    assert Path(outputs["html"]).exists()
    bad_input("SHAP with a SAMPLE_SIZE larger than the stack's valid pixels", "warning", message)


@pytest.mark.parametrize("task", ["predict", "shap"])
def test_a_spectral_bundle_given_to_predict_or_shap_is_refused(bundle_and_stack, tmp_path, task, bad_input):
    model, stack = bundle_and_stack
    spectral = _rewrite(model, tmp_path / "spectral.dpm", metadata=lambda m: dict(m, kind="spectral_regressor"))
    with pytest.raises(DeepProspectError) as error:
        if task == "predict":
            _predict(spectral, stack, tmp_path / "map.tif")
        else:
            _shap(spectral, stack, tmp_path / "shap")
    message = str(error.value)
    assert message == (
        "The model bundle {} is a 'spectral_regressor' model, not a 'prospectivity' model. Choose a bundle written "
        "by the matching training algorithm (deepprospect:train).".format(spectral))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["spectral.dpm"]
    if task == "predict":
        bad_input("A spectral model bundle given to predict or SHAP", "error", message)


def test_a_dpm_that_is_a_text_file_is_refused(bundle_and_stack, tmp_path, bad_input):
    _, stack = bundle_and_stack
    text = tmp_path / "notes.dpm"
    text.write_text("model trained on 12 March, see e-mail\n")
    message = _predict_error(text, stack, tmp_path / "map.tif")
    assert message == ("{} is not a DeepProspect model bundle (.dpm written by deepprospect:train): File is not a zip "
                       "file".format(text))
    with pytest.raises(DeepProspectError, match="is not a DeepProspect model bundle"):
        _shap(text, stack, tmp_path / "shap")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.dpm"]
    bad_input("A .dpm model file that is a text file", "error", message)


def test_a_bundle_with_nan_weights_or_zero_std_is_refused_before_a_blank_map(bundle_and_stack, tmp_path, bad_input):
    from deepprospect.models.bundle import BundleError

    model, stack = bundle_and_stack
    # NaN as a diverged training leaves them
    edited = _edited_member(model, "member_1.npz", lambda weights: weights[2].__setitem__((0, 0), np.nan))
    diverged = _rewrite(model, tmp_path / "diverged.dpm", replace={"member_1.npz": edited})
    output = tmp_path / "map.tif"
    message = _predict_error(diverged, stack, output, BundleError)
    assert message == (
        "The model bundle {} is damaged: the weights of the 'pradhan2022_dense' network hold NaN or infinite "
        "values, so every prediction would be NaN; retrain the model (a lower learning rate if the training "
        "diverged).".format(diverged))
    flat = _rewrite(model, tmp_path / "flat.dpm", metadata=lambda m: dict(
        m, normalisation=dict(m["normalisation"], std=[1.0, 0.0, 1.0, 1.0, 1.0, 1.0])))
    assert "is damaged: its normalisation holds a missing, infinite or zero value" in _predict_error(flat, stack, output)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["diverged.dpm", "flat.dpm"]
    with zipfile.ZipFile(diverged) as archive:
        assert json.loads(archive.read("metadata.json"))["architecture"] == "pradhan2022_dense"
    bad_input("A model bundle whose weights hold NaN (a diverged training)", "error", message)


def test_shap_background_larger_than_the_stored_sample_says_how_many_are_used(bundle_and_stack, tmp_path, bad_input):
    model, stack = bundle_and_stack                     # the bundle stores 10 background rows
    outputs, lines = _shap(model, stack, tmp_path / "shap", sample_size=20, background_size=50)
    message = ("Only 10 background rows are available (the model's stored training sample, or the stack's valid "
               "pixels), fewer than BACKGROUND_SIZE 50: SHAP uses those.")
    assert message in lines
    assert "Explaining 20 pixels with the gradient explainer against 10 background rows…" in lines
    assert Path(outputs["html"]).exists()
    bad_input("SHAP with a BACKGROUND_SIZE larger than the model's stored background", "warning", message)

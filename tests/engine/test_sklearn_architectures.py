"""Classical scikit-learn members (models/sklearn_members.py): stored as plain number arrays
(no pickle) and rebuilt so that predict_proba equals the fitted estimator's bit for bit.

References: scikit-learn's own ``predict_proba`` of the estimator that was fitted; numpy's
``np.load(..., allow_pickle=False)`` of the stored arrays.
"""
import io

import numpy as np
import pytest

from deepprospect.models import sklearn_members

MAKERS = [sklearn_members.linear_model, sklearn_members.forest_model, sklearn_members.boosted_model]


def _points(seed=3, n=240, factors=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, factors)).astype(np.float32)
    logit = 1.5 * x[:, 0] - x[:, 1] ** 2 + 0.5 * x[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return x, y


@pytest.mark.parametrize("make", MAKERS, ids=lambda make: make.__name__)
def test_rebuilt_member_predicts_bit_for_bit(make):
    x, y = _points()
    members = sklearn_members.fit_members(make, x, y, seed=5, ensemble_size=2)
    test_x = np.random.default_rng(9).normal(scale=2.0, size=(500, x.shape[1])).astype(np.float32)
    for fitted in members:
        buffer = io.BytesIO()
        np.savez(buffer, **sklearn_members.member_arrays(fitted))
        with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as loaded:
            arrays = {key: loaded[key] for key in loaded.files}
        rebuilt = sklearn_members.rebuild_member(arrays)
        assert type(rebuilt) is type(fitted)
        assert np.array_equal(rebuilt.predict_proba(test_x), fitted.predict_proba(test_x))
    reference = np.array([m.predict_proba(test_x)[:, 1] for m in members], dtype=np.float32)
    assert np.array_equal(sklearn_members.deposit_probabilities(members, test_x), reference)


@pytest.mark.parametrize("make", MAKERS, ids=lambda make: make.__name__)
def test_ensemble_members_are_bootstrap_fits_with_their_own_seeds(make):
    x, y = _points()
    first, second = sklearn_members.fit_members(make, x, y, seed=5, ensemble_size=2)
    chosen = np.random.default_rng(6).integers(0, len(y), len(y))
    alone = make(6, "balanced").fit(x[chosen], y[chosen])
    assert np.array_equal(alone.predict_proba(x), second.predict_proba(x))
    assert not np.array_equal(first.predict_proba(x), second.predict_proba(x))
    single, = sklearn_members.fit_members(make, x, y, seed=5, ensemble_size=1)
    assert np.array_equal(single.predict_proba(x), make(5, "balanced").fit(x, y).predict_proba(x))


@pytest.mark.parametrize("make", MAKERS, ids=lambda make: make.__name__)
def test_bundle_of_sklearn_members_round_trips_without_pickle(tmp_path, make):
    import zipfile

    from deepprospect.models.bundle import load_bundle, save_bundle

    x, y = _points()
    members = sklearn_members.fit_members(make, x, y, seed=5, ensemble_size=2)
    factors = ["f{}".format(index) for index in range(x.shape[1])]
    metadata = {"architecture": "pradhan2022_dense", "factor_names": factors, "patch_size": 1,
                "normalisation": {"mean": [0.0] * len(factors), "std": [1.0] * len(factors)}}
    path = save_bundle(tmp_path / "model.dpm", members, metadata, background=x[:10])
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert not any(name.startswith("keras/") for name in names)
        for name in (n for n in names if n.endswith((".npz", ".npy"))):
            loaded = np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
            if hasattr(loaded, "files"):
                assert all(loaded[key].dtype != object for key in loaded.files)
    bundle = load_bundle(path)
    assert bundle.metadata["network"]["kind"] == "sklearn"
    test_x = np.random.default_rng(9).normal(scale=2.0, size=(300, x.shape[1])).astype(np.float32)
    reference = np.array([m.predict_proba(test_x)[:, 1] for m in members], dtype=np.float32)
    assert np.array_equal(bundle.predict_members(test_x), reference)
    for loaded, fitted in zip(bundle.members, members):
        assert np.array_equal(loaded.predict_proba(test_x), fitted.predict_proba(test_x))


# Trained end to end: deepprospect:train, predict and shap on the conftest's 20 km province ----------

SKLEARN = ("logistic_regression", "random_forest", "gradient_boosting")


@pytest.fixture(scope="module")
def training_points(province, tmp_path_factory):
    from test_training import write_training_points

    return write_training_points(province, tmp_path_factory.mktemp("points") / "training_points.gpkg")


@pytest.fixture(scope="module", params=SKLEARN)
def trained(request, province_stack, training_points, tmp_path_factory):
    """Each scikit-learn architecture trained with 2 spatial folds and an ensemble of 2."""
    from deepprospect.models.training import train_model

    folder = tmp_path_factory.mktemp(request.param)
    result = train_model(province_stack, training_points, architecture=request.param, validation="spatial_kfold",
                         folds=2, ensemble_size=2, seed=11, output_model=folder / "model.dpm",
                         output_report=folder / "report.html")
    return request.param, result


def test_catalog_appends_the_three_architectures():
    from deepprospect.catalog import ARCHITECTURES

    assert ARCHITECTURES.names()[3:6] == SKLEARN
    assert ARCHITECTURES.names()[6] == "auto"        # issue 17's contract: option 6, the default
    assert all(ARCHITECTURES.get(name).options == dict(ARCHITECTURES.get(name).options, kind="sklearn",
                                                       uses_patches=False) for name in SKLEARN)


def test_training_writes_a_bundle_that_predicts_as_the_fitted_members(trained, training_points):
    import zipfile

    from deepprospect.catalog import ARCHITECTURES
    from deepprospect.models.bundle import load_bundle

    name, result = trained
    metadata = result.metadata
    assert metadata["architecture"] == name and metadata["history"] == []
    assert set(metadata["cross_validation"]["summary"]) == {"network", "logistic_regression", "random_forest",
                                                             "gradient_boosting"}
    assert 0.5 < metadata["metrics"]["roc_auc"] <= 1.0
    with zipfile.ZipFile(result.model_path) as archive:
        for member in load_bundle(result.model_path).metadata["members"]:
            with np.load(io.BytesIO(archive.read(member)), allow_pickle=False) as loaded:
                assert all(loaded[key].dtype != object for key in loaded.files)
    bundle = load_bundle(result.model_path)
    assert len(bundle.members) == 2
    x = bundle.standardise(result.data.values)
    for loaded, fitted in zip(bundle.members, result.members):
        assert type(loaded).__name__ == type(fitted).__name__
        assert np.array_equal(loaded.predict_proba(x), fitted.predict_proba(x))
    report = open(result.report_path, encoding="utf-8").read()
    assert "Training curves" not in report and "<th>{} (this model)</th>".format(ARCHITECTURES.label(name)) in report


def test_ensemble_members_are_bootstrap_fits_on_all_points(trained):
    """Member i of the final model: the catalog's estimator with seed 11 + i on a bootstrap
    resample (seed 11 + i) of every point, standardised with every point's mean and std."""
    from deepprospect.catalog import ARCHITECTURES
    from deepprospect.models.registry import resolve

    name, result = trained
    values = result.data.values
    mean, std = np.asarray(result.metadata["normalisation"]["mean"]), np.asarray(result.metadata["normalisation"]["std"])
    x = ((values - mean.astype(np.float32)) / std.astype(np.float32)).astype(np.float32)
    for member, fitted in enumerate(result.members):
        chosen = np.random.default_rng(11 + member).integers(0, len(x), len(x))
        assert len(np.unique(result.data.labels[chosen])) == 2
        reference = resolve(ARCHITECTURES.get(name))(11 + member, "balanced").fit(x[chosen], result.data.labels[chosen])
        assert np.array_equal(reference.predict_proba(x), fitted.predict_proba(x))


def test_probability_map_at_training_points_equals_scikit_learn(trained, province_stack, tmp_path):
    import rasterio

    from deepprospect.models.bundle import load_bundle
    from deepprospect.models.predict import predict_map

    name, result = trained
    bundle = load_bundle(result.model_path)
    predict_map(bundle, province_stack, tmp_path / "p.tif", output_uncertainty=tmp_path / "u.tif", write_styles=False)
    rows, cols = result.data.rows, result.data.cols
    with rasterio.open(province_stack) as stack:
        raw = stack.read()[:, rows, cols].T.astype(np.float32)
    with rasterio.open(tmp_path / "p.tif") as mapped, rasterio.open(tmp_path / "u.tif") as spread:
        probability, uncertainty = mapped.read(1)[rows, cols], spread.read(1)[rows, cols]
    mean = np.asarray(result.metadata["normalisation"]["mean"], dtype=np.float32)
    std = np.asarray(result.metadata["normalisation"]["std"], dtype=np.float32)
    x = ((raw - mean) / std).astype(np.float32)
    members = np.array([m.predict_proba(x)[:, 1] for m in result.members], dtype=np.float32)
    np.testing.assert_allclose(probability, members.mean(axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(uncertainty, members.std(axis=0), rtol=0, atol=1e-6)
    assert uncertainty.max() > 0


def test_shap_of_each_architecture(trained, province_stack):
    from deepprospect.models.bundle import load_bundle
    from deepprospect.models.explain import explain_sample
    from log_feedback import LogFeedback

    name, result = trained
    bundle = load_bundle(result.model_path)
    feedback = LogFeedback()
    explained = explain_sample(bundle, province_stack, sample_size=40, background_size=len(bundle.background),
                               explainer="kernel", seed=3, feedback=feedback)
    assert explained["shap_values"].shape == (40, len(bundle.factor_names))
    assert any("whatever EXPLAINER says" in line for line in feedback.infos)
    total = explained["base_value"] + explained["shap_values"].sum(axis=1)
    np.testing.assert_allclose(total, explained["prediction"], rtol=0, atol=1e-6)
    if name == "logistic_regression":
        _check_linear_closed_form(bundle, explained)
    else:
        assert explained["explainer"] == "tree"


def _check_linear_closed_form(bundle, explained):
    """coef · (x − mean of the background) in log-odds (shap's LinearExplainer with independent
    features), scaled per pixel by the logistic secant slope (σ(z) − σ(b)) / (z − b); averaged over
    members. The background: the bundle's stored training sample, all of it."""
    assert explained["explainer"] == "linear"
    x = bundle.standardise(explained["factor_values"])
    background = bundle.standardise(bundle.background)
    expected, base = np.zeros(x.shape), 0.0
    for member in bundle.members:
        coef, intercept = member.coef_[0], member.intercept_[0]
        log_odds_values = coef * (x - background.astype(np.float64).mean(axis=0))
        b = intercept + coef @ background.astype(np.float64).mean(axis=0)
        z = b + log_odds_values.sum(axis=1)
        p = member.predict_proba(x)[:, 1]
        sigma_b = 1 / (1 + np.exp(-b))
        expected += log_odds_values * ((p - sigma_b) / (z - b))[:, None]
        base += sigma_b
    np.testing.assert_allclose(explained["shap_values"], expected / len(bundle.members), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(explained["base_value"], base / len(bundle.members), rtol=1e-6)


def test_dock_reads_the_bundle_metadata(trained):
    """The dock shows what models.metadata_schema.normalise makes of the bundle's metadata.json."""
    from deepprospect.models.bundle import read_metadata
    from deepprospect.models.metadata_schema import BASELINES, normalise

    name, result = trained
    stored = read_metadata(result.model_path)
    shown = normalise(stored)
    assert shown["architecture"] == name and shown["history"] == [] and not shown["uses_patches"]
    assert shown["metrics"]["roc_auc"] == pytest.approx(stored["metrics"]["roc_auc"])
    assert tuple(shown["baselines"]) == BASELINES == ("logistic_regression", "random_forest", "gradient_boosting")
    assert shown["ensemble_size"] == 2


def test_contribution_map_of_each_architecture(trained, province_stack, tmp_path):
    """deepprospect:shap's contribution map of a trained scikit-learn bundle (no gradients):
    shap's exact explainer window by window; base + Σ bands equals the bundle's probability at
    every pixel (scikit-learn's predict_proba of the members), and a logistic regression's map is
    the closed form at a few pixels."""
    import rasterio

    from deepprospect.models.bundle import load_bundle
    from deepprospect.models.explain import contribution_map

    name, result = trained
    bundle = load_bundle(result.model_path)
    mapped = contribution_map(bundle, province_stack, tmp_path / "c.tif", background_size=len(bundle.background),
                              references=2, block_size=32)
    with rasterio.open(mapped["path"]) as dataset:
        maps, tags = dataset.read(), dataset.tags()
        assert list(dataset.descriptions) == bundle.factor_names
    with rasterio.open(province_stack) as stack:
        raw = np.moveaxis(stack.read(), 0, -1).reshape(-1, maps.shape[0]).astype(np.float32)
    x = bundle.standardise(raw)
    probability = np.mean([member.predict_proba(x)[:, 1] for member in bundle.members], axis=0)
    total = float(tags["SHAP_BASE_VALUE"]) + maps.reshape(len(maps), -1).sum(axis=0)
    np.testing.assert_allclose(total, probability, rtol=0, atol=1e-5)
    assert mapped["valid_pixels"] == len(raw) and mapped["additivity_error"] < 1e-5
    assert ("LinearExplainer" if name == "logistic_regression" else "TreeExplainer") in tags["SHAP_METHOD"]
    if name == "logistic_regression":
        pixels = np.array([0, 1234, 4321, len(raw) - 1])
        _check_linear_closed_form(bundle, dict(explainer="linear", factor_values=raw[pixels].astype(np.float64),
                                               shap_values=maps.reshape(len(maps), -1)[:, pixels].T,
                                               base_value=float(tags["SHAP_BASE_VALUE"])))


def test_metadata_records_the_estimators_own_settings(trained):
    """No network-only hyper-parameters (epochs, batches, optimiser, dropout …) in a scikit-learn
    bundle; its estimator's settings instead (models/sklearn_members.py), read back by the dock's
    metadata_schema.normalise and shown in the report."""
    from deepprospect.models.bundle import read_metadata
    from deepprospect.models.metadata_schema import normalise

    name, result = trained
    stored = read_metadata(result.model_path)["hyperparameters"]
    for key in ("epochs", "batch_size", "dropout", "l2", "optimizer", "loss", "patience", "patch_size",
                "augmentation", "stopping_fraction"):
        assert key not in stored
    assert stored["estimator"] == read_metadata(result.model_path)["network"]["estimator"]
    assert stored["architecture"] == name and stored["ensemble_size"] == 2 and stored["balance_classes"] is True
    assert stored["folds"] == 2 and stored["validation"] == "spatial_kfold"
    expected = {"logistic_regression": dict(C=1.0, max_iter=sklearn_members.LOGISTIC_MAX_ITER),
                "random_forest": dict(n_estimators=sklearn_members.FOREST_TREES,
                                      min_samples_leaf=sklearn_members.FOREST_MIN_LEAF),
                "gradient_boosting": dict(learning_rate=0.1, max_iter=100, early_stopping=False)}[name]
    assert {key: stored[key] for key in expected} == expected
    if name != "gradient_boosting":            # a boosting's learning_rate is its own shrinkage
        assert "learning_rate" not in stored
    assert normalise(read_metadata(result.model_path))["hyperparameters"] == stored
    report = open(result.report_path, encoding="utf-8").read()
    assert "<td>estimator</td><td>{}</td>".format(stored["estimator"]) in report and "<td>epochs</td>" not in report


def test_a_network_still_records_its_training_options():
    """The same function on a network architecture keeps every network option."""
    from types import SimpleNamespace

    from deepprospect.catalog import TrainingSettings
    from deepprospect.models.training import _hyperparameters

    for architecture in ("pradhan2022_dense", "cnn1d"):
        settings = TrainingSettings(architecture=architecture, epochs=7, learning_rate=0.01)
        recorded = _hyperparameters(settings, SimpleNamespace(block_size=500.0), {"0": 1.0, "1": 3.0})
        assert recorded["epochs"] == 7 and recorded["learning_rate"] == 0.01 and "estimator" not in recorded
        for key in ("batch_size", "dropout", "l2", "optimizer", "patience", "validation", "label_field"):
            assert key in recorded

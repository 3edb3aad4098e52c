"""Spatial k-fold cross-validation (models/evaluation.spatial_folds, models/cross_validation).

References: shapely (block squares, point-in-square and point-to-square distances), closed-form
distances, scikit-learn models refitted here on each fold's own points, rasterio reads of the
stack for the held-out cells, and the Mann–Whitney form of the prediction-rate AUC
(``roc_auc_score`` of deposits against cells).
"""
import numpy as np
import pytest
from affine import Affine

from deepprospect.core.errors import DeepProspectError

from test_training import write_training_points


def _layout(seed, n=240, size=1000.0):
    """Random points in a size × size square and 0/1 labels (a quarter deposits)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, size, (n, 2))
    labels = (rng.random(n) < 0.25).astype(int)
    return xy, labels


def _squares(blocks):
    from shapely.geometry import box
    from shapely.ops import unary_union

    return unary_union([box(*bounds) for bounds in blocks])


def test_the_catalog_order_and_the_new_default():
    from deepprospect.catalog import VALIDATION_SCHEMES, TrainingSettings

    assert VALIDATION_SCHEMES.names() == ("random", "spatial_blocks", "spatial_kfold")
    settings = TrainingSettings()
    assert (settings.validation, settings.folds, settings.buffer) == ("spatial_kfold", 5, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_held_out_block_ever_holds_a_training_point(seed):
    from shapely.geometry import Point

    from deepprospect.models.evaluation import spatial_folds

    xy, labels = _layout(seed)
    folds = spatial_folds(xy, labels, 100.0, folds=4, seed=seed, origin=(0.0, 1000.0))
    assert [fold.fold for fold in folds] == [1, 2, 3, 4]
    # the held-out sets partition the points, and the held-out blocks of two folds never overlap
    assert np.array_equal(np.sort(np.concatenate([fold.validation for fold in folds])), np.arange(len(labels)))
    for first in range(4):
        for second in range(first + 1, 4):
            assert _squares(folds[first].validation_blocks).intersection(
                _squares(folds[second].validation_blocks)).area == 0
    for fold in folds:
        held_out = _squares(fold.validation_blocks)
        for x, y in xy[fold.train]:
            assert not held_out.intersects(Point(x, y))
        for x, y in xy[fold.validation]:
            assert held_out.contains(Point(x, y))
        for xmin, ymin, xmax, ymax in fold.validation_blocks:        # squares of the size asked, on the grid
            assert xmax - xmin == pytest.approx(100.0) and ymax - ymin == pytest.approx(100.0)
            assert xmin / 100.0 == pytest.approx(round(xmin / 100.0)) and ymin / 100.0 == pytest.approx(round(ymin / 100.0))
        assert np.sum(labels[fold.validation]) >= 2 and len(fold.dropped) == 0
    # the same seed deals the same folds; another seed other folds
    again = spatial_folds(xy, labels, 100.0, folds=4, seed=seed, origin=(0.0, 1000.0))
    assert all(np.array_equal(a.validation, b.validation) for a, b in zip(folds, again))
    other = spatial_folds(xy, labels, 100.0, folds=4, seed=seed + 10, origin=(0.0, 1000.0))
    assert any(not np.array_equal(a.validation, b.validation) for a, b in zip(folds, other))


def test_distance_to_blocks_in_closed_form():
    from deepprospect.models.evaluation import distance_to_blocks

    blocks = [(0.0, 0.0, 100.0, 100.0), (300.0, 0.0, 400.0, 100.0)]
    points = np.array([[50.0, 50.0], [100.0, 30.0], [150.0, 50.0], [130.0, 140.0], [200.0, 50.0],
                       [-30.0, -40.0], [250.0, 100.0]])
    expected = [0.0, 0.0, 50.0, np.hypot(30.0, 40.0), 100.0, 50.0, 50.0]
    np.testing.assert_allclose(distance_to_blocks(points, blocks), expected)


@pytest.mark.parametrize("buffer", [0.0, 35.0, 80.0])
def test_the_buffer_drops_exactly_the_training_points_closer_than_it(buffer):
    from shapely.geometry import Point

    from deepprospect.models.evaluation import spatial_folds

    xy, labels = _layout(5, n=300)
    folds = spatial_folds(xy, labels, 125.0, folds=3, seed=4, origin=(0.0, 0.0), buffer=buffer)
    for fold in folds:
        held_out = _squares(fold.validation_blocks)
        others = np.setdiff1d(np.arange(len(labels)), fold.validation)
        distance = np.array([held_out.distance(Point(x, y)) for x, y in xy[others]])
        assert np.array_equal(np.sort(fold.dropped), others[distance < buffer])
        assert np.array_equal(np.sort(fold.train), others[distance >= buffer])
        assert fold.buffer == buffer
    if buffer:
        assert sum(len(fold.dropped) for fold in folds) > 0


def test_impossible_folds_are_clear_errors(bad_input):
    from deepprospect.models.evaluation import spatial_folds

    xy, labels = _layout(3)
    with pytest.raises(DeepProspectError, match="fewer than FOLDS = 5") as raised:
        spatial_folds(xy, labels, 600.0, folds=5, seed=1, origin=(0.0, 0.0))
    bad_input("Spatial k-fold with more FOLDS than blocks holding points", "error", str(raised.value))
    with pytest.raises(DeepProspectError, match="FOLDS must be at least 2"):
        spatial_folds(xy, labels, 100.0, folds=1, seed=1)
    with pytest.raises(DeepProspectError, match="cannot put deposits on both sides") as raised:
        spatial_folds(xy, labels, 100.0, folds=3, seed=1, origin=(0.0, 0.0), buffer=2000.0)
    bad_input("Spatial k-fold with a BUFFER so wide a fold keeps too few deposits to train", "error",
              str(raised.value))


def test_held_out_cells_are_the_cells_inside_the_blocks():
    from deepprospect.core.raster import StackInfo
    from deepprospect.models.cross_validation import held_out_cells

    stack = StackInfo("stack.tif", ["a"], None, Affine(10.0, 0.0, 1000.0, 0.0, -10.0, 2000.0), 60, 40, -9999.0)
    blocks = [(1000.0, 1900.0, 1100.0, 2000.0), (1300.0, 1700.0, 1400.0, 1800.0)]
    rows, cols, total = held_out_cells(stack, blocks, limit=10_000)
    assert total == len(rows) == 200
    x, y = 1000.0 + (cols + 0.5) * 10.0, 2000.0 - (rows + 0.5) * 10.0
    inside = np.zeros(len(rows), bool)
    for xmin, ymin, xmax, ymax in blocks:
        inside |= (x > xmin) & (x < xmax) & (y > ymin) & (y < ymax)
    assert inside.all() and len(set(zip(rows.tolist(), cols.tolist()))) == 200
    # above the limit: a seeded sample of those cells, without repeats
    sample_rows, sample_cols, sample_total = held_out_cells(stack, blocks, limit=50, seed=3)
    assert sample_total == 200 and len(sample_rows) == 50
    chosen = set(zip(sample_rows.tolist(), sample_cols.tolist()))
    assert len(chosen) == 50 and chosen <= set(zip(rows.tolist(), cols.tolist()))


@pytest.fixture(scope="module")
def kfold_run(province, province_stack, tmp_path_factory):
    """The paper's network, cross-validated on 2 folds with a buffer (few epochs: the suite's budget)."""
    from deepprospect.models.training import train_model

    folder = tmp_path_factory.mktemp("kfold")
    points = write_training_points(province, folder / "points.gpkg")
    return train_model(province_stack, points, architecture="pradhan2022_dense", validation="spatial_kfold",
                       folds=2, block_size=4000, buffer=400, epochs=6, seed=11, output_model=folder / "kfold.dpm",
                       output_report=folder / "kfold.html")


def _refit(result, fold, name):
    """The baseline ``name`` refitted here on the fold's own training points (scikit-learn)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    values = result.data.values
    mean, std = values[fold.train].mean(axis=0), values[fold.train].std(axis=0)
    std[std == 0] = 1.0
    mean, std = mean.astype(np.float32), std.astype(np.float32)      # as the training stores them
    model = {"logistic_regression": LogisticRegression(max_iter=2000, class_weight="balanced"),
             "random_forest": RandomForestClassifier(n_estimators=300, min_samples_leaf=2, class_weight="balanced",
                                                     random_state=11, n_jobs=1),
             "gradient_boosting": HistGradientBoostingClassifier(class_weight="balanced", early_stopping=False,
                                                                 random_state=11)}[name]
    model.fit(((values[fold.train] - mean) / std).astype(np.float32), result.data.labels[fold.train])
    return model, mean, std


def test_every_model_is_scored_on_the_same_folds(kfold_run):
    from sklearn.metrics import average_precision_score, roc_auc_score

    result, table = kfold_run, kfold_run.cross_validation
    labels = result.data.labels
    assert len(result.folds) == table["folds"] == 2
    for fold, row in zip(result.folds, table["fold_results"]):
        assert (row["training_points"], row["held_out_points"], row["dropped_by_buffer"]) == (
            len(fold.train), len(fold.validation), len(fold.dropped))
        held = labels[fold.validation]
        # the network: its out-of-fold probabilities on this fold's held-out points give its fold scores
        network = result.validation_probability[fold.validation]
        assert row["models"]["network"]["roc_auc"] == pytest.approx(roc_auc_score(held, network), abs=1e-12)
        assert row["models"]["network"]["pr_auc"] == pytest.approx(average_precision_score(held, network), abs=1e-12)
        # the baselines, refitted here on exactly the fold's training points, score what was reported
        for name in ("logistic_regression", "random_forest", "gradient_boosting"):
            model, mean, std = _refit(result, fold, name)
            probability = model.predict_proba(((result.data.values[fold.validation] - mean) / std).astype(np.float32))[:, 1]
            np.testing.assert_allclose(result.baseline_probabilities[name][fold.validation], probability, atol=1e-6)
            assert row["models"][name]["roc_auc"] == pytest.approx(roc_auc_score(held, probability), abs=1e-6)
    for name, summary in table["summary"].items():
        for score in ("roc_auc", "pr_auc", "prediction_rate_auc"):
            values = [row["models"][name][score] for row in table["fold_results"]]
            assert summary[score]["mean"] == pytest.approx(np.mean(values))
            assert summary[score]["sd"] == pytest.approx(np.std(values, ddof=1))
    assert result.roc_auc == pytest.approx(table["summary"]["network"]["roc_auc"]["mean"])
    assert result.roc_auc_sd == table["summary"]["network"]["roc_auc"]["sd"] > 0
    assert 0.5 < result.prediction_rate_auc <= 1.0


def test_prediction_rate_auc_ranks_held_out_deposits_against_the_held_out_cells(kfold_run, province_stack):
    """Logistic regression refitted on fold 1, applied to every valid cell of the held-out blocks read
    with rasterio: the Mann–Whitney AUC of deposits against cells is the reported one."""
    import rasterio
    from shapely.geometry import Point
    from sklearn.metrics import roc_auc_score

    result = kfold_run
    fold, row = result.folds[0], result.cross_validation["fold_results"][0]
    with rasterio.open(province_stack) as dataset:
        bands, transform, nodata = dataset.read().astype(np.float64), dataset.transform, dataset.nodata
    rows, cols = np.mgrid[0:bands.shape[1], 0:bands.shape[2]]
    x, y = transform * (cols.ravel() + 0.5, rows.ravel() + 0.5)
    held_out = _squares(fold.validation_blocks)
    inside = np.array([held_out.contains(Point(a, b)) for a, b in zip(x, y)])
    values = bands.reshape(len(bands), -1).T
    valid = inside & np.all(values != nodata, axis=1)
    assert row["held_out_cells"] == inside.sum() and row["ranked_cells"] == valid.sum()
    model, mean, std = _refit(result, fold, "logistic_regression")
    cells = model.predict_proba(((values[valid] - mean) / std).astype(np.float32))[:, 1]
    deposits = result.baseline_probabilities["logistic_regression"][fold.validation][result.data.labels[fold.validation] == 1]
    reference = roc_auc_score(np.r_[np.zeros(len(cells)), np.ones(len(deposits))], np.r_[cells, deposits])
    assert row["models"]["logistic_regression"]["prediction_rate_auc"] == pytest.approx(reference, abs=1e-6)
    curve = row["models"]["logistic_regression"]["captured_fraction"]
    assert curve[0] == 0.0 and curve[-1] == 1.0 and np.all(np.diff(curve) >= 0)


def test_the_final_model_is_trained_on_all_points(kfold_run, province_stack):
    from deepprospect.models.bundle import load_bundle
    from deepprospect.models.metadata_schema import normalise

    result = kfold_run
    bundle = load_bundle(result.model_path)
    values = result.data.values
    np.testing.assert_allclose(bundle.mean, values.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bundle.std, values.std(axis=0), rtol=1e-5)
    shape = normalise(bundle.metadata)
    assert shape["validation"]["scheme"] == "spatial_kfold" and shape["validation"]["folds"] == 2
    assert shape["validation"]["buffer"] == 400.0 and shape["hyperparameters"]["folds"] == 2
    assert shape["metrics"]["roc_auc"] == pytest.approx(result.roc_auc)
    assert shape["cross_validation"]["summary"]["random_forest"]["roc_auc"]["mean"] == pytest.approx(
        result.baselines["random_forest"]["roc_auc"])
    assert len(shape["cross_validation"]["fold_results"]) == 2 and len(shape["history"]) == 1
    assert shape["history"][0]["val_loss"] == []       # the final model has no validation side


def test_the_report_shows_folds_mean_and_sd_and_the_curves(kfold_run):
    from pathlib import Path

    text = Path(kfold_run.report_path).read_text()
    summary = kfold_run.cross_validation["summary"]
    for name in ("network", "logistic_regression", "random_forest", "gradient_boosting"):
        score = summary[name]["roc_auc"]
        assert "{:.3f} ± {:.3f}".format(score["mean"], score["sd"]) in text
    assert "Each fold" in text and "Prediction-rate AUC" in text and "trained on all" in text
    assert text.count("data:image/png;base64,") == 5

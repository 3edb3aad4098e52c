"""The networks (models/architectures.py) and the validation tools (models/evaluation.py).

References: the parameter table of Pradhan et al. (2022, Table 2), closed-form confusion counts,
scikit-learn's own metrics, and shapely geometry for the spatial-block split.
"""
import numpy as np
import pytest

from deepprospect.core.errors import DeepProspectError


def test_pradhan2022_dense_is_table_2_of_the_paper():
    from deepprospect.models.architectures import build_model, trainable_parameter_count

    model = build_model("pradhan2022_dense", 16)
    assert trainable_parameter_count(model) == 124402
    assert model.count_params() == 124402       # no non-trainable parameters either (Table 2)
    table_2 = [("dense_1", 3400), ("dropout_1", 0), ("dense_2", 40200), ("dropout_2", 0), ("dense_3", 40200),
               ("dropout_3", 0), ("dense_4", 40200), ("dropout_4", 0), ("dense_5", 402)]
    layers = [layer for layer in model.layers if layer.name != "factors"]
    assert [(layer.name, layer.count_params()) for layer in layers] == table_2
    assert all(tuple(layer.output.shape) == (None, 200) for layer in layers[:-1])
    assert tuple(layers[-1].output.shape) == (None, 2)
    assert layers[-1].activation.__name__ == "softmax"
    assert type(model.optimizer).__name__ == "Adam"


@pytest.mark.parametrize("architecture, shape", [("cnn1d", (7, 16)), ("cnn2d_patch", (7, 5, 5, 16))])
def test_other_architectures_give_class_probabilities(architecture, shape):
    from deepprospect.models.architectures import build_model

    model = build_model(architecture, 16, patch_size=5)
    output = model(np.random.default_rng(0).standard_normal(shape).astype(np.float32), training=False).numpy()
    assert output.shape == (7, 2)
    np.testing.assert_allclose(output.sum(axis=1), 1.0, rtol=1e-5)
    assert any(type(layer).__name__.startswith("Conv") for layer in model.layers)


def test_patch_cnn_sees_the_neighbourhood_not_only_the_centre():
    from deepprospect.models.architectures import build_model

    model = build_model("cnn2d_patch", 4, patch_size=5)
    patch = np.zeros((1, 5, 5, 4), dtype=np.float32)
    changed = patch.copy()
    changed[0, 0, 4, 2] = 3.0           # a corner cell, two pixels from the centre
    before = model(patch, training=False).numpy()
    after = model(changed, training=False).numpy()
    assert not np.allclose(before, after)


def test_every_catalog_architecture_is_built_by_its_factory():
    from deepprospect.catalog import ARCHITECTURES
    from deepprospect.models.architectures import build_model

    for choice in ARCHITECTURES:
        if choice.options.get("kind") == "sklearn":       # a scikit-learn classifier, not a Keras network
            continue
        model = build_model(choice.name, 6, patch_size=3)
        expected = (None, 3, 3, 6) if choice.options["uses_patches"] else (None, 6)
        assert model.name == choice.name and tuple(model.inputs[0].shape) == expected, choice.name
        assert tuple(model.outputs[0].shape) == (None, 2)


def test_bad_architecture_and_patch_size_are_clear_errors():
    from deepprospect.models.architectures import build_model

    with pytest.raises(DeepProspectError, match="pradhan2022_dense, cnn1d, cnn2d_patch"):
        build_model("resnet", 16)
    with pytest.raises(DeepProspectError, match="odd"):
        build_model("cnn2d_patch", 16, patch_size=4)


def test_metrics_follow_the_confusion_counts_and_table_3_layout():
    from deepprospect.models.evaluation import classification_metrics

    # 4 deposits, 6 non-deposits; at 0.5: TP 3, FN 1, FP 2, TN 4
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    probability = np.array([0.9, 0.8, 0.6, 0.2, 0.7, 0.55, 0.4, 0.3, 0.1, 0.05])
    metrics = classification_metrics(labels, probability)
    assert metrics["confusion_matrix"] == [[3, 1], [2, 4]]
    assert metrics["accuracy"] == pytest.approx(7 / 10)
    assert metrics["deposit"]["precision"] == pytest.approx(3 / 5)
    assert metrics["deposit"]["recall"] == pytest.approx(3 / 4)
    assert metrics["deposit"]["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert metrics["non_deposit"]["recall"] == pytest.approx(4 / 6)
    # ROC-AUC as the share of (deposit, non-deposit) pairs ranked correctly (Mann–Whitney)
    pairs = [(p, q) for p, l in zip(probability, labels) if l == 1 for q, m in zip(probability, labels) if m == 0]
    assert metrics["roc_auc"] == pytest.approx(np.mean([p > q for p, q in pairs]))


def test_random_split_is_stratified_and_seeded():
    from deepprospect.models.evaluation import random_split

    labels = np.r_[np.ones(50, int), np.zeros(150, int)]
    split = random_split(labels, 0.2, seed=3)
    assert len(split.validation) == 40 and labels[split.validation].sum() == 10
    assert set(split.train).isdisjoint(split.validation) and len(split.train) + len(split.validation) == 200
    assert np.array_equal(split.validation, random_split(labels, 0.2, seed=3).validation)
    assert not np.array_equal(split.validation, random_split(labels, 0.2, seed=4).validation)


def test_spatial_blocks_never_put_a_validation_point_in_a_training_block():
    from shapely.geometry import Point, box
    from shapely.ops import unary_union

    from deepprospect.models.evaluation import spatial_block_split

    rng = np.random.default_rng(5)
    xy = rng.uniform([300000, 2000000], [320000, 2020000], size=(600, 2))
    labels = (rng.uniform(size=600) < 0.25).astype(int)
    split = spatial_block_split(xy, labels, 2500.0, fraction=0.2, seed=1, origin=(300000, 2020000))
    validation_area = unary_union([box(*bounds) for bounds in split.validation_blocks])
    training_area = unary_union([box(*bounds) for bounds in split.training_blocks])
    assert validation_area.intersection(training_area).area == pytest.approx(0.0)
    for index in split.train:
        assert not validation_area.contains(Point(xy[index]))
    for index in split.validation:
        point = Point(xy[index])
        assert validation_area.contains(point) or validation_area.touches(point)
        assert not training_area.contains(point)
    for cls in (0, 1):
        share = np.sum(labels[split.validation] == cls) / np.sum(labels == cls)
        assert 0.2 <= share < 0.35
    # every block is a whole square of the requested side, on the grid anchored at the origin
    for bounds in split.validation_blocks:
        assert bounds[2] - bounds[0] == pytest.approx(2500.0) and bounds[3] - bounds[1] == pytest.approx(2500.0)
        assert (bounds[0] - 300000) % 2500 == pytest.approx(0.0)


def test_spatial_blocks_too_large_is_a_clear_error():
    from deepprospect.models.evaluation import spatial_block_split

    xy = np.random.default_rng(1).uniform(0, 1000, size=(100, 2))
    labels = np.r_[np.ones(30, int), np.zeros(70, int)]
    with pytest.raises(DeepProspectError, match="BLOCK_SIZE"):
        spatial_block_split(xy, labels, 5000.0)


def test_baselines_are_scikit_learn_models_on_the_same_split():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from deepprospect.models.evaluation import fit_baselines

    rng = np.random.default_rng(2)
    x = rng.standard_normal((400, 3))
    y = (x[:, 0] + 0.5 * rng.standard_normal(400) > 0.8).astype(int)
    scores, probabilities = fit_baselines(x[:300], y[:300], x[300:], y[300:], seed=1)
    reference = LogisticRegression(max_iter=2000, class_weight="balanced").fit(x[:300], y[:300])
    assert scores["logistic_regression"]["roc_auc"] == pytest.approx(
        roc_auc_score(y[300:], reference.predict_proba(x[300:])[:, 1]))
    assert scores["random_forest"]["roc_auc"] > 0.8
    assert probabilities["random_forest"].shape == (100,)
    assert scores["gradient_boosting"]["roc_auc"] > 0.8 and probabilities["gradient_boosting"].shape == (100,)

"""SHAP on a model trained the way a user trains it (known deposits + sampled non-deposits,
spatial-block validation) recovers the synthetic law's favourable factors.

At province scale (100 km, ~1,100 deposits) the ranking is identifiable; on small test areas the
latent fields correlate by chance and ~200 deposits cannot separate them, which is why this
test uses the demo-size province."""
import pytest


@pytest.fixture(scope="module")
def province100(tmp_path_factory):
    from deepprospect.core import synthetic

    return synthetic.generate_province(tmp_path_factory.mktemp("province100"), size_km=100, seed=1)


def test_trained_network_explained_with_the_true_top_three_in_its_top_five(province100, tmp_path):
    from deepprospect.core import sampling
    from deepprospect.models import explain, training
    from deepprospect.models.bundle import load_bundle

    points = tmp_path / "points.gpkg"
    sampling.sample_training_points(province100["truth_evidence"], province100["deposits"], min_distance=500.0,
                                    seed=1, output=points)
    result = training.train_model(province100["truth_evidence"], points, architecture="pradhan2022_dense",
                                  validation="spatial_blocks", seed=42,
                                  epochs=200, output_model=tmp_path / "model.dpm")
    assert result.roc_auc > 0.85
    bundle = load_bundle(tmp_path / "model.dpm")
    explained = explain.explain_sample(bundle, province100["truth_evidence"], sample_size=600,
                                       background_size=100, seed=1)
    ranking = [name for name, _ in explain.importance(explained)]
    true_top_three = province100["truth"]["importance_ranking"][:3]
    assert set(true_top_three) <= set(ranking[:5]), (ranking, true_top_three)
    uninformative = set(province100["truth"]["uninformative_factors"])
    assert not uninformative & set(ranking[:3]), ranking

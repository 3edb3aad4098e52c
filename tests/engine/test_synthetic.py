"""The synthetic province checked against its documented generator law (core/synthetic.py)."""
import json

import numpy as np
import pytest
import rasterio
from scipy.spatial import cKDTree

from deepprospect.core import synthetic


def _read_points(path):
    import geopandas as gpd

    return gpd.read_file(path)


def test_crs_and_extent_as_specified(province):
    truth = province["truth"]
    assert truth["crs"] == "EPSG:32645"
    extent = truth["extent"]
    assert extent["xmax"] - extent["xmin"] == pytest.approx(20000.0)
    assert extent["ymax"] - extent["ymin"] == pytest.approx(20000.0)
    for key in ("geochemistry", "deposits", "shear_zones", "lineaments", "lithology"):
        frame = _read_points(province[key])
        assert frame.crs.to_epsg() == 32645, key
        xmin, ymin, xmax, ymax = frame.total_bounds
        assert xmin >= extent["xmin"] - 3000 and xmax <= extent["xmax"] + 3000, key
    expected = {"magnetic": (4326, None), "bouguer": (32644, 1000.0), "clay": (32645, 30.0), "silica": (32645, 30.0)}
    for key, (epsg, cell) in expected.items():
        with rasterio.open(province[key]) as dataset:
            assert dataset.crs.to_epsg() == epsg, key
            if cell:
                assert dataset.res == pytest.approx((cell, cell)), key
            # every grid covers the whole area once reprojected
            from rasterio.warp import transform_bounds
            left, bottom, right, top = transform_bounds(dataset.crs, "EPSG:32645", *dataset.bounds)
            assert left <= extent["xmin"] and right >= extent["xmax"], key
            assert bottom <= extent["ymin"] and top >= extent["ymax"], key


def test_geochemical_samples_about_one_per_square_km_with_holes(province):
    samples = _read_points(province["geochemistry"])
    xy = np.column_stack([samples.geometry.x, samples.geometry.y])
    distance, _ = cKDTree(xy).query(xy, k=2)
    nearest = distance[:, 1]
    assert 600 < np.median(nearest) < 1100  # jittered 1 km grid
    assert 300 < len(samples) <= 400        # 400 km², minus the unsampled forest reserve
    # an unsampled hole: some point of the area is > 2 km from every sample
    extent = province["truth"]["extent"]
    gx, gy = np.meshgrid(np.linspace(extent["xmin"] + 2000, extent["xmax"] - 2000, 60),
                         np.linspace(extent["ymin"] + 2000, extent["ymax"] - 2000, 60))
    gap, _ = cKDTree(xy).query(np.column_stack([gx.ravel(), gy.ravel()]))
    assert gap.max() > 2000
    for field, (median, log_sd, _) in synthetic.GEOCHEMISTRY.items():
        values = samples[field].to_numpy()
        assert np.all(values > 0), field
        logs = np.log(values)
        # log-normal: the log median sits near log(median), the log spread near log_sd
        assert abs(np.median(logs) - np.log(median)) < 0.6 * log_sd + 0.05, field
        assert 0.5 * log_sd < logs.std() < 1.5 * log_sd, field
        # spatially correlated: a sample resembles its nearest neighbour more than a random one
        _, neighbour = cKDTree(xy).query(xy, k=2)
        assert np.corrcoef(logs, logs[neighbour[:, 1]])[0, 1] > 0.5, field


def test_truth_probability_follows_the_documented_law(province):
    """Rebuild P from the noise-free evidence and truth.json alone, and compare."""
    with open(province["truth_json"]) as handle:
        truth = json.load(handle)
    with rasterio.open(province["truth_evidence"]) as dataset:
        bands = dict(zip(dataset.descriptions, dataset.read().astype(float)))
    with rasterio.open(province["truth_probability"]) as dataset:
        probability = dataset.read(1).astype(float)
    terms = {}
    for name in ("Sb_con", "Pb_con", "As_con"):
        median, log_sd, _ = synthetic.GEOCHEMISTRY[name]
        terms[name] = np.log(bands[name] / median) / (0.92 * log_sd)
    terms["Oli_clay"] = (bands["Oli_clay"] - 1.0) / 0.15
    terms["Mag_anamol"] = (bands["Mag_anamol"] - 35.0) / 120.0
    terms["Dist_shear"] = np.exp(-bands["Dist_shear"] / 3000.0)
    terms["Lith_gold"] = bands["Lith_gold"]
    logit = truth["intercept"] + sum(truth["weights"][name] * terms[name] for name in truth["weights"])
    expected = 1 / (1 + np.exp(-logit))
    assert np.abs(expected - probability).max() < 2e-4
    assert probability.mean() == pytest.approx(0.06, abs=0.002)
    for name in ("Sb_con", "Oli_clay", "Pb_con"):
        assert abs(terms[name].mean()) < 0.05 and terms[name].std() == pytest.approx(1.0, abs=0.05)


def test_deposit_density_rises_with_true_favourability(province):
    deposits = _read_points(province["deposits"])
    xy = np.column_stack([deposits.geometry.x, deposits.geometry.y])
    p_at_deposits = synthetic.truth_probability_at(province["truth_probability"], xy)
    with rasterio.open(province["truth_probability"]) as dataset:
        probability = dataset.read(1)
    # the top 10 % most favourable area holds far more than 10 % of the deposits
    threshold = np.quantile(probability, 0.9)
    assert np.mean(p_at_deposits >= threshold) > 0.3
    # and expected count = candidate density × area × mean(P), within Poisson noise
    expected = synthetic.CANDIDATE_DENSITY * 400 * probability.mean()
    assert abs(len(deposits) - expected) < 4 * np.sqrt(expected)
    # intensity is proportional to P: mean P at deposits ≈ E[P²]/E[P] over the area
    ratio = np.mean(probability ** 2) / probability.mean()
    assert p_at_deposits.mean() == pytest.approx(ratio, rel=0.35)


def test_true_importance_ranking_is_documented(province):
    truth = province["truth"]
    ranking = truth["importance_ranking"]
    assert ranking[:3] == ["Sb_con", "Oli_clay", "Pb_con"]
    assert set(truth["uninformative_factors"]).isdisjoint(truth["weights"])
    assert len(truth["factor_names"]) == 16


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    first = synthetic.generate_province(tmp_path / "a", size_km=8, seed=7)
    again = synthetic.generate_province(tmp_path / "b", size_km=8, seed=7)
    other = synthetic.generate_province(tmp_path / "c", size_km=8, seed=8)
    read = lambda result: rasterio.open(result["truth_probability"]).read(1)
    assert np.array_equal(read(first), read(again))
    assert not np.array_equal(read(first), read(other))
    assert first["truth"]["deposit_count"] == again["truth"]["deposit_count"]


def test_bad_size_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="SIZE_KM"):
        synthetic.generate_province(tmp_path, size_km=1)

"""The synthetic province's laws (core/synthetic_laws.py), its future deposits and the score of a
map on them (core/synthetic_scoring.py), each against an independent reference."""
import hashlib
import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from sklearn.metrics import roc_auc_score

from deepprospect.core import synthetic, synthetic_laws
from deepprospect.core.errors import DeepProspectError
from deepprospect.core.raster import write_geotiff
from deepprospect.core.synthetic_scoring import score_future_deposits

#: Content hashes of the files of generate_province(size_km=8, seed=7) computed by the code
#: before the LAW choice existed (commit 3480b6c): the linear law must keep writing them.
LINEAR_REFERENCE = {
    "geochemistry": "3790cf1bdd9fd664", "magnetic": "f012cbf1569b490b", "bouguer": "3d139b3507ebf0bb",
    "clay": "2ab2908a34b3516a", "silica": "0ad38c529d10970e", "shear_zones": "90ef06689cb5bda6",
    "lineaments": "875fbe4e27aa8432", "lithology": "60c2e13398967559", "deposits": "63ecdd24b4d4627b",
    "truth_probability": "fa2d9683434a3bed", "truth_evidence": "7a20d86fe3979304",
}
LINEAR_REFERENCE_INTERCEPT = -5.996645153731285
LINEAR_REFERENCE_DEPOSITS = 13


def _read_frame(path):
    import geopandas as gpd

    return gpd.read_file(path)


def _content_hash(path):
    """Hash of what a file holds (pixels, grid, names; or attributes, geometries, CRS), not of its
    bytes: a GeoPackage stores its write time."""
    digest = hashlib.sha256()
    if str(path).endswith(".tif"):
        with rasterio.open(path) as dataset:
            digest.update(dataset.read().tobytes())
            digest.update(repr((tuple(dataset.transform), dataset.crs.to_epsg(), dataset.descriptions,
                                dataset.nodata)).encode())
    else:
        frame = _read_frame(path)
        digest.update(repr((list(frame.columns), frame.crs.to_epsg())).encode())
        digest.update(frame.drop(columns="geometry").to_csv(index=False).encode())
        for geometry in frame.geometry:
            digest.update(geometry.wkb)
    return digest.hexdigest()[:16]


def _xy(path):
    frame = _read_frame(path)
    return np.column_stack([frame.geometry.x, frame.geometry.y])


@pytest.fixture(scope="module")
def nonlinear40(tmp_path_factory):
    """A 40 km province under the nonlinear law (seed 1): about 180 deposits and 180 future ones."""
    return synthetic.generate_province(tmp_path_factory.mktemp("nonlinear40"), size_km=40, seed=1, law="nonlinear")


def test_linear_law_writes_the_same_files_as_before_the_choice(tmp_path):
    for law in ("linear", 0):
        result = synthetic.generate_province(tmp_path / str(law), size_km=8, seed=7, law=law)
        assert {key: _content_hash(result[key]) for key in LINEAR_REFERENCE} == LINEAR_REFERENCE
        truth = result["truth"]
        assert truth["intercept"] == LINEAR_REFERENCE_INTERCEPT and truth["law"] == "linear"
        assert truth["deposit_count"] == LINEAR_REFERENCE_DEPOSITS
        assert truth["weights"] == synthetic.TRUE_WEIGHTS
    # the default of the Python function stays linear (scripts written before the choice)
    default = synthetic.generate_province(tmp_path / "default", size_km=8, seed=7)
    assert _content_hash(default["truth_probability"]) == LINEAR_REFERENCE["truth_probability"]


def _latent_from_evidence(bands, name):
    """The standardised latent field of a factor, recovered from the noise-free evidence."""
    if name == "Oli_clay":
        return (bands[name] - 1.0) / 0.15
    if name == "Mag_anamol":
        return (bands[name] - 35.0) / 120.0
    median, log_sd, _ = synthetic.GEOCHEMISTRY[name]
    return np.log(bands[name] / median) / (0.92 * log_sd)


def test_nonlinear_truth_follows_its_documented_formula(nonlinear40):
    """Rebuild P from truth_evidence.tif, lithology_units.tif and the numbers in truth.json alone."""
    truth = json.loads(open(nonlinear40["truth_json"]).read())
    assert truth["law"] == "nonlinear"
    with rasterio.open(nonlinear40["truth_evidence"]) as dataset:
        bands = dict(zip(dataset.descriptions, dataset.read().astype(float)))
    with rasterio.open(nonlinear40["lithology_units"]) as dataset:
        units = dataset.read(1)
        assert dataset.descriptions == ("Lithology",)
    with rasterio.open(nonlinear40["truth_probability"]) as dataset:
        probability = dataset.read(1).astype(float)
    weights, thresholds = truth["weights"], truth["thresholds"]
    corridor = (bands["Dist_shear"] <= thresholds["corridor_m"]).astype(float)
    anomaly = np.maximum(_latent_from_evidence(bands, "Sb_con") - thresholds["Sb_anomaly_z"], 0)
    clay = np.maximum(_latent_from_evidence(bands, "Oli_clay") - thresholds["Oli_clay_hinge_z"], 0)
    magnetic = (np.abs(_latent_from_evidence(bands, "Mag_anamol")) <= thresholds["Mag_band_z"]).astype(float)
    lithology = np.vectorize(lambda code: truth["lithology_weights"][str(code)])(units)
    logit = (truth["intercept"] + weights["corridor_and_anomaly"] * corridor * anomaly
             + weights["corridor"] * corridor + weights["anomaly"] * anomaly + weights["clay_hinge"] * clay
             + weights["magnetic_band"] * magnetic + lithology)
    expected = 1 / (1 + np.exp(-logit))
    # float32 evidence may put a cell a hair's breadth on the other side of a threshold
    assert np.mean(np.abs(expected - probability) < 2e-4) > 0.999
    assert probability.mean() == pytest.approx(0.06, abs=0.002) == truth["mean_probability"]
    # an interaction, thresholds, and unit weights not monotonic in code order
    codes = sorted(truth["lithology_weights"], key=int)
    steps = np.diff([truth["lithology_weights"][code] for code in codes])
    assert (steps > 0).any() and (steps < 0).any()
    assert set(np.unique(units)) == {1, 2, 3, 4, 5}
    from xml.etree import ElementTree
    categories = ElementTree.parse(nonlinear40["lithology_units"] + ".aux.xml").getroot().iter("Category")
    assert [item.text or "" for item in categories] == [""] + [unit["unit"] for unit in truth["lithology_units"]]
    favourable = {unit["code"] for unit in truth["lithology_units"] if unit["gold_favourable"]}
    assert favourable == {int(code) for code in codes if truth["lithology_weights"][code] > 0}
    assert np.array_equal(bands["Lith_gold"], np.isin(units, sorted(favourable)).astype(float))
    assert set(truth["importance_ranking"]) == {"Lithology", "Sb_con", "Dist_shear", "Oli_clay", "Mag_anamol"}


def test_future_deposits_are_a_second_independent_draw_from_the_same_law(nonlinear40):
    truth = nonlinear40["truth"]
    with rasterio.open(nonlinear40["truth_probability"]) as dataset:
        probability = dataset.read(1).astype(float)
    deposits, future = _xy(nonlinear40["deposits"]), _xy(nonlinear40["future_deposits"])
    assert len(future) == truth["future_deposit_count"] and len(deposits) == truth["deposit_count"]
    # other places: no future deposit within 1 m of a training one
    from scipy.spatial import cKDTree
    assert cKDTree(deposits).query(future)[0].min() > 1.0
    # the same intensity law: count ≈ candidate density × area × mean P, and the mean truth
    # probability at the deposits ≈ E[P²] / E[P] (thinning by P), well above the area's mean
    expected_count = synthetic.CANDIDATE_DENSITY * 40 * 40 * probability.mean()
    expected_ratio = np.mean(probability ** 2) / probability.mean()
    assert truth["expected_probability_at_deposits"] == pytest.approx(expected_ratio, rel=1e-4)
    assert expected_ratio > 3 * probability.mean()
    for xy in (deposits, future):
        assert abs(len(xy) - expected_count) < 4 * np.sqrt(expected_count)
        at_points = synthetic.truth_probability_at(nonlinear40["truth_probability"], xy)
        assert at_points.mean() == pytest.approx(expected_ratio, rel=0.25)
    # each carries the truth at its place (bilinear on the base grid; the area's edge and the law's
    # thresholds make a few differ from the raster's own interpolation)
    frame = _read_frame(nonlinear40["future_deposits"])
    difference = np.abs(frame["true_probability"] - synthetic.truth_probability_at(nonlinear40["truth_probability"],
                                                                                  future))
    assert np.median(difference) < 1e-3


def _small_map(path, values, nodata=-9999.0):
    transform = from_origin(0.0, 1000.0, 100.0, 100.0)
    write_geotiff(path, values[None].astype(np.float32), transform, "EPSG:32645", ["probability"], nodata=nodata)
    return transform


def _points(path, xy):
    import geopandas as gpd

    gpd.GeoDataFrame({"id": np.arange(len(xy))}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                     crs="EPSG:32645").to_file(path, driver="GPKG")


def test_score_equals_sklearn_roc_auc_of_deposit_cells_against_every_valid_cell(tmp_path):
    rng = np.random.default_rng(4)
    values = rng.uniform(size=(10, 10))
    values[0, :3] = -9999.0                       # nodata cells are not background
    truth = np.round(rng.uniform(size=(10, 10)), 1)   # ties count half
    _small_map(tmp_path / "map.tif", values)
    _small_map(tmp_path / "truth.tif", truth)
    rows, cols = np.array([5, 5, 2, 9, 0, 7]), np.array([5, 5, 8, 1, 1, 3])    # (0, 1) is nodata
    xy = np.column_stack([cols * 100.0 + 50.0, 1000.0 - rows * 100.0 - 50.0])
    xy = np.vstack([xy, [[5000.0, 5000.0]]])     # off the map
    _points(tmp_path / "future.gpkg", xy)
    score = score_future_deposits(tmp_path / "map.tif", tmp_path / "future.gpkg", tmp_path / "truth.tif")
    used = values[rows, cols] != -9999.0
    background = values[values != -9999.0]
    expected = roc_auc_score(np.r_[np.ones(used.sum()), np.zeros(background.size)],
                             np.r_[values[rows, cols][used], background])
    assert score.auc == pytest.approx(expected, abs=1e-12)
    assert score.deposits == 5 and score.left_out == 2 and score.cells == 97
    expected_truth = roc_auc_score(np.r_[np.ones(used.sum()), np.zeros(truth.size)],
                                   np.r_[truth[rows, cols][used], truth.ravel()])
    assert score.truth_auc == pytest.approx(expected_truth, abs=1e-12)


def test_truth_surface_scores_well_above_chance_on_future_deposits(nonlinear40):
    score = score_future_deposits(nonlinear40["truth_probability"], nonlinear40["future_deposits"],
                                  nonlinear40["truth_probability"])
    assert score.auc == score.truth_auc == nonlinear40["truth"]["future_truth_auc"] and score.auc > 0.8
    assert score.deposits == nonlinear40["truth"]["future_deposit_count"] and score.left_out == 0


def test_unknown_law_is_a_clear_error(tmp_path, bad_input):
    with pytest.raises(DeepProspectError, match="LAW must be one of linear, nonlinear") as raised:
        synthetic.generate_province(tmp_path, size_km=6, seed=1, law="quadratic")
    bad_input("Unknown LAW of the synthetic province", "error", str(raised.value))
    assert synthetic_laws.check_law(1) == "nonlinear" and synthetic.LAWS == ("linear", "nonlinear")


def test_scoring_a_map_of_another_area_is_a_clear_error(tmp_path, bad_input):
    _small_map(tmp_path / "map.tif", np.ones((10, 10)))
    _points(tmp_path / "future.gpkg", np.array([[9000.0, 9000.0]]))
    with pytest.raises(DeepProspectError, match="None of the 1 future deposit lies on a valid cell") as raised:
        score_future_deposits(tmp_path / "map.tif", tmp_path / "future.gpkg")
    bad_input("Future deposits outside the map being scored", "error", str(raised.value))

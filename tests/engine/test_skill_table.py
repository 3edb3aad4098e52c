"""scripts/skill_table.py on a small nonlinear province with one fast architecture: the table it
writes holds the scores of the files it wrote, the truth's ceiling is the truth scored on the
same future deposits, and deepprospect:predict's success-rate AUC on them is the same score."""
import importlib.util
import json

import pytest
import rasterio

from conftest import ROOT
from deepprospect.core.points import read_points
from deepprospect.core.synthetic_scoring import score_future_deposits
from deepprospect.models.predict import predict_map


def _load_script():
    spec = importlib.util.spec_from_file_location("skill_table", ROOT / "scripts" / "skill_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_skill_table_scores_the_maps_it_wrote(tmp_path):
    skill_table = _load_script()
    skill_table.main(["--size-km", "20", "--seed", "1", "--laws", "nonlinear", "--architectures",
                      "logistic_regression", "--output", str(tmp_path)])
    rows = json.loads((tmp_path / "skill_table.json").read_text())
    assert [(row["law"], row["architecture"]) for row in rows] == [("nonlinear", "logistic_regression")]
    row = rows[0]
    folder = tmp_path / "nonlinear"
    with rasterio.open(folder / "evidence_stack.tif") as dataset:
        assert "Lithology" in dataset.descriptions and "Lith_gold" not in dataset.descriptions
    province = folder / "province"
    score = score_future_deposits(folder / "logistic_regression" / "probability.tif",
                                  province / "future_deposits.gpkg", province / "truth_probability.tif")
    assert row["future_auc"] == pytest.approx(score.auc, abs=1e-12)
    truth = score_future_deposits(province / "truth_probability.tif", province / "future_deposits.gpkg")
    assert row["truth_auc"] == pytest.approx(truth.auc, abs=1e-12)
    assert json.loads((province / "truth.json").read_text())["future_truth_auc"] == truth.auc
    # deepprospect:predict with the future deposits as DEPOSITS reports the same score (success-rate AUC)
    _, future_xy = read_points(province / "future_deposits.gpkg")
    predicted = predict_map(str(folder / "logistic_regression" / "model.dpm"), str(folder / "evidence_stack.tif"),
                            str(tmp_path / "again.tif"), deposits_xy=future_xy, write_styles=False)
    assert predicted.auc == pytest.approx(score.auc, abs=1e-9)
    assert 0.5 < row["future_auc"] < 1 and 0.5 < row["kfold_mean"] <= 1 and row["kfold_sd"] >= 0
    table = (tmp_path / "skill_table.md").read_text()
    assert "| nonlinear | logistic_regression | {:.3f} ± {:.3f} | {:.3f} |".format(
        row["kfold_mean"], row["kfold_sd"], row["future_auc"]) in table

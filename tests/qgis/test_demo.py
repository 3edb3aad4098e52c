"""`make demo`'s chain, through qgis_process as a batch user runs it, on a small province:
the QGIS project it writes opens with every layer valid, grouped as promised, and the summary's
numbers are the ones in the files it points to."""
import csv
import json
import subprocess
import sys

from reference import ROOT, bundle_metadata


def test_demo_chain_writes_a_project_that_opens(qgis_app, tmp_path):
    from qgis.core import QgsProject

    out = tmp_path / "demo"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--size-km", "16", "--output", str(out),
         "--epochs", "15", "--ensemble-size", "2", "--shap-samples", "200", "--folds", "2"],
        capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    project = QgsProject()
    assert project.read(str(out / "DeepProspect_demo.qgz"))
    layers = list(project.mapLayers().values())
    assert len(layers) >= 18
    assert all(layer.isValid() for layer in layers), [layer.name() for layer in layers if not layer.isValid()]
    root = project.layerTreeRoot()
    groups = [child.name() for child in root.children() if child.nodeType() == child.NodeGroup]
    assert groups == ["Model", "Results", "Evidence", "Inputs"]
    assert root.findLayers()[0].layer().name() == "Known deposits"
    probability = project.mapLayersByName("Probability of gold")[0]
    assert probability.renderer().type() == "singlebandpseudocolor"     # its QML style was applied

    summary = (out / "summary.txt").read_text()
    metadata = bundle_metadata(out / "model.dpm")
    assert "{:.3f}".format(metadata["metrics"]["roc_auc"]) in summary
    assert "{:.3f}".format(metadata["baselines"]["logistic_regression"]["roc_auc"]) in summary
    # spatial k-fold: mean ± sd over the folds for the network and each baseline
    for name in ("network", "logistic_regression", "random_forest", "gradient_boosting"):
        score = metadata["cross_validation"]["summary"][name]["roc_auc"]
        assert "{:.3f} ± {:.3f}".format(score["mean"], score["sd"]) in summary, name
    with open(out / "shap" / "importance.csv") as handle:
        top_five = [row["factor"] for row in csv.DictReader(handle)][:5]
    assert ", ".join(top_five) in summary
    truth = json.loads((out / "province" / "truth.json").read_text())
    assert ", ".join(truth["importance_ranking"][:5]) in summary
    trained = "train {}".format(metadata["architecture"])     # the demo trains train's default model
    assert metadata["architecture"] == _default_architecture()
    for step in ("IDW of nine elements", "distance to shear zones", trained, "total"):
        assert step in summary
    # the nonlinear law (the demo's default): its lithology units stacked as one categorical factor,
    # and the map scored on the province's future deposits beside the true law's own score
    assert "on {} future deposits no model saw".format(truth["future_deposit_count"]) in summary
    assert "(the true law's own map: {:.3f})".format(truth["future_truth_auc"]) in summary
    assert project.mapLayersByName("Lithology units (categorical factor)")
    import rasterio
    with rasterio.open(str(out / "evidence_stack.tif")) as stack:
        kinds = {name: stack.tags(index + 1).get("DEEPPROSPECT_FACTOR_KIND")
                 for index, name in enumerate(stack.descriptions)}
    assert kinds["Lithology"] == "categorical" and kinds["Sb_con"] == "continuous"


def _default_architecture():
    """deepprospect:train's default model, from the plugin's catalog (standard library only)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("deepprospect_catalog", ROOT / "catalog.py")
    catalog = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(catalog)
    return catalog.TrainingSettings().architecture

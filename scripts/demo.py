#!/usr/bin/env python3
"""``make demo``: the whole DeepProspect chain through ``qgis_process``, as a batch user runs it.

On the synthetic province (default 100 × 100 km, seed 1, the paper's 16 factors, the nonlinear
law: deposits where a shear corridor meets an Sb anomaly, favoured in some lithology units):
IDW of nine elements → distance to shear zones and lineament density with QGIS's own
algorithms, lithology units as a categorical factor → 16-factor stack at 444 m → non-deposit
sampling → training the default model with spatial k-fold cross-validation (5 folds; the
baselines on the same folds), calibrated to the province's true share of deposit cells → probability, uncertainty and class maps with the success-rate
curve, scored on the province's future deposits (never used in training) → SHAP charts → a
QGIS project (``DeepProspect_demo.qgz``) with every layer, styled and grouped. Prints a summary
with honest numbers and the wall time of each step, and keeps the full log of every step
(Processing's messages, QGIS's and the engine's standard error) in ``demo.log`` beside it;
``make demo-check`` checks that log for warnings from DeepProspect (scripts/demo_log.py).

Usage: scripts/demo.py [--size-km 100] [--seed 1] [--output demo_output]
                       [--architecture auto|pradhan2022_dense|cnn1d|…] [--pixel-size 444]
                       [--folds 5]  (0: one spatial-block split instead of k-fold) [--law nonlinear|linear]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from demo_log import PROJECT_STEP, DemoLog, report_of

ROOT = Path(__file__).resolve().parent.parent
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
ELEMENTS = ["Sb_con", "Pb_con", "As_con", "Al_con", "Hg_con", "Sn_con", "Co_con", "Cu_con", "SiO2_con"]
def _catalog():
    """The plugin's ``catalog.py`` (standard library only), for the architectures' names and order."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("deepprospect_catalog", ROOT / "catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOG = _catalog()
#: deepprospect:train's ARCHITECTURE choices, in enum order.
ARCHITECTURES = list(CATALOG.ARCHITECTURES.names())
#: deepprospect:synthetic_province's LAW indices (0 linear, 1 nonlinear).
LAWS = ["linear", "nonlinear"]
#: deepprospect:train's VALIDATION indices (catalog.VALIDATION_SCHEMES order).
SPATIAL_BLOCKS, SPATIAL_KFOLD = 1, 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-km", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default=str(ROOT / "demo_output"))
    parser.add_argument("--architecture", choices=ARCHITECTURES, default=CATALOG.TrainingSettings().architecture)
    parser.add_argument("--pixel-size", type=float, default=444.0, help="stack pixel (m); the paper used 444 m")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--ensemble-size", type=int, default=3)
    parser.add_argument("--shap-samples", type=int, default=1000)
    parser.add_argument("--folds", type=int, default=5, help="spatial k-fold folds; 0: one spatial-block split")
    parser.add_argument("--law", choices=LAWS, default="nonlinear",
                        help="the province's deposit law: nonlinear (corridor x anomaly, lithology units) or linear")
    args = parser.parse_args(argv)
    demo = Demo(Path(args.output).resolve(), args)
    demo.run()
    return 0


class Demo:
    def __init__(self, output, args):
        self.output, self.args = output, args
        self.timings = []
        self.files = {}
        self.log = None

    def run(self):
        started = time.perf_counter()
        self.output.mkdir(parents=True, exist_ok=True)
        self.log = DemoLog(self.output / "demo.log")
        args, out = self.args, self.output
        evidence = out / "evidence"
        evidence.mkdir(exist_ok=True)

        province = self.step("synthetic province", "deepprospect:synthetic_province",
                             SIZE_KM=args.size_km, SEED=args.seed, LAW=LAWS.index(args.law),
                             OUTPUT_FOLDER=out / "province")
        truth = json.loads(Path(province["TRUTH"]).read_text())
        extent = truth["extent"]
        extent_text = "{xmin},{xmax},{ymin},{ymax} [EPSG:32645]".format(**extent)
        fine = min(100.0, args.pixel_size)

        idw = self.step("IDW of nine elements", "deepprospect:idw",
                        INPUT=province["GEOCHEMISTRY"], FIELDS=ELEMENTS, PIXEL_SIZE=250.0, EXTENT=extent_text,
                        POWER=2.0, NEIGHBORS=12, RADIUS=3000.0, OUTPUT=evidence / "geochemistry_idw.tif")
        shear_raster = self.step("rasterise shear zones", "gdal:rasterize",
                                 INPUT=province["SHEAR_ZONES"], BURN=1, UNITS=1, WIDTH=fine, HEIGHT=fine,
                                 EXTENT=extent_text, INIT=0, DATA_TYPE=0, OUTPUT=evidence / "shear_zones_burnt.tif")
        self.step("distance to shear zones", "gdal:proximity",
                  INPUT=shear_raster["OUTPUT"], BAND=1, VALUES="1", UNITS=0, DATA_TYPE=5,
                  OUTPUT=evidence / "Dist_shear.tif")
        self.step("lineament density", "native:linedensity",
                  INPUT=province["LINEAMENTS"], RADIUS=2500.0, PIXEL_SIZE=args.pixel_size,
                  OUTPUT=evidence / "Linea_den.tif")  # QGIS's line density is slow at fine pixels
        if args.law == "linear":   # its law knows one gold-favourable flag
            self.step("rasterise lithology", "gdal:rasterize",
                      INPUT=province["LITHOLOGY"], FIELD="gold_favourable", UNITS=1, WIDTH=fine, HEIGHT=fine,
                      EXTENT=extent_text, DATA_TYPE=0, NODATA=255, OUTPUT=evidence / "Lith_gold.tif")
            lithology = str(evidence / "Lith_gold.tif")
        else:                      # each unit its own class, named in the raster's .aux.xml
            lithology = province["LITHOLOGY_UNITS"]

        layers = [idw["OUTPUT"], province["MAGNETIC"], province["BOUGUER"], province["CLAY"], province["SILICA"],
                  str(evidence / "Dist_shear.tif"), lithology, str(evidence / "Linea_den.tif")]
        stack = self.step("stack 16 factors at {:g} m".format(args.pixel_size), "deepprospect:stack",
                          LAYERS=layers, CATEGORICAL=[lithology], REFERENCE=idw["OUTPUT"],
                          PIXEL_SIZE=args.pixel_size, OUTPUT=out / "evidence_stack.tif")
        points = self.step("sample non-deposits", "deepprospect:sample_negatives",
                           STACK=stack["OUTPUT"], DEPOSITS=province["DEPOSITS"], MIN_DISTANCE=1000.0, SEED=args.seed,
                           OUTPUT=out / "training_points.gpkg")
        block_size = max(5000.0, args.size_km * 1000.0 / 8)
        train = self.step("train {}".format(args.architecture), "deepprospect:train",
                          STACK=stack["OUTPUT"], POINTS=points["OUTPUT"], LABEL_FIELD="label", ARCHITECTURE=ARCHITECTURES.index(args.architecture),
                          EPOCHS=args.epochs, VALIDATION=SPATIAL_KFOLD if args.folds else SPATIAL_BLOCKS,
                          FOLDS=max(args.folds, 2), BLOCK_SIZE=block_size, ENSEMBLE_SIZE=args.ensemble_size,
                          SEED=42, PRIOR=truth["mean_probability"],   # the province's true share of deposit cells
                          OUTPUT_MODEL=out / "model.dpm", OUTPUT_REPORT=out / "training_report.html")
        predict = self.step("predict the map", "deepprospect:predict",
                            STACK=stack["OUTPUT"], MODEL=train["OUTPUT_MODEL"], DEPOSITS=province["FUTURE_DEPOSITS"],
                            OUTPUT=out / "probability.tif", OUTPUT_UNCERTAINTY=out / "uncertainty.tif",
                            OUTPUT_CLASSES=out / "classes.tif")
        shap = self.step("SHAP explanation", "deepprospect:shap",
                         MODEL=train["OUTPUT_MODEL"], STACK=stack["OUTPUT"], POINTS=points["OUTPUT"],
                         SAMPLE_SIZE=args.shap_samples, BACKGROUND_SIZE=100, EXPLAINER=0, SEED=args.seed,
                         OUTPUT_FOLDER=out / "shap")

        files = dict(
            deposits=province["DEPOSITS"], shear_zones=province["SHEAR_ZONES"], training_points=points["OUTPUT"],
            probability=predict["OUTPUT"], uncertainty=predict.get("OUTPUT_UNCERTAINTY"),
            classes=predict.get("OUTPUT_CLASSES"), stack=stack["OUTPUT"], idw=idw["OUTPUT"],
            distance_to_shear=str(evidence / "Dist_shear.tif"), lineament_density=str(evidence / "Linea_den.tif"),
            geochemistry=province["GEOCHEMISTRY"], future_deposits=province["FUTURE_DEPOSITS"],
            lineaments=province["LINEAMENTS"], lithology=province["LITHOLOGY"], magnetic=province["MAGNETIC"],
            bouguer=province["BOUGUER"], clay=province["CLAY"], silica=province["SILICA"],
            truth_probability=province["TRUTH_PROBABILITY"],
            **{"lithology_raster" if args.law == "linear" else "lithology_units": lithology})
        project_started = time.perf_counter()
        project_path = out / "DeepProspect_demo.qgz"
        self.log.step("QGIS project", PROJECT_STEP)
        write_project(project_path, files, self.log)
        self.timings.append(("QGIS project", time.perf_counter() - project_started))

        self.summary(truth, train, predict, shap, project_path, time.perf_counter() - started)

    def step(self, title, algorithm, **parameters):
        print("\n== {} ({})".format(title, algorithm), flush=True)
        started = time.perf_counter()
        results = qgis_process(algorithm, parameters, self.log, title)
        elapsed = time.perf_counter() - started
        self.timings.append((title, elapsed))
        print("   done in {:.1f} s".format(elapsed), flush=True)
        return results

    def summary(self, truth, train, predict, shap, project_path, total):
        metadata = _bundle_metadata(train["OUTPUT_MODEL"])
        lines = ["", "=" * 72, "DeepProspect demo: summary", "=" * 72]
        if metadata.get("cross_validation"):
            lines += _cross_validation_lines(metadata)
        else:
            lines += _single_split_lines(metadata)
        calibration = (metadata.get("cross_validation") or {}).get("calibration")
        if calibration:
            lines.append("Probabilities calibrated on the held-out folds and scaled to the stated prior {:.3f} (known "
                         "deposits: {:.4f} of the cells, so {:.0%} taken as found)".format(
                             calibration["prior"] or 0.0, calibration["labelled_prior"],
                             calibration["discovered_fraction"]))
        lines.append("ROC-AUC of the probability map on {} future deposits no model saw: {:.3f} "
                     "(the true law's own map: {:.3f})".format(
                         truth.get("future_deposit_count", "?"), float(predict.get("SUCCESS_RATE_AUC", float("nan"))),
                         float(truth.get("future_truth_auc", float("nan")))))
        importance = _read_importance(Path(shap["OUTPUT_FOLDER"]) / "importance.csv")
        lines.append("Top five factors by mean |SHAP|: " + ", ".join(importance[:5]))
        lines.append("True top five of the synthetic law:  " + ", ".join(truth["importance_ranking"][:5]))
        hits = len(set(importance[:5]) & set(truth["importance_ranking"][:3]))
        lines.append("  ({} of the true top three are in the computed top five)".format(hits))
        lines.append("Files in {}:".format(self.output))
        lines.append("  project: {}".format(project_path))
        lines.append("  probability: {}   uncertainty: {}".format(predict["OUTPUT"], predict.get("OUTPUT_UNCERTAINTY")))
        lines.append("  training report: {}   SHAP page: {}".format(
            train.get("OUTPUT_REPORT"), Path(shap["OUTPUT_FOLDER"]) / "explanation.html"))
        lines.append("Wall time per step:")
        for title, seconds in self.timings:
            lines.append("  {:<34} {:7.1f} s".format(title, seconds))
        lines.append("  {:<34} {:7.1f} s".format("total", total))
        text = "\n".join(lines)
        print(text)
        (self.output / "summary.txt").write_text(text + "\n")
        self.log.finish(text)
        print("Full log: {}".format(self.log.path))


def qgis_process(algorithm, parameters, demo_log, title):
    """Run one algorithm with /usr/bin/qgis_process.bin and return its results dict; everything it
    (and the engine worker it starts) says goes to ``demo_log`` (scripts/demo_log.DemoLog)."""
    arguments = [QGIS_PROCESS, "--json", "run", algorithm, "--"]
    for name, value in parameters.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        arguments += ["{}={}".format(name, item) for item in values]
    demo_log.step(title, algorithm, " ".join(arguments))
    with tempfile.TemporaryDirectory() as folder:
        engine_log = Path(folder) / "engine_stderr.txt"
        environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2",
                           DEEPPROSPECT_ENGINE_STDERR=str(engine_log))
        completed = subprocess.run(arguments, capture_output=True, text=True, env=environment)
        report = report_of(completed.stdout)
        engine_lines = engine_log.read_text(errors="replace").splitlines() if engine_log.exists() else []
    demo_log.processing(report, completed.stderr, engine_lines)
    if completed.returncode != 0 or report is None:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit("{} failed (exit code {}); the full log: {}".format(
            algorithm, completed.returncode, demo_log.path))
    log = report.get("log", {}).get("info", []) if isinstance(report.get("log"), dict) else []
    for line in (log.splitlines() if isinstance(log, str) else log)[-6:]:
        print("   " + str(line).strip())
    return report["results"]


_APPLICATION = []
#: Qgis.MessageLevel values as the log names them.
_LEVELS = {0: "Info", 1: "Warning", 2: "Critical", 3: "Success", 4: "NoLevel"}


def write_project(path, files, demo_log=None):
    """The demo's QGIS project (scripts/demo_project.py: zoomed to the province, grouped, every layer
    styled); QGIS's message log and Python's warnings meanwhile go to ``demo_log`` when given."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    if not _APPLICATION:
        # Kept for the life of the script: QGIS 3.40 crashes when the application object is
        # collected at the end of this function while the project still exists.
        _APPLICATION.append(QgsApplication.instance() or QgsApplication([], False))
        _APPLICATION[0].initQgis()
    sys.path.insert(0, str(_import_dir()))
    from demo_project import write_project as write_demo_project

    def listen(message, tag, level):
        demo_log.message(_LEVELS.get(int(level), str(int(level))), tag, message)

    messages = QgsApplication.messageLog()
    if demo_log is not None:
        messages.messageReceived.connect(listen)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return write_demo_project(path, files)
    except RuntimeError as error:
        raise SystemExit(str(error))
    finally:
        if demo_log is not None:
            messages.messageReceived.disconnect(listen)
            for warning in caught:
                demo_log.python_warning(warning)


def _bundle_metadata(path):
    """The bundle's metadata.json (the bundle is a zip), read without the engine's packages."""
    import zipfile

    with zipfile.ZipFile(path) as bundle:
        return json.loads(bundle.read("metadata.json").decode("utf-8"))


def _single_split_lines(metadata):
    validation = metadata.get("validation", {})
    lines = ["Validation on {} points in {} held-out spatial blocks of {:g} km ({} training points):".format(
        validation.get("validation_points"), validation.get("validation_blocks"),
        validation.get("block_size", float("nan")) / 1000.0, validation.get("training_points"))]
    lines.append("  {:<24} {:>9} {:>9} {:>9}".format("model", "ROC-AUC", "accuracy", "F1 gold"))
    rows = [(metadata["architecture"], metadata["metrics"])]
    rows += [(name.replace("_", " "), values) for name, values in metadata.get("baselines", {}).items()]
    for name, metrics in rows:
        lines.append("  {:<24} {:>9.3f} {:>9.3f} {:>9.3f}".format(
            name, metrics.get("roc_auc", float("nan")), metrics.get("accuracy", float("nan")), _f1_gold(metrics)))
    return lines


def _cross_validation_lines(metadata):
    """Mean ± sd over the folds for the network and the baselines, then the pooled out-of-fold
    accuracy and F1; the final model was trained on all points."""
    folds = metadata["cross_validation"]
    lines = ["Spatial {}-fold cross-validation on blocks of {:g} km ({} points; the final model then trained on all "
             "of them):".format(folds["folds"], folds["block_size"] / 1000.0, metadata["validation"]["training_points"])]
    lines.append("  {:<20} {:>15} {:>15} {:>17} {:>9} {:>8}".format(
        "model", "ROC-AUC", "PR-AUC", "prediction-rate", "accuracy", "F1 gold"))
    columns = [(metadata["architecture"], "network", metadata["metrics"])]
    columns += [(name.replace("_", " "), name, values) for name, values in metadata.get("baselines", {}).items()]
    for title, key, metrics in columns:
        summary = folds["summary"][key]
        cells = ["{:.3f} ± {:.3f}".format(summary[score]["mean"], summary[score]["sd"])
                 for score in ("roc_auc", "pr_auc", "prediction_rate_auc")]
        lines.append("  {:<20} {:>15} {:>15} {:>17} {:>9.3f} {:>8.3f}".format(
            title, *cells, metrics.get("accuracy", float("nan")), _f1_gold(metrics)))
    lines.append("  (mean ± sd over the folds; accuracy and F1 of every point's held-out prediction)")
    return lines


def _f1_gold(metrics):
    return metrics.get("deposit", {}).get("f1", float("nan"))


def _read_importance(path):
    import csv

    with open(path) as handle:
        return [row["factor"] for row in csv.DictReader(handle)]


def _import_dir():
    folder = Path(tempfile.gettempdir()) / "deepprospect-demo-import"
    folder.mkdir(exist_ok=True)
    link = folder / "deepprospect"
    if not link.exists():
        link.symlink_to(ROOT, target_is_directory=True)
    return folder


if __name__ == "__main__":
    sys.exit(main())

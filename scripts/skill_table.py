#!/usr/bin/env python3
"""Skill table (issue 17's measurement): every architecture on both laws of the synthetic province,
scored by spatial k-fold cross-validation and on future deposits no model saw.

For each law of ``core.synthetic_laws.LAWS`` (linear, nonlinear):

1. ``core.synthetic.generate_province`` (SIZE_KM, SEED, the law);
2. the evidence stack the demo builds (``scripts/demo.py``), with the engine's functions instead of
   QGIS's: IDW of the nine elements (``core.idw``, 250 m, power 2, 12 neighbours, 3 km radius), the
   magnetic, Bouguer and two Landsat grids, the distance to shear zones and the lineament density
   (exact, from ``truth_evidence.tif``: what QGIS's proximity and line density give) and the
   lithology: ``Lith_gold`` (the gold-favourable flag, as the demo stacks it) for the linear law,
   ``Lithology`` (the unit codes of ``lithology_units.tif``, a CATEGORICAL layer) for the
   nonlinear one; stacked by ``core.stack.build_stack`` at PIXEL_SIZE (250 m);
3. training points: the deposits and as many random non-deposits at least 1 km from them
   (``core.sampling``, as ``deepprospect:sample_negatives`` with the demo's settings);

then for each architecture of ``catalog.ARCHITECTURES``: ``models.training.train_model`` with
``catalog.TrainingSettings`` defaults (spatial k-fold, 5 folds) except the block size, set like
the demo's (``max(5 km, SIZE_KM / 8)``); ``models.predict.predict_map``; and
``core.synthetic_scoring.score_future_deposits`` on ``future_deposits.gpkg`` (never used for
training), whose ``truth_auc`` (the truth surface on the same deposits) is the ceiling.

Prints (and writes to OUTPUT/skill_table.md and .json) one row per law and architecture:
k-fold ROC-AUC mean ± sd, future-deposit ROC-AUC, the truth's ceiling, deposits and time.

Size: SIZE_KM 40 (default) gives about 180 deposits and 180 future deposits on 160 × 160 cells;
about 1–4 min per architecture on 2 shared cores (cnn2d_patch the slowest).

Usage (any Python; re-runs itself with the engine's)::

    scripts/skill_table.py [--size-km 40] [--seed 1] [--laws linear nonlinear]
                           [--architectures NAME ...] [--output skill_output] [--epochs N]
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ELEMENTS = ["Sb_con", "Pb_con", "As_con", "Al_con", "Hg_con", "Sn_con", "Co_con", "Cu_con", "SiO2_con"]
PIXEL_SIZE = 250.0


def _import_checkout():
    """Run in the engine's Python with this checkout importable as ``deepprospect``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    folder = Path(tempfile.mkdtemp(prefix="deepprospect-skill-"))
    (folder / "deepprospect").symlink_to(ROOT, target_is_directory=True)
    sys.path.insert(0, str(folder))
    from deepprospect import engine_environment

    if Path(sys.prefix).resolve() != engine_environment.environment_folder().resolve():
        python = str(engine_environment.engine_python())
        os.execv(python, [python] + sys.argv)


def main(argv=None):
    _import_checkout()
    from deepprospect.catalog import ARCHITECTURES
    from deepprospect.core.synthetic_laws import LAWS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-km", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--laws", nargs="+", choices=LAWS, default=list(LAWS))
    parser.add_argument("--architectures", nargs="+", choices=list(ARCHITECTURES.names()),
                        default=list(ARCHITECTURES.names()))
    parser.add_argument("--epochs", type=int, default=None, help="default: catalog.TrainingSettings'")
    parser.add_argument("--output", type=Path, default=Path("skill_output"))
    args = parser.parse_args(argv)
    rows = []
    for law in args.laws:
        province = prepare_province(args.output / law, law, args.size_km, args.seed)
        for architecture in args.architectures:
            rows.append(measure(province, architecture, args))
            write_table(rows, args)
    print(format_table(rows, args))


def prepare_province(folder, law, size_km, seed):
    """The province of ``law``, its evidence stack and training points: a dict of paths and counts."""
    from deepprospect.core import synthetic
    from deepprospect.core.sampling import sample_training_points

    started = time.perf_counter()
    province = synthetic.generate_province(folder / "province", size_km=size_km, seed=seed, law=law)
    stack = build_evidence(province, folder, law)
    points = folder / "training_points.gpkg"
    table = sample_training_points(stack, province["deposits"], min_distance=1000.0, seed=seed, output=points)
    print("{} law: {} deposits, {} future deposits, {} training points, prepared in {:.0f} s".format(
        law, province["truth"]["deposit_count"], province["truth"]["future_deposit_count"], len(table),
        time.perf_counter() - started), flush=True)
    return dict(law=law, folder=folder, province=province, stack=str(stack), points=str(points),
                deposits=int((table["label"] == 1).sum()), size_km=size_km, seed=seed)


def build_evidence(province, folder, law):
    """The demo's 16-factor stack (the nonlinear law: ``Lithology`` unit codes instead of ``Lith_gold``)."""
    from deepprospect.core.idw import interpolate_points
    from deepprospect.core.stack import EvidenceLayer, build_stack

    evidence = folder / "evidence"
    evidence.mkdir(parents=True, exist_ok=True)
    extent = province["truth"]["extent"]
    idw = interpolate_points(province["geochemistry"], ELEMENTS, evidence / "geochemistry_idw.tif", PIXEL_SIZE,
                             extent=(extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"]), power=2.0,
                             neighbors=12, radius=3000.0)
    exact = _truth_bands(province["truth_evidence"], evidence, ["Dist_shear", "Linea_den", "Lith_gold"])
    layers = [EvidenceLayer(idw["path"])] + [EvidenceLayer(province[key]) for key in
                                            ("magnetic", "bouguer", "clay", "silica")]
    layers += [EvidenceLayer(exact["Dist_shear"], "Dist_shear")]
    if law == "linear":
        layers.append(EvidenceLayer(exact["Lith_gold"], "Lith_gold", categorical=True))
    else:
        layers.append(EvidenceLayer(province["lithology_units"], "Lithology", categorical=True))
    layers.append(EvidenceLayer(exact["Linea_den"], "Linea_den"))
    result = build_stack(layers, folder / "evidence_stack.tif", reference=idw["path"], pixel_size=PIXEL_SIZE)
    return result["path"]


def _truth_bands(truth_evidence, folder, names):
    """Single-band GeoTIFFs of some bands of the noise-free evidence: {name: path}."""
    import rasterio

    from deepprospect.core.raster import write_geotiff

    paths = {}
    with rasterio.open(truth_evidence) as dataset:
        for name in names:
            band = dataset.descriptions.index(name) + 1
            paths[name] = str(folder / "{}.tif".format(name))
            write_geotiff(paths[name], dataset.read(band)[None], dataset.transform, dataset.crs, [name],
                          nodata=dataset.nodata)
    return paths


def measure(province, architecture, args):
    """Train ``architecture`` with the default settings, predict, score on the future deposits."""
    from deepprospect.catalog import TrainingSettings
    from deepprospect.core.synthetic_scoring import score_future_deposits
    from deepprospect.models.predict import predict_map
    from deepprospect.models.training import train_model

    started = time.perf_counter()
    folder = province["folder"] / architecture
    folder.mkdir(parents=True, exist_ok=True)
    options = dict(architecture=architecture, block_size=max(5000.0, province["size_km"] * 1000.0 / 8))
    if args.epochs:
        options["epochs"] = args.epochs
    result = train_model(province["stack"], province["points"], TrainingSettings(**options),
                         output_model=str(folder / "model.dpm"))
    predict_map(str(folder / "model.dpm"), province["stack"], str(folder / "probability.tif"), write_styles=False)
    score = score_future_deposits(str(folder / "probability.tif"), province["province"]["future_deposits"],
                                  province["province"]["truth_probability"])
    row = dict(law=province["law"], architecture=architecture, kfold_mean=float(result.roc_auc),
               kfold_sd=float(result.roc_auc_sd), future_auc=score.auc, truth_auc=score.truth_auc,
               deposits=province["deposits"], future_deposits=score.deposits,
               seconds=time.perf_counter() - started)
    print("  {law:<9} {architecture:<20} k-fold {kfold_mean:.3f} ± {kfold_sd:.3f}  future {future_auc:.3f}  "
          "truth {truth_auc:.3f}  ({seconds:.0f} s)".format(**row), flush=True)
    return row


def format_table(rows, args):
    """The table as Markdown."""
    lines = ["Skill table: synthetic province {:g} km, seed {}, stack at {:g} m; TrainingSettings defaults "
             "(spatial k-fold){}.".format(args.size_km, args.seed, PIXEL_SIZE,
                                          ", epochs {}".format(args.epochs) if args.epochs else ""),
             "",
             "| law | architecture | k-fold ROC-AUC (mean ± sd) | future-deposit ROC-AUC | truth ceiling | "
             "deposits / future | time (s) |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append("| {law} | {architecture} | {kfold_mean:.3f} ± {kfold_sd:.3f} | {future_auc:.3f} | "
                     "{truth_auc:.3f} | {deposits} / {future_deposits} | {seconds:.0f} |".format(**row))
    return "\n".join(lines)


def write_table(rows, args):
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "skill_table.json").write_text(json.dumps(rows, indent=2))
    (args.output / "skill_table.md").write_text(format_table(rows, args) + "\n")


if __name__ == "__main__":
    main()

"""Training time in the paper's setting, and honest (spatial-block) skill on the demo-size province.

    /usr/bin/python3 benchmarks/bench_training.py [--epochs 40] [--patch-epochs 10] [--skip-auc] [--folder DIR]

``make bench``: 40 epochs for the dense timing run and its anchor, 10 for the patch CNN (its
ratio scaled to the dense run's epochs), and the skill of the dense network only (spatial blocks,
then random); ``make bench-full``: 200 and 200 epochs as in the paper, and all four skill runs.

Data: the 100 km synthetic province (core.synthetic.generate_province(folder, 100, 1)), its
16-band ``truth_evidence`` stack, training points drawn by core.sampling (deposits + random
non-deposits ≥ 500 m away), everything seeded.

1. Timing, the paper's setting (Pradhan et al. 2022): 903 deposits + 500 non-deposits = 1,403
   points × 16 factors, random 80/20 split (1,122 training), 200 epochs, batch 32, no early stopping.
   Anchor, measured first in the same run: a bare ``keras Model.fit`` of the same Table 2 network
   on the same 1,122 standardised rows for 200 epochs (no validation pass, no I/O, no baselines, no
   bundle). Printed: ``models.training.train_model`` end to end (read points, split, 200 epochs with a
   validation pass per epoch, baselines, bundle, report) for ``pradhan2022_dense`` and
   ``cnn2d_patch`` (5 × 5 patches, deposits ×8 by rotations/flips), each as a ratio to the anchor.
2. Skill: all deposits + as many non-deposits, spatial-block validation (default blocks, 1/5 of
   the province's side), DeepProspect's defaults (early stopping): validation ROC-AUC of the three
   architectures beside logistic regression, random forest and the *true* probability surface at
   the same validation points; plus the dense network on a random split, to show how much a random
   split flatters it.
Outputs (province, points, bundles, reports) go to benchmarks/output/training/ unless --folder.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _bootstrap import ROOT, print_machine, province_folder, sized  # noqa: E402  (puts this checkout on sys.path as deepprospect)
os.environ.setdefault("PYTHONHASHSEED", "0")

import numpy as np  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default=str(ROOT / "benchmarks" / "output" / "training"))
    parser.add_argument("--epochs", type=int, default=sized(40, 200), help="epochs of the timing runs (the paper: 200)")
    parser.add_argument("--patch-epochs", type=int, default=sized(10, 200), help="epochs of the cnn2d_patch timing run")
    parser.add_argument("--all-skill-runs", action="store_true", default=sized(False, True),
                        help="skill of cnn1d and cnn2d_patch too (default in make bench-full)")
    parser.add_argument("--skip-auc", action="store_true", help="only the timing part")
    parser.add_argument("--skip-timing", action="store_true", help="only the skill part")
    arguments = parser.parse_args()
    print_machine("Training time vs bare Keras fit; skill on the 100 km province")
    folder = Path(arguments.folder)
    folder.mkdir(parents=True, exist_ok=True)
    province = _province()
    stack = province["truth_evidence"]
    print("Province: 100 km, {} deposits; stack {}".format(province["truth"]["deposit_count"], stack), flush=True)
    if not arguments.skip_timing:
        timing(folder, province, stack, arguments.epochs, arguments.patch_epochs)
    if not arguments.skip_auc:
        skill(folder, province, stack, arguments.all_skill_runs)


def timing(folder, province, stack, epochs, patch_epochs):
    import geopandas as gpd
    import tensorflow as tf

    from deepprospect.core.sampling import sample_training_points
    from deepprospect.models.architectures import build_model
    from deepprospect.models.training import make_split, read_training_points, train_model, training_statistics

    deposits = gpd.read_file(province["deposits"])
    chosen = deposits.iloc[np.sort(np.random.default_rng(903).choice(len(deposits), 903, replace=False))]
    chosen.to_file(folder / "deposits_903.gpkg", driver="GPKG")
    points = folder / "paper_points.gpkg"
    sample_training_points(stack, str(folder / "deposits_903.gpkg"), count=500, min_distance=500.0, seed=1,
                           output=str(points))
    data = read_training_points(stack, points)
    split = make_split(data, "random", 0.2, seed=42)
    print("\n1. Timing: {} points ({} deposits, {} non-deposits) × {} factors; {} training rows; {} epochs".format(
        len(data.labels), int(data.labels.sum()), int((data.labels == 0).sum()), len(data.factor_names),
        len(split.train), epochs), flush=True)

    mean, std = training_statistics(data.values[split.train])
    x = ((data.values[split.train] - mean) / std).astype(np.float32)
    y = data.labels[split.train]
    tf.keras.utils.set_random_seed(42)
    tf.config.experimental.enable_op_determinism()
    model = build_model("pradhan2022_dense", x.shape[1])
    started = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    anchor = time.perf_counter() - started
    print("   anchor  bare Keras fit, Table 2 network, {} rows × {} epochs: {:7.1f} s  ({:.1f} ms/epoch)  1.00".format(
        len(y), epochs, anchor, 1000 * anchor / epochs), flush=True)

    for architecture, n_epochs in (("pradhan2022_dense", epochs), ("cnn2d_patch", patch_epochs)):
        started = time.perf_counter()
        result = train_model(stack, points, architecture=architecture, epochs=n_epochs, early_stopping=False,
                             validation="random", validation_fraction=0.2, seed=42,
                             output_model=folder / "paper_{}.dpm".format(architecture),
                             output_report=folder / "paper_{}.html".format(architecture))
        elapsed = time.perf_counter() - started
        print("   train_model {:18s} {} epochs: {:7.1f} s  ({:.1f} ms/epoch)  {:5.2f} × anchor"
              "   [random split as in the paper: validation ROC-AUC {:.3f}, accuracy {:.3f}; logistic regression {:.3f}, "
              "random forest {:.3f}]".format(
                  architecture, n_epochs, elapsed, 1000 * elapsed / n_epochs, elapsed / anchor * epochs / n_epochs
                  if n_epochs != epochs else elapsed / anchor, result.roc_auc, result.accuracy,
                  result.baselines["logistic_regression"]["roc_auc"], result.baselines["random_forest"]["roc_auc"]),
              flush=True)
        if n_epochs != epochs:
            print("      (ratio scaled to {} epochs)".format(epochs))


def skill(folder, province, stack, all_runs):
    from sklearn.metrics import roc_auc_score

    from deepprospect.core.sampling import sample_training_points
    from deepprospect.core.synthetic import truth_probability_at
    from deepprospect.models.training import train_model

    points = folder / "all_points.gpkg"
    sample_training_points(stack, province["deposits"], count=None, min_distance=500.0, seed=2, output=str(points))
    print("\n2. Skill on the 100 km province: all deposits + as many non-deposits; DeepProspect defaults "
          "(early stopping, dropout 0.2, balanced classes)", flush=True)
    print("   {:34s} {:>8s} {:>8s} {:>8s} {:>8s} {:>7s} {:>7s}".format(
        "model / validation", "network", "logistic", "forest", "truth", "epochs", "time s"), flush=True)
    runs = [("pradhan2022_dense", "spatial_blocks"), ("cnn1d", "spatial_blocks"), ("cnn2d_patch", "spatial_blocks"),
            ("pradhan2022_dense", "random")]
    if not all_runs:
        runs = [run for run in runs if run[0] == "pradhan2022_dense"]
    for architecture, validation in runs:
        started = time.perf_counter()
        result = train_model(stack, points, architecture=architecture, validation=validation, seed=42,
                             output_model=folder / "skill_{}_{}.dpm".format(architecture, validation),
                             output_report=folder / "skill_{}_{}.html".format(architecture, validation))
        elapsed = time.perf_counter() - started
        truth = roc_auc_score(result.validation_labels,
                              truth_probability_at(province["truth_probability"], result.validation_xy))
        print("   {:34s} {:8.3f} {:8.3f} {:8.3f} {:8.3f} {:>7s} {:7.0f}".format(
            "{} / {}".format(architecture, validation), result.roc_auc,
            result.baselines["logistic_regression"]["roc_auc"], result.baselines["random_forest"]["roc_auc"], truth,
            "{}/{}".format(result.history[0]["best_epoch"], result.history[0]["epochs_run"]), elapsed), flush=True)
    print("   (ROC-AUC on the validation points; 'truth' = AUC of the province's true probability at the same points;"
          " epochs = best/run)")


def _province():
    import json

    from deepprospect.core import synthetic

    target = province_folder(100)
    if (target / "truth.json").exists() and (target / "truth_evidence.tif").exists():
        result = {key: str(target / name) for key, name in synthetic.FILES.items()}
        result["truth"] = json.loads((target / "truth.json").read_text())
        return result
    return synthetic.generate_province(target, 100, 1)


if __name__ == "__main__":
    main()

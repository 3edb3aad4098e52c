"""The default model's training time at ~300 deposits × 16 factors (issue 17's goal: under
2 minutes on 2 cores, spatial k-fold included), and its skill on the future deposits.

    /usr/bin/python3 benchmarks/bench_default_model.py [--size-km 52] [--seed 1] [--folder DIR]

Data: the nonlinear synthetic province of ``scripts/skill_table.py`` (52 km, seed 1: about 300
deposits after one per cell, 16 factors including the categorical lithology), its evidence stack
and training points (deposits + as many non-deposits ≥ 1 km away).

Anchor, measured first in the same run: ``train_model`` of logistic regression with the same
spatial k-fold (5 folds, the baselines on every fold, the final model, the bundle): the cheapest
model through the same pipeline. Printed: ``train_model`` of ARCHITECTURE ``auto`` (the default:
the same folds, 5,000 background cells per fit, calibration) in seconds and as a ratio to the
anchor; then the future-deposit ROC-AUC of both maps and of the truth surface.
"""
import argparse
import importlib.util
import time
from pathlib import Path

from _bootstrap import ROOT, print_machine  # noqa: E402  (puts this checkout on sys.path as deepprospect)

GOAL_SECONDS = 120.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-km", type=float, default=52.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", default=str(ROOT / "benchmarks" / "output" / "default_model"))
    arguments = parser.parse_args()
    print_machine("Default model (ARCHITECTURE auto): training time vs logistic regression, future-deposit skill")
    from deepprospect.core.synthetic_laws import MEAN_PROBABILITY

    folder = Path(arguments.folder)
    province = _skill_table().prepare_province(folder, "nonlinear", arguments.size_km, arguments.seed)
    block = max(5000.0, arguments.size_km * 1000.0 / 8)
    rows = []
    for architecture, options in (("logistic_regression", {}), ("auto", {"prior": MEAN_PROBABILITY})):
        rows.append(_train(province, folder / architecture, architecture, block, options))
    anchor = rows[0]["seconds"]
    print("{} deposits × 16 factors, spatial k-fold (5 folds + final model, baselines on every fold)".format(
        province["deposits"]))
    for row in rows:
        print("   train_model {:20s} {:7.1f} s  {:5.2f} × anchor   future-deposit ROC-AUC {:.3f} (truth {:.3f}){}".format(
            row["architecture"], row["seconds"], row["seconds"] / anchor, row["auc"], row["truth_auc"],
            "   goal < {:.0f} s: {}".format(GOAL_SECONDS, "met" if row["seconds"] < GOAL_SECONDS else "MISSED")
            if row["architecture"] == "auto" else "   (anchor)"), flush=True)


def _train(province, folder, architecture, block, options):
    from deepprospect.catalog import TrainingSettings
    from deepprospect.core.synthetic_scoring import score_future_deposits
    from deepprospect.models.predict import predict_map
    from deepprospect.models.training import train_model

    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    train_model(province["stack"], province["points"], TrainingSettings(architecture=architecture, block_size=block,
                                                                        **options),
                output_model=str(folder / "model.dpm"))
    seconds = time.perf_counter() - started
    predict_map(str(folder / "model.dpm"), province["stack"], str(folder / "probability.tif"), write_styles=False)
    paths = province["province"]
    score = score_future_deposits(str(folder / "probability.tif"), paths["future_deposits"], paths["truth_probability"])
    return {"architecture": architecture, "seconds": seconds, "auc": score.auc, "truth_auc": score.truth_auc}


def _skill_table():
    spec = importlib.util.spec_from_file_location("skill_table", ROOT / "scripts" / "skill_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main()

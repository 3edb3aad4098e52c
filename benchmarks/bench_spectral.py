"""Spectral tools benchmark (issue 8).

1. Regressor quality on the synthetic soil library (known law): validation R² of the STFT CNN,
   PLS and random forest on the same seed-42 split (SOIL spectra: 300, make bench-full 800).
2. Classifier quality on the synthetic mineral library (PER_CLASS spectra of each of 6 classes:
   60, make bench-full 150): 1-D CNN vs SAM validation accuracy.
3. Classification time and peak memory of a SIZE × SIZE × 400-band raster (256, make bench-full
   1000 × 1000 as DeepGeoMap's mine-face scene), each in a fresh process, as ratios against an
   anchor measured in the same run: reading the whole raster block by block (pure I/O).

Run: /usr/bin/python3 benchmarks/bench_spectral.py [--size 256] [--soil 300] [--per-class 60]
                                                   [--skip-quality] [--skip-raster]
Outputs go to benchmarks/output/spectral/.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bootstrap import ROOT, print_machine, sized, status_mb  # noqa: E402  (puts this checkout on sys.path as deepprospect)

import numpy as np  # noqa: E402

OUTPUT = ROOT / "benchmarks" / "output" / "spectral"


def quality(soil, per_class):
    from deepprospect.core import synthetic_spectra
    from deepprospect.core.feedback import PrintFeedback
    from deepprospect.models import spectral_classifier, spectral_regressor, spectral_reports

    table, _ = synthetic_spectra.generate_soil_library(soil, seed=0)
    start = time.perf_counter()
    result = spectral_regressor.train_spectral_regressor(table, "Sb", seed=42, feedback=PrintFeedback())
    seconds = time.perf_counter() - start
    spectral_regressor.save_regressor(OUTPUT / "sb_regressor.dpm", result)
    spectral_reports.plot_scatter(OUTPUT / "sb_scatter.png", result)
    spectral_reports.plot_learning_curves(OUTPUT / "sb_learning_curves.png", result["metadata"]["history"])
    spectral_reports.write_metrics_csv(OUTPUT / "sb_metrics.csv", result)
    print("\nSb regressor on {} synthetic soil spectra (seed 0, split seed 42), {:.0f} s:".format(soil, seconds))
    print("{:5s} {:>9s} {:>9s} {:>12s} {:>12s} {:>7s}".format("", "R² train", "R² valid", "RMSE train", "RMSE valid",
                                                             "epochs"))
    for row in spectral_reports.metrics_rows(result):
        print("{:5s} {:9.3f} {:9.3f} {:12.1f} {:12.1f} {:>7}".format(*row))

    library = synthetic_spectra.generate_mineral_library(per_class, seed=0)
    start = time.perf_counter()
    result = spectral_classifier.train_spectral_classifier(library, seed=42, feedback=PrintFeedback())
    seconds = time.perf_counter() - start
    spectral_classifier.save_classifier(OUTPUT / "classifier.dpm", result)
    spectral_reports.write_report(OUTPUT / "classifier_report.csv", result)
    print("\nClassifier on {} synthetic spectra, 6 classes, 400 bands (seed 0, split seed 42), {:.0f} s:".format(
        6 * per_class, seconds))
    for method, values in result["metrics"].items():
        print("{:4s} validation accuracy {:.1%}  kappa {:.3f}".format(method, values["accuracy_validation"],
                                                                     values["kappa_validation"]))
    return OUTPUT / "classifier.dpm"


def make_raster(path, size, seed=0):
    """A size × size × 400-band scene written block by block (uncompressed tiles), from class spectra."""
    import rasterio
    from rasterio.transform import from_origin

    from deepprospect.core import synthetic_spectra
    from deepprospect.core.spectral import format_wavelength

    rng = np.random.default_rng(seed)
    wavelengths = synthetic_spectra.imaging_wavelengths()
    names = [synthetic_spectra.CLASS_NAMES[k] for k in rng.integers(0, 6, 4096)]
    pool = synthetic_spectra.mix(wavelengths, synthetic_spectra.class_abundances(names, rng), rng).astype(np.float32)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=len(wavelengths), dtype="float32",
                       crs="EPSG:32636", transform=from_origin(520000, 3880000, 1, 1), nodata=-9999.0, tiled=True,
                       blockxsize=256, blockysize=256, interleave="pixel", BIGTIFF="YES") as dataset:
        for index, value in enumerate(wavelengths, start=1):
            dataset.set_band_description(index, format_wavelength(value))
        for row in range(0, size, 256):
            for col in range(0, size, 256):
                rows, cols = min(256, size - row), min(256, size - col)
                pick = rng.integers(0, len(pool), rows * cols)
                block = pool[pick] + rng.normal(0, 0.002, (rows * cols, len(wavelengths))).astype(np.float32)
                dataset.write(block.T.reshape(len(wavelengths), rows, cols),
                              window=rasterio.windows.Window(col, row, cols, rows))


def child(task, raster, bundle_path):
    """One measurement in this (fresh) process; prints JSON with seconds."""
    start = time.perf_counter()
    if task == "read":
        from deepprospect.core.pipeline import map_windows

        # the pipeline's own reading (same windows and cache as classification), nothing computed
        map_windows([raster], [], lambda block, data: None, block_size=256)
    else:
        from deepprospect.engine.spectral_tasks import classification_method
        from deepprospect.models import spectral_classifier
        from deepprospect.models.spectral_regressor import load_spectral_bundle

        bundle = load_spectral_bundle(bundle_path, spectral_classifier.KIND)
        start = time.perf_counter()  # classification only, not TensorFlow's import
        spectral_classifier.classify_raster(bundle, raster, OUTPUT / "classes_{}.tif".format(task),
                                            *classification_method(task))
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "peak_mb": status_mb("VmHWM")}))


def measure(task, raster, bundle_path):
    completed = subprocess.run([sys.executable, __file__, "--child", task, str(raster), str(bundle_path)],
                               capture_output=True, text=True)
    if completed.returncode:
        raise RuntimeError(completed.stderr[-3000:])
    values = json.loads(completed.stdout.strip().splitlines()[-1])
    return values["seconds"], values["peak_mb"]


def raster_benchmark(size, bundle_path):
    raster = OUTPUT / "scene_{}.tif".format(size)
    if not raster.exists():
        start = time.perf_counter()
        make_raster(raster, size)
        print("\nWrote the {0} × {0} × 400 test raster ({1:.1f} GB) in {2:.0f} s".format(
            size, raster.stat().st_size / 1e9, time.perf_counter() - start))
    anchor, anchor_peak = measure("read", raster, bundle_path)
    print("\nAnchor: reading the {0} × {0} × 400 raster block by block: {1:.1f} s (peak RSS {2:.0f} MB)".format(
        size, anchor, anchor_peak))
    for task in ("cnn", "sam"):
        seconds, peak = measure(task, raster, bundle_path)
        print("{:4s} classification: {:6.1f} s = {:5.1f} × anchor; {:.0f} pixels/s; peak RSS {:.0f} MB".format(
            task.upper(), seconds, seconds / anchor, size * size / seconds, peak))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=sized(256, 1000))
    parser.add_argument("--soil", type=int, default=sized(300, 800), help="soil spectra for the regressor")
    parser.add_argument("--per-class", type=int, default=sized(60, 150), help="mineral spectra per class")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-raster", action="store_true")
    parser.add_argument("--child", nargs=3)
    arguments = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    if arguments.child:
        child(*arguments.child)
        return
    print_machine("Spectral tools: model quality, hyperspectral classification vs reading the raster")
    bundle_path = OUTPUT / "classifier.dpm"
    if not arguments.skip_quality or not bundle_path.exists():
        bundle_path = quality(arguments.soil, arguments.per_class)
    if not arguments.skip_raster:
        raster_benchmark(arguments.size, bundle_path)


if __name__ == "__main__":
    main()

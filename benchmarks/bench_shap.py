"""Benchmark SHAP: 1,000 samples × 16 factors with gradient vs kernel, and contribution maps.

Usage: /usr/bin/python3 benchmarks/bench_shap.py [--size 1000] [--kernel-samples 20]
(``make bench``: a 1000² map, kernel SHAP on 20 samples scaled to 1,000; ``make bench-full``:
4000², 1,000 kernel samples.)
Prints each time as a ratio against an anchor measured in the same run (one forward pass of the
model over the same 1,000 samples, and prediction of the whole stack for the map).

``--ensemble-memory``: instead, the peak memory (``ru_maxrss`` of a fresh process) of explaining
200 pixels with a 3-member ensemble of each architecture and each explainer (issue 15: 4.1 GB for
``cnn1d`` with expected gradients before its batches were sized by the layer outputs).
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _bootstrap import ROOT, print_machine, sized, status_mb  # noqa: E402  (puts this checkout on sys.path as deepprospect)

import numpy as np  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=sized(1000, 4000), help="side of the stack for the map")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--kernel-samples", type=int, default=sized(20, 1000))
    parser.add_argument("--skip-map", action="store_true")
    parser.add_argument("--child-map", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--ensemble-memory", action="store_true")
    parser.add_argument("--child-memory", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_map:
        return _child_map(*args.child_map)
    if args.child_memory:
        return _child_memory(*args.child_memory)
    if args.ensemble_memory:
        return _ensemble_memory()
    print_machine("SHAP: explainers vs a forward pass, contribution map vs prediction")
    import tensorflow as tf

    from deepprospect.core.raster import write_geotiff
    from deepprospect.models import explain
    from deepprospect.models.bundle import load_bundle, save_bundle

    folder = Path(tempfile.mkdtemp(prefix="bench-shap-"))
    rng = np.random.default_rng(0)
    names = ["f{:02d}".format(i) for i in range(16)]
    tf.keras.utils.set_random_seed(0)
    # bundles store networks built from a description (models.architectures), not arbitrary Keras models
    from deepprospect.models.architectures import build_network

    model = build_network({"architecture": "sequential", "input_shape": [16], "layers": [
        {"type": "dense", "units": 64, "activation": "relu"}, {"type": "dense", "units": 32, "activation": "relu"},
        {"type": "dense", "units": 2, "activation": "softmax"}]})
    x = rng.normal(size=(4000, 16)).astype(np.float32)
    y = (x[:, 0] + 0.7 * x[:, 1] + 0.4 * x[:, 2] + rng.normal(size=4000) > 1).astype(int)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, verbose=0)
    bundle = load_bundle(save_bundle(folder / "m.dpm", [model], dict(
        architecture="pradhan2022_dense", factor_names=names, normalisation=dict(mean=[0.0] * 16, std=[1.0] * 16)),
        background=x[:100]))
    size = args.size
    from rasterio.transform import from_origin

    print("writing a {0}×{0} 16-band stack…".format(size), flush=True)
    stack = folder / "stack.tif"
    bands = np.empty((16, size, size), np.float32)
    for band in range(16):
        bands[band] = rng.normal(size=(size, size))
    write_geotiff(stack, bands, from_origin(0, size * 10.0, 10.0, 10.0), "EPSG:32645", names)
    del bands

    inputs = x[:args.samples]
    start = time.perf_counter()
    bundle.predict(inputs)
    anchor = time.perf_counter() - start
    background = bundle.standardise(x[:100])
    from deepprospect.core.feedback import Feedback

    timings = {}
    for name, count in (("gradient", args.samples), ("kernel", args.kernel_samples)):
        start = time.perf_counter()
        values, base = explain._explain_inputs(bundle, inputs[:count], background, name, 0, Feedback())
        elapsed = (time.perf_counter() - start) * args.samples / count
        error = np.abs(base + values.sum(axis=1) - bundle.predict(inputs[:count])).max()
        timings[name] = elapsed
        print("{:8s}: {} samples × 16 factors in {:.2f} s (scaled to {}); {:.0f}× a forward pass; "
              "additivity error {:.2g}".format(name, count, elapsed, args.samples, elapsed / anchor, error), flush=True)
    print("kernel / gradient time ratio: {:.1f}".format(timings["kernel"] / timings["gradient"]))
    if args.skip_map:
        return
    start = time.perf_counter()
    bundle.predict(bundle.standardise(x[:1]))
    with __import__("rasterio").open(stack) as dataset:
        data = dataset.read(window=((0, min(size, 1024)), (0, size)))
    flat = np.moveaxis(data, 0, -1).reshape(-1, 16)
    start = time.perf_counter()
    bundle.predict(bundle.standardise(flat))
    predict_rate = len(flat) / (time.perf_counter() - start)
    predict_anchor = size * size / predict_rate
    # The map runs in a fresh process: this one already holds the test data, and its peak memory
    # would hide the map's own.
    import json
    import subprocess

    completed = subprocess.run([sys.executable, __file__, "--child-map", str(stack), str(folder / "m.dpm"),
                                str(folder / "contrib.tif")], capture_output=True, text=True, check=True)
    child = json.loads(completed.stdout.strip().splitlines()[-1])
    print("contribution map {0}×{0} (8 references × 8 steps): {1:.1f} s = {2:.0f}× predicting the stack "
          "(goal ≤ 5; anchor {3:.1f} s, extrapolated); peak RSS {4:.0f} MB (after loading TensorFlow and the model: {5:.0f} MB); "
          "additivity error {6:.2g}".format(size, child["seconds"], child["seconds"] / predict_anchor, predict_anchor,
                                            child["peak_mb"], child["loaded_mb"], child["additivity_error"]))


def _child_map(stack, bundle_path, output):
    import json

    from deepprospect.models import explain
    from deepprospect.models.bundle import load_bundle

    bundle = load_bundle(bundle_path)
    bundle.predict(bundle.standardise(np.zeros((1, len(bundle.factor_names)), np.float32)))
    loaded = status_mb("VmHWM")
    start = time.perf_counter()
    result = explain.contribution_map(bundle, stack, output, references=8, steps=8)
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": status_mb("VmHWM"), "loaded_mb": loaded,
                      "additivity_error": float(result["additivity_error"])}))


def _ensemble_memory():
    """Peak RSS of SHAP on 200 pixels for a 3-member ensemble of every architecture, each explainer."""
    import json
    import subprocess

    import tensorflow as tf
    from rasterio.transform import from_origin

    from deepprospect.catalog import ARCHITECTURES, EXPLAINERS
    from deepprospect.core.raster import write_geotiff
    from deepprospect.models.architectures import build_model
    from deepprospect.models.bundle import save_bundle

    folder = Path(tempfile.mkdtemp(prefix="bench-shap-memory-"))
    names = ["f{:02d}".format(index) for index in range(16)]
    rng = np.random.default_rng(0)
    stack = folder / "stack.tif"
    write_geotiff(stack, rng.normal(size=(16, 40, 40)).astype(np.float32), from_origin(0, 400, 10, 10), "EPSG:32645",
                  names)
    for architecture in ARCHITECTURES.names():
        patch = 5 if ARCHITECTURES.get(architecture).options.get("uses_patches") else 1
        members = []
        for seed in range(3):
            tf.keras.utils.set_random_seed(seed)
            members.append(build_model(architecture, 16, patch_size=patch))
        bundle = save_bundle(folder / (architecture + ".dpm"), members, dict(
            architecture=architecture, factor_names=names, patch_size=patch,
            normalisation=dict(mean=[0.0] * 16, std=[1.0] * 16)))
        for explainer in EXPLAINERS.names():
            completed = subprocess.run([sys.executable, __file__, "--child-memory", str(bundle), str(stack), explainer],
                                       capture_output=True, text=True)
            lines = completed.stdout.strip().splitlines()
            if completed.returncode or not lines:
                print("{:18s} {:9s}: {}".format(architecture, explainer, completed.stderr.strip().splitlines()[-1]))
                continue
            child = json.loads(lines[-1])
            print("{:18s} {:9s}: peak RSS {:.0f} MB ({:.0f} MB after loading TensorFlow and the model), {:.1f} s".format(
                architecture, explainer, child["peak_mb"], child["loaded_mb"], child["seconds"]), flush=True)


def _child_memory(bundle_path, stack, explainer):
    import json
    import resource

    from deepprospect.models import explain
    from deepprospect.models.bundle import load_bundle

    bundle = load_bundle(bundle_path)
    bundle.predict(np.zeros((1,) + tuple(bundle.members[0].inputs[0].shape[1:]), np.float32))
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    start = time.perf_counter()
    explain.explain_sample(bundle, stack, sample_size=200, background_size=100, explainer=explainer, seed=0)
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "loaded_mb": loaded,
                      "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()

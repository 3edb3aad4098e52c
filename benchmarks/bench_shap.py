"""Benchmark SHAP: 1,000 samples × 16 factors with gradient vs kernel (a 64-32 network), and
contribution maps (the paper's dense network).

Usage: /usr/bin/python3 benchmarks/bench_shap.py [--size 1000] [--kernel-samples 20]
(``make bench``: a 1000² map, kernel SHAP on 10 samples scaled to 1,000; ``make bench-full``:
4000², 1,000 kernel samples.)
Prints each time as a ratio against an anchor measured in the same run: one forward pass of the
model over the same 1,000 samples for the explainers; for the contribution maps (issue 19 goal ≤ 5), ``deepprospect:predict``'s map of
the same stack, end to end, in a fresh process like the SHAP map (wall and CPU seconds: the
machine may be shared). Maps at ``--references`` 8 (the tool's default) and 3: the rescale rule
costs one forward pass per pixel plus one backward pass per reference. The additivity check
predicts at most ``models.window_tasks.ADDITIVITY_SAMPLE`` pixels per window again;
``--check-every-pixel`` adds a map at the first ``--references`` that checks them all (as before
the sample), for the ratio with and without it in one run.

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
    parser.add_argument("--kernel-samples", type=int, default=sized(10, 1000))
    parser.add_argument("--skip-map", action="store_true")
    parser.add_argument("--references", type=int, nargs="+", default=[8, 3],
                        help="background references of the contribution maps (8: the default of deepprospect:shap)")
    parser.add_argument("--check-every-pixel", action="store_true",
                        help="also time a map whose additivity check predicts every pixel again")
    parser.add_argument("--child-map", nargs=4, help=argparse.SUPPRESS)
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
    x = rng.normal(size=(4000, 16)).astype(np.float32)
    y = (x[:, 0] + 0.7 * x[:, 1] + 0.4 * x[:, 2] + rng.normal(size=4000) > 1).astype(int)
    metadata = dict(architecture="pradhan2022_dense", factor_names=names, normalisation=dict(mean=[0.0] * 16, std=[1.0] * 16))
    # the explainers on a small network (kernel SHAP's cost is model calls: it keeps this run short);
    # the maps with the paper's network (Table 2: 4 × Dense(200)), the one the goal names
    from deepprospect.models.architectures import build_model, build_network

    tf.keras.utils.set_random_seed(0)
    small = build_network({"architecture": "sequential", "input_shape": [16], "layers": [
        {"type": "dense", "units": 64, "activation": "relu"}, {"type": "dense", "units": 32, "activation": "relu"},
        {"type": "dense", "units": 2, "activation": "softmax"}]})
    small.compile("adam", "sparse_categorical_crossentropy")
    paper = build_model("pradhan2022_dense", 16)
    for model in (small, paper):
        model.fit(x, y, epochs=3, verbose=0)
    bundle = load_bundle(save_bundle(folder / "small.dpm", [small], metadata, background=x[:100]))
    save_bundle(folder / "m.dpm", [paper], metadata, background=x[:100])
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
    bundle.predict(inputs[:1])      # compiles the prediction graph: not part of the anchor
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
    _rescale_in_memory(load_bundle(folder / "m.dpm"), x[:100], args.references)
    if args.skip_map:
        return
    runs = [str(count) for count in args.references]
    _map_ratios(stack, folder, size, runs + ["{}-all".format(args.references[0])] * args.check_every_pixel)


def _rescale_in_memory(bundle, background, reference_counts, pixels=131_072):
    """The maps' method (DeepSHAP's rescale rule, the paper's network) on pixels already in memory,
    against a prediction of the same pixels: its cost floor, one backward pass per reference."""
    from deepprospect.core.feedback import Feedback
    from deepprospect.models.explain_methods import rescale_attributions, weighted_centres

    inputs = np.random.default_rng(1).normal(size=(pixels, background.shape[1])).astype(np.float32)

    def best_of_two(function):
        function(inputs[:4096])          # compile for this batch shape first
        times = []
        for _ in range(2):
            start = time.perf_counter()
            function(inputs)
            times.append(time.perf_counter() - start)
        return min(times)

    predicting = best_of_two(bundle.predict)
    for count in reference_counts:
        centres, weights = weighted_centres(background, count, 0)
        seconds = best_of_two(lambda part: rescale_attributions(bundle, part, centres, weights, Feedback()))
        print("rescale rule in memory, {:,} pixels, {} references: {:.2f} s = {:.1f}× their prediction "
              "({:.2f} per reference beyond one)".format(pixels, count, seconds, seconds / predicting,
                                                        (seconds / predicting - 1) / count), flush=True)


def _map_ratios(stack, folder, size, reference_counts):
    """Contribution map time / prediction map time, both end to end from the files (read, compute,
    write) in fresh processes one after the other, and the CPU seconds of each (the machine may be
    shared: CPU time is what the map itself spent)."""
    import json
    import subprocess

    def child(*arguments):
        completed = subprocess.run([sys.executable, __file__, "--child-map", str(stack), str(folder / "m.dpm"),
                                    *arguments], capture_output=True, text=True, check=True)
        return json.loads(completed.stdout.strip().splitlines()[-1])

    predicted = child(str(folder / "probability.tif"), "predict")
    print("prediction map {0}×{0}: {1:.1f} s ({2:.1f} CPU s), {3:.0f} px/s".format(
        size, predicted["seconds"], predicted["cpu"], size * size / predicted["seconds"]), flush=True)
    for run in reference_counts:
        mapped = child(str(folder / "contrib{}.tif".format(run)), run)
        references = "{} references{}".format(run.split("-")[0], ", every pixel checked" * run.endswith("-all"))
        print("contribution map {0}×{0}, {1} ({2}): {3:.1f} s = {4:.1f}× the prediction map "
              "(CPU {5:.1f}×; goal ≤ 5); peak RSS {6:.0f} MB (after loading TensorFlow and the model: {7:.0f} MB); "
              "additivity error {8:.2g}".format(
                  size, mapped["method"], references, mapped["seconds"], mapped["seconds"] / predicted["seconds"],
                  mapped["cpu"] / predicted["cpu"], mapped["peak_mb"], mapped["loaded_mb"], mapped["additivity_error"]),
              flush=True)


def _child_map(stack, bundle_path, output, what):
    """One map in this fresh process: ``what`` "predict", or a number of references for SHAP
    (``"8-all"``: 8, the additivity checked on every pixel)."""
    import json

    import rasterio

    from deepprospect.models import explain
    from deepprospect.models.bundle import load_bundle
    from deepprospect.models.predict import predict_map

    bundle = load_bundle(bundle_path)
    bundle.predict(bundle.standardise(np.zeros((1, len(bundle.factor_names)), np.float32)))
    loaded = status_mb("VmHWM")
    start, cpu = time.perf_counter(), time.process_time()
    if what == "predict":
        predict_map(bundle, stack, output, write_styles=False)
        result = dict(additivity_error=0.0)
    else:
        if what.endswith("-all"):
            from deepprospect.models import window_tasks

            window_tasks.ADDITIVITY_SAMPLE = 2 ** 62
        result = explain.contribution_map(bundle, stack, output, references=int(what.split("-")[0]), steps=8)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    method = ""
    if what != "predict":
        with rasterio.open(output) as dataset:
            method = dataset.tags().get("SHAP_METHOD", "")
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": status_mb("VmHWM"), "loaded_mb": loaded,
                      "additivity_error": float(result["additivity_error"]), "method": method}))


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

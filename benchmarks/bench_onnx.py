"""Benchmark ONNX export (deepprospect:export_onnx, models/onnx_export.py): the paper's dense network
and a 3-member ensemble exported, then the same pixels predicted by onnxruntime and by the bundle
(TensorFlow, the path of deepprospect:predict) in this run.

Prints, per model: export seconds, the largest |onnxruntime − bundle| deposit probability (goal
≤ 1e-5, issue 19) and onnxruntime's pixels per second as a ratio to the bundle's (the anchor).

Usage: /usr/bin/python3 benchmarks/bench_onnx.py [--pixels 200000]
"""
import argparse
import tempfile
import time
from pathlib import Path

from _bootstrap import print_machine, sized  # noqa: E402  (puts this checkout on sys.path as deepprospect)

import numpy as np  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pixels", type=int, default=sized(200_000, 2_000_000))
    args = parser.parse_args()
    print_machine("ONNX export: onnxruntime vs the bundle's TensorFlow prediction")
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as error:
        print("skipped: {} is not installed in the engine's Python (pip install tf2onnx onnx onnxruntime)".format(
            error.name))
        return
    import tensorflow as tf

    from deepprospect.models.architectures import build_model
    from deepprospect.models.bundle import load_bundle, save_bundle
    from deepprospect.models.onnx_export import export_onnx, onnx_probabilities

    folder = Path(tempfile.mkdtemp(prefix="bench-onnx-"))
    names = ["f{:02d}".format(index) for index in range(16)]
    pixels = np.random.default_rng(0).normal(size=(args.pixels, 16)).astype(np.float32)
    for label, count in (("dense network, 1 member", 1), ("dense network, 3 members", 3)):
        members = []
        for seed in range(count):
            tf.keras.utils.set_random_seed(seed)
            members.append(build_model("pradhan2022_dense", 16))
        bundle = load_bundle(save_bundle(folder / "m{}.dpm".format(count), members, dict(
            architecture="pradhan2022_dense", factor_names=names, normalisation=dict(mean=[0.0] * 16, std=[1.0] * 16))))
        start = time.perf_counter()
        export_onnx(bundle, folder / "m{}.onnx".format(count))
        exported = time.perf_counter() - start
        bundle.predict(pixels[:10])
        onnx_probabilities(folder / "m{}.onnx".format(count), pixels[:10])
        start = time.perf_counter()
        expected = bundle.predict(pixels)
        anchor = time.perf_counter() - start
        start = time.perf_counter()
        probability, _ = onnx_probabilities(folder / "m{}.onnx".format(count), pixels)
        seconds = time.perf_counter() - start
        print("{}: exported in {:.1f} s; max |onnxruntime − bundle| {:.1e} (goal ≤ 1e-5); onnxruntime {:.0f} px/s = "
              "{:.2f}× the bundle's {:.0f} px/s".format(label, exported, float(np.abs(probability - expected).max()),
                                                        len(pixels) / seconds, anchor / seconds, len(pixels) / anchor),
              flush=True)


if __name__ == "__main__":
    main()

"""Scale-out: the same prediction map on a Dask cluster of 2 local workers against a local run.

    /usr/bin/python3 benchmarks/bench_dask.py [--size 1000] [--block-size 256] [--workers 2] [--repeats 2]

A synthetic size × size × 16 stack (benchmarks/bench_predict.py's, shared with it) and the paper's
dense network with fixed weights. The anchor is ``models.predict.predict_map`` on this machine; the
measurement is the same call with ``scheduler=`` the address of a ``distributed.LocalCluster`` of
``--workers`` worker processes (one thread each) started here, so the windows travel to the workers
and back exactly as they do between machines. Both use the same windows (``--block-size``). Prints
the cluster's start-up time, the first (cold: each worker imports TensorFlow and loads the model)
and best warm times, whether the two maps are byte for byte identical, and the speed-up
(local time / Dask time). On one machine the workers share its cores with each other and with the
process that writes, so a speed-up near 1 is the expected figure here: what the run shows is the
overhead of the task round trips; the gain comes with more machines.

Default (``make bench``) 1000² in 256-pixel windows; ``make bench-full``: 4000² in 1024-pixel windows.
"""
import argparse
import hashlib
import logging
import time
from pathlib import Path

from _bootstrap import ROOT, print_machine, sized  # noqa: E402  (puts this checkout on sys.path as deepprospect)
from bench_predict import _make_bundles, _make_stack  # noqa: E402  (the stack and model of the predict benchmark)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=sized(1000, 4000), help="stack side in pixels")
    parser.add_argument("--block-size", type=int, default=sized(256, 1024), help="window side in pixels")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--folder", default=str(ROOT / "benchmarks" / "output" / "predict"))
    arguments = parser.parse_args()
    print_machine("Dask scale-out: predict on {} local workers vs local".format(arguments.workers))
    folder = Path(arguments.folder)
    folder.mkdir(parents=True, exist_ok=True)
    stack = _make_stack(folder, arguments.size)
    bundle = _make_bundles(folder)["pradhan2022_dense"]["path"]

    from deepprospect.models.bundle import load_bundle

    model = load_bundle(bundle)
    local_path, dask_path = folder / "dask_bench_local.tif", folder / "dask_bench_cluster.tif"
    local = _best(arguments.repeats + 1, lambda: _predict(model, stack, local_path, arguments.block_size))
    address, cluster, started = _start_cluster(arguments.workers)
    try:
        cold = _timed(lambda: _predict(model, stack, dask_path, arguments.block_size, address))
        warm = _best(arguments.repeats, lambda: _predict(model, stack, dask_path, arguments.block_size, address))
    finally:
        cluster.close()
    same = _digest(local_path) == _digest(dask_path)
    windows = (-(-arguments.size // arguments.block_size)) ** 2
    pixels = arguments.size ** 2
    print("{}² × 16 stack, {} windows of {}²: local {:.2f} s ({:,.0f} px/s); Dask cluster start {:.1f} s, "
          "first run {:.2f} s (workers load TensorFlow and the model), best warm run {:.2f} s ({:,.0f} px/s)".format(
              arguments.size, windows, arguments.block_size, local, pixels / local, started, cold, warm, pixels / warm))
    print("Dask on {} local workers vs local: same bytes: {}; speed-up {:.2f}× (local time / Dask time, warm)".format(
        arguments.workers, "yes" if same else "NO", local / warm))
    for path in (local_path, dask_path):
        path.unlink()
    return 0 if same else 1


def _predict(model, stack, output, block_size, scheduler=None):
    from deepprospect.models.predict import predict_map

    predict_map(model, stack, output, block_size=block_size, write_styles=False, scheduler=scheduler)


def _start_cluster(workers):
    from distributed import LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return cluster.scheduler_address, cluster, time.perf_counter() - start


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _best(repeats, function):
    """Best of ``repeats`` wall times (the machine is shared: the best run is the least disturbed)."""
    return min(_timed(function) for _ in range(repeats))


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


if __name__ == "__main__":
    raise SystemExit(main())

"""The engine runner's overhead per call (processing_provider/engine_runner.py).

QGIS's Python drives the engine as the plugin does. Measured, each the median of ``--repeats``
runs (the machine is shared; the median is the honest figure, the best is printed beside it):

* anchor: a bare ``<engine python> -c pass`` (starting the engine's interpreter, nothing else);
* first call: start a worker, wait until it is ready, ``ping`` round trip (what every Processing
  algorithm pays, :func:`engine_runner.run_task`), plus closing it;
* warm call: ``ping`` on a live worker (what the dock pays per click, :class:`EngineProcess`);
* hand-over: ``processing.run("deepprospect:idw")`` on 50 points → a 10 × 10 grid, minus the
  engine-side time of the same task in a warm worker (its modules already imported): the
  runner's whole cost for a realistic algorithm call (parameters → files → worker → outputs).
  Split in two: ``run_task("idw")`` in a fresh worker without QGIS (start + importing the task's
  modules: numpy, rasterio, … + the run), and the rest (QGIS's parameter handling).

Goal (issue 13): ≤ 2 s per call, < 1 s per warm call.

Run: ``/usr/bin/python3 benchmarks/bench_runner.py [--repeats 7] [--warm-calls 50]``
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bootstrap import ROOT, print_machine, sized  # noqa: F401  (puts this checkout on sys.path as deepprospect)

QGIS_PLUGINS = "/usr/share/qgis/python/plugins"
CRS_EPSG = 32645
WEST, SOUTH = 400000.0, 2300000.0


def write_points(path, n=50, seed=0):
    """``n`` random samples with a field Sb_con over a 1 km square (GeoPackage, via OGR)."""
    from osgeo import ogr, osr

    ogr.UseExceptions()
    rng = random.Random(seed)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    spatial = osr.SpatialReference()
    spatial.ImportFromEPSG(CRS_EPSG)
    layer = source.CreateLayer("samples", spatial, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("Sb_con", ogr.OFTReal))
    for _ in range(n):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("Sb_con", rng.lognormvariate(1.0, 0.8))
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(WEST + rng.uniform(0, 1000), SOUTH + rng.uniform(0, 1000))
        feature.SetGeometry(point)
        layer.CreateFeature(feature)
    source = None
    return str(path)


def start_qgis():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if QGIS_PLUGINS not in sys.path:
        sys.path.append(QGIS_PLUGINS)  # QGIS's own "processing" package
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from deepprospect.processing_provider.provider import DeepProspectProvider

    provider = DeepProspectProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    return app, provider


def timed(function, repeats):
    """Seconds of ``function()`` per run, ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def anchor(python, repeats):
    return timed(lambda: subprocess.run([python, "-c", "pass"], check=True), repeats)


def first_calls(repeats):
    """(seconds to the first answer, seconds including closing the worker) per fresh worker."""
    from deepprospect.processing_provider.engine_runner import EngineProcess

    answered, total = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        engine = EngineProcess()
        engine.call("ping", {})
        answered.append(time.perf_counter() - started)
        engine.close()
        total.append(time.perf_counter() - started)
    return answered, total


def warm_calls(count):
    from deepprospect.processing_provider.engine_runner import EngineProcess

    engine = EngineProcess()
    try:
        engine.call("ping", {})
        return timed(lambda: engine.call("ping", {}), count)
    finally:
        engine.close()


def idw_parameters(points, output):
    extent = "{},{},{},{} [EPSG:{}]".format(WEST, WEST + 1000, SOUTH, SOUTH + 1000, CRS_EPSG)
    return {"INPUT": points + "|layername=samples", "FIELDS": ["Sb_con"], "PIXEL_SIZE": 100.0, "EXTENT": extent,
            "NEIGHBORS": 12, "OUTPUT": str(output)}


def hand_over(folder, points, repeats):
    """Seconds per run of: processing.run of the IDW; run_task of the same IDW in a fresh worker
    (no QGIS); the same IDW in a warm worker (engine-side time)."""
    import processing

    from deepprospect.processing_provider.engine_runner import EngineProcess, run_task

    whole = []
    for index in range(repeats):
        started = time.perf_counter()
        processing.run("deepprospect:idw", idw_parameters(points, Path(folder) / "qgis_{}.tif".format(index)))
        whole.append(time.perf_counter() - started)
    args = {"points": points, "layer": "samples", "fields": ["Sb_con"], "pixel_size": 100.0,
            "extent": [WEST, SOUTH, WEST + 1000, SOUTH + 1000], "power": 2.0, "neighbors": 12, "radius": 0.0,
            "log10": False, "output": str(Path(folder) / "engine.tif")}
    fresh = timed(lambda: run_task("idw", args), repeats)
    engine = EngineProcess()
    try:
        engine.call("idw", args)   # imports the task's modules
        compute = timed(lambda: engine.call("idw", args), repeats)
    finally:
        engine.close()
    return whole, fresh, compute


def line(label, times, anchor_seconds=None):
    median = statistics.median(times)
    text = "{:48s} median {:8.1f} ms   best {:8.1f} ms".format(label, 1000 * median, 1000 * min(times))
    if anchor_seconds:
        text += "   {:6.2f} × anchor".format(median / anchor_seconds)
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=sized(5, 7))
    parser.add_argument("--warm-calls", type=int, default=50)
    args = parser.parse_args()

    from deepprospect import engine_environment

    if not engine_environment.is_ready():
        raise SystemExit(engine_environment.not_ready_message())
    python = str(engine_environment.engine_python())
    app, provider = start_qgis()  # noqa: F841  (kept alive for processing.run)
    folder = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    points = write_points(folder / "samples.gpkg")

    bare = anchor(python, args.repeats)
    answered, closed = first_calls(args.repeats)
    warm = warm_calls(args.warm_calls)
    whole, fresh, compute = hand_over(folder, points, args.repeats)
    overhead = [total - statistics.median(compute) for total in whole]
    qgis_side = [total - statistics.median(fresh) for total in whole]

    base = statistics.median(bare)
    print_machine("Engine runner overhead (engine {})".format(python))
    print(line("anchor: bare engine python -c pass", bare))
    print(line("first call: start + ready + ping", answered, base))
    print(line("first call, worker closed too", closed, base))
    print(line("warm call: ping on a live worker", warm, base))
    print(line("processing.run(idw, 50 pts → 10×10)", whole, base))
    print(line("  engine-side IDW in a warm worker", compute, base))
    print(line("  hand-over (run − engine-side)", overhead, base))
    print(line("  run_task(idw) in a fresh worker, no QGIS", fresh, base))
    print(line("  QGIS side (run − run_task)", qgis_side, base))
    first, hand, hot = statistics.median(answered), statistics.median(overhead), statistics.median(warm)
    print("Goal ≤ 2 s per call: first call {:.2f} s {}, hand-over {:.2f} s {}; goal < 1 s warm: {:.4f} s {}".format(
        first, "ok" if first <= 2 else "MISSED", hand, "ok" if hand <= 2 else "MISSED", hot,
        "ok" if hot < 1 else "MISSED"))


if __name__ == "__main__":
    main()

"""Stacking speed and memory: 16 evidence layers onto a 1000 × 1000 grid (make bench-full: 2000 × 2000).

Sources (written once to a temporary folder): 10 continuous rasters in the target CRS at 40 m,
3 continuous rasters in another UTM zone at 60 m, 3 categorical (class) rasters at 25 m; the
target grid is SIZE × SIZE cells of 50 m (UTM 45N).

Measured in the same run:
* deepprospect's stack (core.stack.build_stack) in a child process: wall time, and peak resident
  memory (VmHWM) above the child's memory after imports, compared with the size of the stack
  itself (16 × 2000 × 2000 float32 = 256 MB);
* the anchor: the same with GDAL's command-line tools — gdalwarp of each layer onto the grid, then
  gdalbuildvrt -separate and gdal_translate to one compressed GeoTIFF.

    /usr/bin/python3 benchmarks/bench_stack.py [--size 1000] [--layers 16]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bootstrap import ROOT, hidden_arguments, print_machine, sized, status_mb  # noqa: E402  (puts this checkout on sys.path as deepprospect)

import numpy as np  # noqa: E402

WEST, NORTH, CELL = 300000.0, 2400000.0, 50.0


def make_sources(folder, size, layers, seed=0):
    """Write ``layers`` source rasters covering a ``size`` × ``size`` grid of 50 m cells; returns
    [(path, categorical)] and the reference raster's path."""
    import rasterio
    from pyproj import Transformer
    from rasterio.transform import from_origin
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    extent = size * CELL
    plan = []
    for index in range(layers):
        if index % 16 < 10:
            plan.append(("continuous", 32645, 40.0))
        elif index % 16 < 13:
            plan.append(("continuous", 32644, 60.0))
        else:
            plan.append(("categorical", 32645, 25.0))
    to_44 = Transformer.from_crs(32645, 32644, always_xy=True)
    sources = []
    for index, (kind, epsg, cell) in enumerate(plan):
        if epsg == 32645:
            west, north, east, south = WEST - 500, NORTH + 500, WEST + extent + 500, NORTH - extent - 500
        else:
            xs, ys = to_44.transform([WEST - 2000, WEST + extent + 2000] * 2,
                                     [NORTH + 2000, NORTH + 2000, NORTH - extent - 2000, NORTH - extent - 2000])
            west, north, east, south = min(xs), max(ys), max(xs), min(ys)
        cols, rows = int((east - west) / cell), int((north - south) / cell)
        coarse = rng.standard_normal((rows // 50 + 2, cols // 50 + 2))
        field = ndimage.zoom(coarse, (rows / coarse.shape[0], cols / coarse.shape[1]), order=1)[:rows, :cols]
        if kind == "categorical":
            data, dtype, nodata = (np.digitize(field, [-0.8, -0.2, 0.4, 1.0]) + 1).astype(np.uint8), "uint8", 0
        else:
            data, dtype, nodata = (field * 10 + index).astype(np.float32), "float32", -99999.0
            data[: rows // 20, : cols // 20] = nodata          # a corner without data
        path = folder / "factor_{:02d}.tif".format(index + 1)
        with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype=dtype, nodata=nodata,
                           crs="EPSG:{}".format(epsg), transform=from_origin(west, north, cell, cell), tiled=True) as out:
            out.write(data, 1)
        sources.append((str(path), kind == "categorical"))
    reference = folder / "reference.tif"
    with rasterio.open(reference, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8",
                       crs="EPSG:32645", transform=from_origin(WEST, NORTH, CELL, CELL)) as out:
        out.write(np.ones((1, size, size), np.uint8))
    return sources, str(reference)


def child(arguments):
    """Run build_stack in this (child) process and print its time and memory as JSON."""
    from deepprospect.core import stack

    sources = json.loads(arguments.sources)
    import rasterio.vrt  # noqa: F401  (imports count in the baseline, not in the work)

    baseline = status_mb("VmRSS")
    start = time.perf_counter()
    result = stack.build_stack([stack.EvidenceLayer(path, categorical=categorical) for path, categorical in sources],
                               arguments.output, reference=arguments.reference)
    elapsed = time.perf_counter() - start
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would include the parent's peak before the fork
    peak = status_mb("VmHWM")
    print(json.dumps(dict(seconds=elapsed, baseline_mb=baseline, peak_mb=peak, bands=len(result["factor_names"]))))


def _run_measured(command):
    """Run a command; return (wall seconds, peak RSS in MB of that process, stdout)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit("command failed: {}".format(" ".join(command)))
    return time.perf_counter() - start, usage.ru_maxrss / 1024.0, output


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=sized(1000, 2000))
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    hidden_arguments(parser, "--make-sources", "--sources", "--reference", "--output")
    arguments = parser.parse_args()
    if arguments.child:
        return child(arguments)

    if arguments.make_sources:
        sources, reference = make_sources(Path(arguments.make_sources), arguments.size, arguments.layers)
        print(json.dumps(dict(sources=sources, reference=reference)))
        return None

    print_machine("Stacking (core.stack.build_stack) vs GDAL's command-line tools")
    # Sources are made in a child process so that this parent stays small: a child's peak memory
    # (ru_maxrss) counts the parent's memory it started from.
    folder = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    made = json.loads(subprocess.run(
        [sys.executable, __file__, "--make-sources", str(folder), "--size", str(arguments.size),
         "--layers", str(arguments.layers)], check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    sources, reference = made["sources"], made["reference"]
    stack_mb = arguments.layers * arguments.size ** 2 * 4 / 2 ** 20
    print("Stack benchmark: {} layers (10 in UTM 45N at 40 m, 3 in UTM 44N at 60 m, 3 categorical at 25 m) "
          "-> {} x {} grid of 50 m; the stack itself is {:.0f} MB ({} CPUs)".format(
              arguments.layers, arguments.size, arguments.size, stack_mb, os.cpu_count()))

    # anchor: GDAL command-line tools, layer by layer, then one compressed multiband GeoTIFF
    left, top = WEST, NORTH
    right, bottom = WEST + arguments.size * CELL, NORTH - arguments.size * CELL
    anchor_time, anchor_peak, warped = 0.0, 0.0, []
    for path, categorical in sources:
        target = folder / ("warped_" + Path(path).name)
        seconds, peak, _ = _run_measured([
            "gdalwarp", "-q", "-overwrite", "-t_srs", "EPSG:32645", "-te", str(left), str(bottom), str(right), str(top),
            "-ts", str(arguments.size), str(arguments.size), "-r", "near" if categorical else "bilinear", "-et", "0",
            "-ot", "Float32", "-dstnodata", "-9999", "-co", "TILED=YES", path, str(target)])
        anchor_time += seconds
        anchor_peak = max(anchor_peak, peak)
        warped.append(str(target))
    seconds, peak, _ = _run_measured(["gdalbuildvrt", "-q", "-separate", str(folder / "all.vrt")] + warped)
    anchor_time += seconds
    seconds, peak, _ = _run_measured(["gdal_translate", "-q", "-co", "TILED=YES", "-co", "COMPRESS=DEFLATE",
                                      "-co", "PREDICTOR=3", str(folder / "all.vrt"), str(folder / "gdal_stack.tif")])
    anchor_time += seconds
    anchor_peak = max(anchor_peak, peak)

    seconds, peak, output = _run_measured([
        sys.executable, __file__, "--child", "--sources", json.dumps(sources), "--reference", reference,
        "--output", str(folder / "stack.tif")])
    measured = json.loads(output.strip().splitlines()[-1])
    working = measured["peak_mb"] - measured["baseline_mb"]
    print("  GDAL tools: 16 x gdalwarp + buildvrt + translate (anchor)  {:7.2f} s   1.00   peak {:5.0f} MB".format(
        anchor_time, anchor_peak))
    print("  deepprospect stack (window by window, one pass)            {:7.2f} s   {:.2f}x the anchor's time".format(
        measured["seconds"], measured["seconds"] / anchor_time))
    print("  deepprospect peak memory: {:.0f} MB in all, {:.0f} MB after imports -> {:.0f} MB for the work "
          "= {:.2f} x the stack's size".format(measured["peak_mb"], measured["baseline_mb"], working, working / stack_mb))
    print("STACK_SECONDS={:.2f} STACK_TIME_RATIO_VS_GDAL={:.2f} STACK_PEAK_MB={:.0f} STACK_WORK_MB_PER_STACK_MB={:.2f}"
          .format(measured["seconds"], measured["seconds"] / anchor_time, measured["peak_mb"], working / stack_mb))


if __name__ == "__main__":
    main()

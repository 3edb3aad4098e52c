"""Inspector dock: time from a click on the map to the pixel's explanation on screen.

Demo-size province (100 × 100 km, seed 1), its 16-factor evidence resampled to the paper's
444 m pixel (225 × 225), a two-member ``pradhan2022_dense`` ensemble trained briefly on the
deposits plus as many random non-deposits. The dock runs in a headless QGIS with a real map
canvas in EPSG:4326, so every click is transformed to the stack's UTM grid.

Anchor, measured in the same run: the same computation called directly without the GUI
(``plugin.dock_pixel.explain_pixel``: ``predict_at_pixels`` + ``explain_pixels`` for one pixel,
warm caches). The click figure adds reading the pixel, the QgsTask round trip and drawing.

Run: ``/usr/bin/python3 benchmarks/bench_inspector.py [--clicks 10]``
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bootstrap import ROOT  # noqa: E402  (puts this checkout on sys.path as deepprospect)

sys.path.insert(0, str(ROOT / "tests"))  # qgis_interface.QgisInterfaceStub
OUTPUT = ROOT / "benchmarks" / "output" / "inspector"


def prepare(size_km, pixel_size, epochs, seed=1):
    """Province, 444 m stack, training points and bundle (reused when already there)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from deepprospect.core import synthetic
    from deepprospect.core.raster import pixel_centres, read_stack_info

    folder = OUTPUT / "province{:g}".format(size_km)
    if not (folder / "truth_evidence.tif").exists():
        synthetic.generate_province(folder, size_km=size_km, seed=seed)
    stack = OUTPUT / "evidence_stack_{:g}m.tif".format(pixel_size)
    if not stack.exists():
        subprocess.run(["gdalwarp", "-q", "-overwrite", "-tr", str(pixel_size), str(pixel_size), "-r", "bilinear",
                        "-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", str(folder / "truth_evidence.tif"), str(stack)],
                       check=True)
    points_path = OUTPUT / "training_points.gpkg"
    if not points_path.exists():
        info = read_stack_info(stack)
        deposits = gpd.read_file(folder / "deposits.gpkg")
        west, south, east, north = info.bounds  # the 444 m grid stops short of the area's east/south edge
        deposits = deposits.cx[west:east - 1, south + 1:north]
        rng = np.random.default_rng(seed)
        xy = pixel_centres(info, rng.integers(0, info.height, len(deposits)), rng.integers(0, info.width, len(deposits)))
        points = pd.concat([
            gpd.GeoDataFrame({"label": np.ones(len(deposits), dtype=int)}, geometry=list(deposits.geometry), crs=deposits.crs),
            gpd.GeoDataFrame({"label": np.zeros(len(xy), dtype=int)}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                             crs=deposits.crs)], ignore_index=True)
        gpd.GeoDataFrame(points, crs=deposits.crs).to_file(points_path, driver="GPKG")
    bundle_path = OUTPUT / "model.dpm"
    if not bundle_path.exists():
        from deepprospect.models.training import train_model

        train_model(str(stack), str(points_path), epochs=epochs, ensemble_size=2, seed=42, output_model=str(bundle_path))
    return str(stack), str(bundle_path)


def click(iface, dock, info, row, col):
    """Press the mouse on the canvas over pixel (row, col); returns seconds until the explanation is shown."""
    from pyproj import Transformer
    from qgis.core import QgsPointXY
    from qgis.gui import QgsMapMouseEvent
    from qgis.PyQt.QtCore import QEvent, QPoint, Qt

    from deepprospect.core.raster import pixel_centres
    from deepprospect.plugin import tasks

    x, y = pixel_centres(info, [row], [col])[0]
    lon, lat = Transformer.from_crs(info.crs.to_epsg(), 4326, always_xy=True).transform(x, y)
    canvas = iface.mapCanvas()
    screen = canvas.getCoordinateTransform().transform(QgsPointXY(lon, lat))
    event = QgsMapMouseEvent(canvas, QEvent.MouseButtonPress, QPoint(round(screen.x()), round(screen.y())),
                             Qt.LeftButton, Qt.LeftButton, Qt.NoModifier)
    started = time.perf_counter()
    dock.pixel_tab.tool.canvasPressEvent(event)
    if dock.pixel_tab.last_result is None:
        raise SystemExit("click on row {}, col {} gave: {}".format(row, col, dock.pixel_tab.last_message))
    if not tasks.wait(dock.pixel_tab.task, timeout=600):
        raise SystemExit("the explanation did not finish within 10 minutes")
    elapsed = time.perf_counter() - started
    if dock.pixel_tab.last_result.get("shap_values") is None:
        raise SystemExit("no explanation: " + dock.pixel_tab.last_message)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-km", type=float, default=100.0)
    parser.add_argument("--pixel-size", type=float, default=444.0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--clicks", type=int, default=10)
    args = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)

    import numpy as np
    from qgis.core import QgsApplication, QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsRectangle
    from qgis.PyQt.QtCore import Qt

    app = QgsApplication([], True)
    app.initQgis()
    from qgis_interface import QgisInterfaceStub

    from deepprospect.core.raster import read_stack_info
    from deepprospect.plugin import tasks
    from deepprospect.plugin.dock import InspectorDock
    from deepprospect.plugin.dock_model import RECENT_KEY
    from deepprospect.plugin.dock_pixel import explain_pixel
    from qgis.core import QgsSettings

    started = time.perf_counter()
    stack, bundle_path = prepare(args.size_km, args.pixel_size, args.epochs)
    info = read_stack_info(stack)
    print("data ready in {:.1f} s: stack {} × {} × {} at {:g} m".format(
        time.perf_counter() - started, info.width, info.height, len(info.factor_names), info.pixel_size))

    saved_recent = QgsSettings().value(RECENT_KEY, [])
    iface = QgisInterfaceStub()
    iface.mapCanvas().setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    iface.mainWindow().resize(1300, 800)
    iface.mainWindow().show()
    dock = InspectorDock(iface)
    iface.addDockWidget(Qt.RightDockWidgetArea, dock)
    load_started = time.perf_counter()
    dock.model_tab.load(bundle_path)
    tasks.wait(dock.model_tab.load_task, timeout=600)
    load_seconds = time.perf_counter() - load_started
    QgsSettings().setValue(RECENT_KEY, saved_recent)
    layer = dock.pixel_tab.set_stack(stack)
    canvas = iface.mapCanvas()
    canvas.setLayers([layer])
    west, south, east, north = info.bounds
    transform = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
    canvas.setExtent(transform.transformBoundingBox(QgsRectangle(west, south, east, north)))
    dock.pixel_tab.pick_button.setChecked(True)

    rng = np.random.default_rng(5)
    rows = rng.integers(5, info.height - 5, args.clicks + 1)
    cols = rng.integers(5, info.width - 5, args.clicks + 1)
    first = click(iface, dock, info, rows[0], cols[0])           # builds the SHAP background cache
    clicks = [click(iface, dock, info, row, col) for row, col in zip(rows[1:], cols[1:])]
    anchors = []
    for row, col in zip(rows[1:], cols[1:]):
        anchor_started = time.perf_counter()
        explain_pixel(dock.bundle, stack, int(row), int(col), "gradient")
        anchors.append(time.perf_counter() - anchor_started)
    anchor = statistics.median(anchors)
    typical = statistics.median(clicks)
    print("loading the bundle (QgsTask, TensorFlow import included): {:.2f} s".format(load_seconds))
    print("anchor: explain_pixel without the GUI, median of {}: {:.0f} ms".format(len(anchors), 1000 * anchor))
    print("click → explanation shown, first click (builds the SHAP background): {:.0f} ms = {:.1f} × anchor".format(
        1000 * first, first / anchor))
    print("click → explanation shown, median of {} clicks: {:.0f} ms = {:.2f} × anchor (max {:.0f} ms)".format(
        len(clicks), 1000 * typical, typical / anchor, 1000 * max(clicks)))
    dock.pixel_tab.explainer_combo.setCurrentIndex(2)
    kernel = click(iface, dock, info, rows[1], cols[1])
    print("click → explanation shown with the kernel explainer: {:.0f} ms = {:.1f} × anchor".format(
        1000 * kernel, kernel / anchor))
    dock.pixel_tab.unload()


if __name__ == "__main__":
    main()

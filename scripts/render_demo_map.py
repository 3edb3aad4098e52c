#!/usr/bin/env python3
"""Render the demo's probability map (QGIS styles, deposits, shear zones) to a PNG for the README.

Usage: scripts/render_demo_map.py [demo_output] [docs/images/probability_map.png]
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(demo=ROOT / "demo_output", output=ROOT / "docs" / "images" / "probability_map.png"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import (QgsApplication, QgsMapRendererParallelJob, QgsMapSettings, QgsProject)
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    if not project.read(str(Path(demo) / "DeepProspect_demo.qgz")):
        raise SystemExit("run `make demo` first")
    truth = project.mapLayersByName("True probability (synthetic truth)")[0]
    truth.loadNamedStyle(str(ROOT / "resources" / "styles" / "probability.qml"))
    deposits, shears = project.mapLayersByName("Known deposits")[0], project.mapLayersByName("Shear zones")[0]
    predicted = project.mapLayersByName("Probability of gold")[0]
    images = []
    for raster in (predicted, truth):
        settings = QgsMapSettings()
        settings.setLayers([deposits, shears, raster])
        settings.setDestinationCrs(predicted.crs())
        settings.setExtent(predicted.extent())
        settings.setOutputSize(QSize(700, 700))
        settings.setBackgroundColor(QColor(255, 255, 255))
        job = QgsMapRendererParallelJob(settings)
        job.start()
        job.waitForFinished()
        path = Path(output).with_name("_render_{}.png".format(len(images)))
        job.renderedImage().save(str(path), "PNG")
        images.append(path)
    title, note = _model_words(Path(demo) / "model.dpm")
    _side_by_side(images, output, [title, "True probability of the synthetic province"], note)
    for path in images:
        path.unlink()
    print("wrote", output)


def _model_words(bundle):
    """The map's title and the note on what its probabilities mean, from the bundle's metadata."""
    import json
    import zipfile

    with zipfile.ZipFile(str(bundle)) as archive:
        metadata = json.loads(archive.read("metadata.json").decode("utf-8"))
    members = metadata.get("ensemble_size") or len(metadata.get("members", [])) or 1
    title = "Predicted probability ('{}' model{})".format(
        metadata.get("architecture", "model"), ", {}-member ensemble".format(members) if members > 1 else "")
    calibration = (metadata.get("cross_validation") or {}).get("calibration") or {}
    if calibration.get("prior"):
        note = ("calibrated on the held-out folds and scaled to the province's share of deposit cells ({:.2f}), "
                "so they read as chances".format(calibration["prior"]))
    else:
        note = "trained on as many non-deposits as deposits, so they rank areas; they are not the absolute chance"
    return title, "The probabilities were " + note + "."


def _side_by_side(images, output, titles, note):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    figure, axes = plt.subplots(1, 2, figsize=(13, 6.2), dpi=100)
    figure.subplots_adjust(left=0.01, right=0.88, top=0.93, bottom=0.06, wspace=0.04)
    for ax, image, title in zip(axes, images, titles):
        ax.imshow(mpimg.imread(str(image)))
        ax.set_title(title, fontsize=11)
        ax.axis("off")
    colourbar = figure.colorbar(ScalarMappable(Normalize(0, 1), "viridis"), cax=figure.add_axes([0.9, 0.15, 0.015, 0.7]))
    colourbar.set_label("probability of a gold deposit")
    figure.text(0.02, 0.04, "Stars: known deposits. Red lines: shear zones. White: unsampled forest reserves (nodata). "
                + note, fontsize=9)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(str(output), bbox_inches="tight")


if __name__ == "__main__":
    main(*sys.argv[1:])

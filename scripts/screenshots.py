#!/usr/bin/env python3
"""Pictures of the demo's results for the manual (docs/screenshots), drawn by QGIS from the project
``make demo`` wrote: the project as it opens (Layers panel and map), and one map per algorithm's
output, each with its own legend, on the province's extent.

``make screenshots`` runs it after the screenshot tests (dialogs, dock); it needs
demo_output/DeepProspect_demo.qgz (``make demo``) and says so when it is missing.

Usage: scripts/screenshots.py [--project demo_output/DeepProspect_demo.qgz] [--folder docs/screenshots]
"""
import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: picture → layers shown, top to bottom (names in the demo project, scripts/demo_project.py).
OUTPUTS = {
    "output_synthetic_province": ("Known deposits", "Shear zones", "True probability (synthetic truth)"),
    "output_idw": ("Geochemical samples (Sb)", "Geochemistry (IDW, 9 elements, Sb_con shown)"),
    "output_stack": ("Evidence stack (16 factors, Sb_con shown)",),
    "output_sample_negatives": ("Training points (deposit / non-deposit)", "Evidence stack (16 factors, Sb_con shown)"),
    "output_predict": ("Known deposits", "Probability of gold"),
}
SIZE = (1100, 640)        # layers panel + map, in pixels
TREE_WIDTH = 380


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default=str(ROOT / "demo_output" / "DeepProspect_demo.qgz"))
    parser.add_argument("--folder", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    if not Path(args.project).is_file():
        print("screenshots: {} is missing; run `make demo` first for the pictures of results.".format(args.project))
        return 0
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["GDAL_PAM_ENABLED"] = "NO"    # drawing computes statistics: no .aux.xml beside the demo's files
    from qgis.core import QgsApplication

    application = QgsApplication([], True)
    application.initQgis()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    _pictures(Path(args.project), folder)
    return 0


def _pictures(project_path, folder):
    from qgis.core import QgsLayerTree, QgsProject
    from qgis.PyQt.QtGui import QFont
    from qgis.PyQt.QtWidgets import QApplication

    QApplication.setFont(QFont(QApplication.font().family(), 9))   # QGIS desktop's usual interface font
    project = QgsProject.instance()
    if not project.read(str(project_path)):
        raise SystemExit("Cannot read {}".format(project_path))
    extent = project.viewSettings().defaultViewExtent()
    draw(project.layerTreeRoot(), project.crs(), extent, folder / "demo_project.png")
    for name, titles in OUTPUTS.items():
        tree = QgsLayerTree()
        for title in titles:
            layer = project.mapLayersByName(title)[0]
            node = tree.addLayer(layer)
            node.setItemVisibilityChecked(True)
            node.setExpanded(True)
            original = project.layerTreeRoot().findLayer(layer.id())
            for key in original.customProperties():   # the legend's words (its renamed heading)
                if key.startswith("legend/"):
                    node.setCustomProperty(key, original.customProperty(key))
        draw(tree, project.crs(), extent, folder / (name + ".png"))
    print("screenshots: demo_project.png and {} pictures of results in {}".format(len(OUTPUTS), folder))


def draw(root, crs, extent, path, size=SIZE):
    """The layer tree ``root`` beside a map canvas (in ``crs``) showing its checked layers on
    ``extent``, as QGIS's Layers panel and map show them; saved to ``path`` (PNG)."""
    from qgis.core import QgsLayerTreeModel
    from qgis.gui import QgsLayerTreeMapCanvasBridge, QgsLayerTreeView, QgsMapCanvas
    from qgis.PyQt.QtCore import QCoreApplication
    from qgis.PyQt.QtWidgets import QSplitter

    _headings_in_words(root)
    window = QSplitter()
    view = QgsLayerTreeView(window)
    model = QgsLayerTreeModel(root, window)
    view.setModel(model)
    canvas = QgsMapCanvas(window)
    canvas.setDestinationCrs(crs)
    bridge = QgsLayerTreeMapCanvasBridge(root, canvas, window)
    bridge.setAutoSetupOnFirstLayer(False)
    window.resize(*size)
    window.setSizes([TREE_WIDTH, size[0] - TREE_WIDTH])
    window.show()
    for _ in range(10):
        QCoreApplication.processEvents()
    canvas.setExtent(extent)
    canvas.refresh()
    for _ in range(200):
        QCoreApplication.processEvents()
        if not canvas.isDrawing():
            break
        time.sleep(0.05)
    canvas.waitWhileRendering()
    QCoreApplication.processEvents()
    if not window.grab().save(str(path)):
        raise SystemExit("Cannot write {}".format(path))
    window.hide()
    window.deleteLater()


def _headings_in_words(root):
    """Legend headings in words for DeepProspect's own maps not headed yet (a tree built here, not
    read from the demo project, whose headings are copied over): needs the package importable."""
    try:
        from deepprospect.processing_provider.legend_headings import set_legend_heading
    except ImportError:
        return
    for node in root.findLayers():
        if not node.customProperty("legend/label-0"):
            set_legend_heading(node)


if __name__ == "__main__":
    sys.exit(main())

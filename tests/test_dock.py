"""The DeepProspect inspector dock, driven headless in a real QGIS with a real map canvas.

References: factor values are read from the stack with rasterio; the probability is
``models.predict.predict_at_pixels`` at the clicked pixel; click positions are placed with pyproj
(not QGIS) from the pixel's centre; the class balance is counted in the points file.
"""
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
# `make screenshots` refreshes the README's pictures; a plain test run writes them to a temporary
# folder, so `make test` never changes tracked files.
SCREENSHOTS = Path(os.environ.get("DEEPPROSPECT_SCREENSHOTS") or tempfile.mkdtemp(prefix="deepprospect-screenshots-"))
DOCK_SIZE = (480, 760)


# Fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def training_points(province, province_stack, tmp_path_factory):
    """The province's deposits (label 1) and 150 random valid pixels (label 0), as a GeoPackage."""
    import geopandas as gpd
    import pandas as pd

    from deepprospect.core.raster import pixel_centres, read_stack_info

    info = read_stack_info(province_stack)
    deposits = gpd.read_file(province["deposits"])
    rng = np.random.default_rng(7)
    xy = pixel_centres(info, rng.integers(0, info.height, 150), rng.integers(0, info.width, 150))
    negatives = gpd.GeoDataFrame({"label": np.zeros(len(xy), dtype=int)}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                                 crs=deposits.crs)
    positives = gpd.GeoDataFrame({"label": np.ones(len(deposits), dtype=int)}, geometry=list(deposits.geometry),
                                 crs=deposits.crs)
    points = gpd.GeoDataFrame(pd.concat([positives, negatives], ignore_index=True), crs=deposits.crs)
    path = tmp_path_factory.mktemp("dock_points") / "training_points.gpkg"
    points.to_file(path, driver="GPKG")
    return str(path)


@pytest.fixture(scope="module")
def bundle_path(province_stack, training_points, tmp_path_factory):
    """A real two-member ensemble trained quickly on the 20 km province (models.training)."""
    from deepprospect.models.training import train_model

    path = tmp_path_factory.mktemp("dock_model") / "gold.dpm"
    train_model(province_stack, training_points, epochs=40, ensemble_size=2, seed=42, output_model=str(path))
    return str(path)


@pytest.fixture(scope="module")
def holey_stack(province_stack, tmp_path_factory):
    """The province stack with an unsampled hole (every band nodata) and one pixel missing one factor."""
    import rasterio

    path = tmp_path_factory.mktemp("dock_stack") / "evidence_stack.tif"
    shutil.copy(province_stack, path)
    with rasterio.open(path, "r+") as dataset:
        bands = dataset.read()
        bands[:, 60:70, 5:15] = dataset.nodata
        bands[dataset.descriptions.index("Cu_con"), 40, 40] = dataset.nodata
        dataset.write(bands)
    return str(path)


@pytest.fixture(scope="module")
def shap_folder(bundle_path, province_stack, training_points, tmp_path_factory):
    """A SHAP output folder written by the explanation module (importance.csv, shap_values.csv, PNGs)."""
    import geopandas as gpd

    from deepprospect.models import charts
    from deepprospect.models.bundle import load_bundle
    from deepprospect.models.explain import explain_sample

    points = gpd.read_file(training_points)
    xy = np.column_stack([points.geometry.x, points.geometry.y])
    result = explain_sample(load_bundle(bundle_path), province_stack, points_xy=xy,
                            points_labels=points["label"].to_numpy(float), sample_size=len(points) + 60, seed=3)
    folder = tmp_path_factory.mktemp("dock_shap")
    charts.write_report(result, folder)
    return str(folder)


@pytest.fixture(scope="module")
def iface(qgis_app):
    from qgis.core import QgsCoordinateReferenceSystem

    from qgis_interface import QgisInterfaceStub

    stub = QgisInterfaceStub()
    # the canvas in geographic coordinates: every click must be transformed to the stack's UTM
    stub.mapCanvas().setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    stub.mainWindow().resize(1300, 800)
    stub.mainWindow().show()
    return stub


@pytest.fixture(scope="module")
def dock(iface, bundle_path, holey_stack):
    from qgis.core import QgsSettings
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtGui import QFont
    from qgis.PyQt.QtWidgets import QApplication

    from deepprospect.plugin import tasks
    from deepprospect.plugin.dock import InspectorDock
    from deepprospect.plugin.dock_importance import LAST_FOLDER_KEY
    from deepprospect.plugin.dock_model import RECENT_KEY

    saved = QgsSettings().value(RECENT_KEY, [])
    saved_folder = QgsSettings().value(LAST_FOLDER_KEY, "")
    # QGIS desktop's usual 9 pt interface font, not the offscreen platform's 12 pt
    font = QApplication.font()
    QApplication.setFont(QFont(font.family(), 9))
    widget = InspectorDock(iface)
    iface.addDockWidget(Qt.RightDockWidgetArea, widget)
    widget.resize(*DOCK_SIZE)
    assert widget.model_tab.load(bundle_path)
    assert tasks.wait(widget.model_tab.load_task)
    layer = widget.pixel_tab.set_stack(holey_stack)
    canvas = iface.mapCanvas()
    canvas.setLayers([layer])
    _zoom_to_stack(canvas, holey_stack)
    yield widget
    widget.pixel_tab.unload()
    QgsSettings().setValue(RECENT_KEY, saved)
    QgsSettings().setValue(LAST_FOLDER_KEY, saved_folder)
    QApplication.setFont(font)


def _zoom_to_stack(canvas, stack_path):
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsRectangle

    from deepprospect.core.raster import read_stack_info

    info = read_stack_info(stack_path)
    transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:32645"), canvas.mapSettings().destinationCrs(),
                                       QgsProject.instance())
    west, south, east, north = info.bounds
    extent = transform.transformBoundingBox(QgsRectangle(west, south, east, north))
    extent.scale(1.15)
    canvas.setExtent(extent)
    canvas.refresh()


def _click_pixel(iface, dock, stack_path, row, col, offset=(0.0, 0.0)):
    """Press the mouse on the canvas where pixel (row, col) of the stack is, with the pixel tool on."""
    from pyproj import Transformer
    from qgis.core import QgsPointXY
    from qgis.gui import QgsMapMouseEvent
    from qgis.PyQt.QtCore import QEvent, QPoint, Qt

    from deepprospect.core.raster import pixel_centres, read_stack_info

    info = read_stack_info(stack_path)
    x, y = pixel_centres(info, [row], [col])[0] + np.asarray(offset)
    lon, lat = Transformer.from_crs(32645, 4326, always_xy=True).transform(x, y)
    canvas = iface.mapCanvas()
    dock.pixel_tab.pick_button.setChecked(True)
    assert canvas.mapTool() is dock.pixel_tab.tool
    screen = canvas.getCoordinateTransform().transform(QgsPointXY(lon, lat))
    event = QgsMapMouseEvent(canvas, QEvent.MouseButtonPress, QPoint(round(screen.x()), round(screen.y())),
                             Qt.LeftButton, Qt.LeftButton, Qt.NoModifier)
    dock.pixel_tab.tool.canvasPressEvent(event)
    release = QgsMapMouseEvent(canvas, QEvent.MouseButtonRelease, QPoint(round(screen.x()), round(screen.y())),
                               Qt.LeftButton, Qt.NoButton, Qt.NoModifier)
    dock.pixel_tab.tool.canvasReleaseEvent(release)


def _wait_for_explanation(dock):
    from deepprospect.plugin import tasks

    assert dock.pixel_tab.task is not None
    assert tasks.wait(dock.pixel_tab.task, timeout=180)
    return dock.pixel_tab.last_result


# Model tab ---------------------------------------------------------------------------------

def test_loading_a_bundle_fills_the_metrics(dock, bundle_path, training_points):
    import geopandas as gpd

    from deepprospect.models.bundle import read_metadata

    metadata = read_metadata(bundle_path)
    tab = dock.model_tab
    table = tab.metrics_table
    headers = [table.verticalHeaderItem(row).text() for row in range(table.rowCount())]
    network = {header: table.item(row, 0).text() for row, header in enumerate(headers)}
    forest = {header: table.item(row, 2).text() for row, header in enumerate(headers)}
    assert network["ROC-AUC"] == "{:.3f}".format(metadata["metrics"]["roc_auc"])
    assert network["F1 (deposit)"] == "{:.3f}".format(metadata["metrics"]["deposit"]["f1"])
    assert forest["ROC-AUC"] == "{:.3f}".format(metadata["baselines"]["random_forest"]["roc_auc"])
    assert "–" not in network.values() and "–" not in forest.values()

    # class balance and the confusion matrix's total against the points file itself
    labels = gpd.read_file(training_points)["label"].to_numpy()
    balance = tab.summary_labels["balance"].text()
    assert "{} deposits".format(int(labels.sum())) in balance
    assert "{} non-deposits".format(int((labels == 0).sum())) in balance
    confusion = tab.confusion_table
    validation_points = metadata["validation"]["validation_points"]
    assert int(confusion.item(2, 2).text()) == validation_points
    (tp, fn), (fp, tn) = metadata["metrics"]["confusion_matrix"]
    assert int(confusion.item(0, 0).text()) == tp and int(confusion.item(1, 1).text()) == tn
    # accuracy in the table agrees with the confusion matrix it shows
    assert float(network["Accuracy"]) == pytest.approx((tp + tn) / validation_points, abs=6e-4)

    assert "16:" in tab.summary_labels["factors"].text() and "Sb_con" in tab.summary_labels["factors"].text()
    assert "ensemble of 2" in tab.summary_labels["architecture"].text()
    # the curves are a live matplotlib figure with a line per member for training and validation
    loss_axes = tab.curves.figure.axes[0]
    assert len(loss_axes.lines) == 4
    assert len(loss_axes.lines[0].get_xdata()) == len(metadata["history"][0]["loss"])
    # the Keras members were loaded in a QgsTask
    assert dock.bundle is not None and len(dock.bundle.members) == 2


def test_recent_bundles_are_remembered(dock, bundle_path):
    from deepprospect.plugin.dock_model import recent_bundles

    assert recent_bundles()[0] == bundle_path
    combo = dock.model_tab.recent_combo
    assert bundle_path in [combo.itemData(index) for index in range(combo.count())]


def test_a_file_that_is_not_a_bundle_says_so(qgis_app, tmp_path):
    from deepprospect.plugin.dock_model import ModelTab

    bad = tmp_path / "notes.dpm"
    bad.write_text("not a zip")
    tab = ModelTab()
    assert not tab.load(str(bad))
    assert "not a DeepProspect model bundle" in tab.status.text()


def test_the_plugin_action_opens_the_inspector(iface):
    from deepprospect import classFactory
    from deepprospect.plugin.dock import InspectorDock

    plugin = classFactory(iface)
    plugin.show_inspector()
    assert isinstance(plugin.inspector, InspectorDock) and plugin.inspector in iface.docks
    assert [dock.tabs.tabText(index) for dock in [plugin.inspector] for index in range(4)] == [
        "Model", "Importance", "Pixel inspector", "Layers"]
    iface.removeDockWidget(plugin.inspector)
    plugin.inspector.deleteLater()


# Pixel inspector ---------------------------------------------------------------------------

def test_click_on_a_pixel_shows_its_values_probability_and_explanation(iface, dock, holey_stack):
    import rasterio
    from rasterio.windows import Window

    from deepprospect.models.predict import predict_at_pixels
    from deepprospect.plugin.dock_pixel import format_value

    row, col = 33, 47
    _click_pixel(iface, dock, holey_stack, row, col, offset=(60.0, -40.0))
    result = _wait_for_explanation(dock)
    assert (result["row"], result["col"]) == (row, col)
    with rasterio.open(holey_stack) as dataset:
        expected = dataset.read(window=Window(col, row, 1, 1))[:, 0, 0]
        names = list(dataset.descriptions)
    np.testing.assert_array_equal(result["values"], expected.astype(np.float64))
    shown = dock.pixel_tab.table_values()
    assert shown == {name: format_value(value) for name, value in zip(names, expected)}

    members = predict_at_pixels(dock.bundle, holey_stack, np.array([row]), np.array([col]))[:, 0]
    assert result["probability"] == pytest.approx(float(members.mean()), abs=1e-6)
    np.testing.assert_allclose(result["members"], members, atol=1e-6)
    assert dock.pixel_tab.probability_label.text().startswith("{:.3f}".format(members.mean()))
    # SHAP is additive: base value + contributions = the pixel's probability
    assert result["base_value"] + result["shap_values"].sum() == pytest.approx(result["probability"], abs=0.02)
    waterfall_axes = dock.pixel_tab.waterfall.figure.axes
    assert waterfall_axes and len(waterfall_axes[0].patches) >= 5


def test_click_on_nodata_says_so(iface, dock, holey_stack):
    _click_pixel(iface, dock, holey_stack, 64, 9)
    assert dock.pixel_tab.last_result is None
    assert "No data at this pixel" in dock.pixel_tab.message_label.text()
    assert dock.pixel_tab.values_table.rowCount() == 0
    _click_pixel(iface, dock, holey_stack, 40, 40)
    assert "Cu_con" in dock.pixel_tab.message_label.text()


def test_click_outside_the_stack_says_so(iface, dock, holey_stack):
    _click_pixel(iface, dock, holey_stack, -5, 20)
    assert dock.pixel_tab.last_result is None
    assert "Outside the evidence stack" in dock.pixel_tab.message_label.text()


# Importance and layers ---------------------------------------------------------------------

def test_importance_tab_draws_the_shap_folder(dock, shap_folder):
    import pandas as pd

    tab = dock.importance_tab
    assert tab.load(shap_folder)
    importance = pd.read_csv(Path(shap_folder) / "importance.csv")
    bar_axes = tab.bar_canvas.figure.axes[0]
    labels = {label.get_text() for label in bar_axes.get_yticklabels()}
    assert set(importance["factor"]) <= labels | {""} or len(bar_axes.patches) == len(importance)
    top = importance.sort_values("mean_abs_shap", ascending=False)["factor"].iloc[0]
    assert tab.show_chart("dependence", top)
    assert top in tab.detail_canvas.figure.axes[0].get_xlabel()
    assert tab.show_chart("class_swarm", top)
    assert not tab.load(str(Path(shap_folder).parent))
    assert "importance.csv" in tab.status.text()
    assert tab.load(shap_folder)


@pytest.fixture(scope="module")
def prediction(bundle_path, holey_stack, training_points, tmp_path_factory):
    """deepprospect:predict's outputs (probability, uncertainty, classes with .qml beside them) and the
    training points, in one folder as a run leaves them."""
    from deepprospect.models.predict import predict_map

    folder = tmp_path_factory.mktemp("dock_run")
    predict_map(bundle_path, holey_stack, str(folder / "probability.tif"),
                output_uncertainty=str(folder / "uncertainty.tif"), output_classes=str(folder / "classes.tif"))
    shutil.copy(training_points, folder / "training_points.gpkg")
    return folder


def test_layers_tab_loads_styled_layers(dock, prediction):
    import re

    from qgis.core import QgsProject

    from deepprospect.plugin.dock_layers import GROUP_NAME

    tab = dock.layers_tab
    tab.set_paths(probability=prediction / "probability.tif")
    # the other outputs of the run are found beside the probability raster
    assert tab.widgets["uncertainty"].filePath() == str(prediction / "uncertainty.tif")
    assert tab.widgets["classes"].filePath() == str(prediction / "classes.tif")
    assert tab.widgets["points"].filePath() == str(prediction / "training_points.gpkg")
    added = tab.load_layers()
    assert len(added) == 4 and all(layer.isValid() for layer in added)
    for name in ("probability", "uncertainty", "classes"):
        layer = next(layer for layer in added if layer.source() == str(prediction / (name + ".tif")))
        # the renderer the .qml beside the raster declares, not QGIS's default grey
        declared = re.search(r'<rasterrenderer[^>]*\stype="([^"]+)"', (prediction / (name + ".qml")).read_text())
        assert layer.renderer().type() == declared.group(1) != "singlebandgray"
    points = next(layer for layer in added if layer.name() == "Training points")
    renderer = points.renderer()
    assert renderer.type() == "categorizedSymbol" and renderer.classAttribute() == "label"
    assert sorted(str(category.value()) for category in renderer.categories()) == ["0", "1"]
    group = QgsProject.instance().layerTreeRoot().findGroup(GROUP_NAME)
    assert group is not None and len(group.findLayers()) == 4
    # training points on top, then probability
    assert [node.layer().name() for node in group.findLayers()][:2] == ["Training points", "Probability of a deposit"]


# Screenshots (make screenshots) ------------------------------------------------------------

@pytest.mark.parametrize("tab_index,name", [(0, "model"), (1, "importance"), (2, "pixel_inspector"), (3, "layers")])
def test_screenshot_of_each_tab(iface, dock, holey_stack, shap_folder, prediction, tab_index, name):
    from qgis.PyQt.QtCore import QCoreApplication

    if tab_index == 3:
        dock.layers_tab.set_paths(probability=prediction / "probability.tif")
        dock.layers_tab.load_layers()
    if tab_index == 1:
        dock.importance_tab.load(shap_folder)
    if tab_index == 2:
        _click_pixel(iface, dock, holey_stack, 33, 47)
        _wait_for_explanation(dock)
    from qgis.PyQt.QtWidgets import QScrollArea

    dock.tabs.setCurrentIndex(tab_index)
    dock.setFloating(True)
    dock.resize(*DOCK_SIZE)
    for _ in range(5):
        QCoreApplication.processEvents()
    # tall enough to show the whole tab without its scroll bar (the README shows all of it)
    scroll = dock.tabs.currentWidget().findChild(QScrollArea)
    for _ in range(5):
        hidden = scroll.verticalScrollBar().maximum() if scroll is not None else 0
        if hidden <= 0:
            break
        dock.resize(DOCK_SIZE[0], dock.height() + hidden)
        for _ in range(5):
            QCoreApplication.processEvents()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "inspector_{}.png".format(name)
    assert dock.grab().save(str(path))
    assert path.stat().st_size > 10_000


def test_screenshot_of_the_inspector_beside_the_map(iface, dock, holey_stack, prediction):
    """The whole window: probability map and training points on the canvas, the dock explaining a pixel."""
    from qgis.core import QgsProject
    from qgis.PyQt.QtCore import QCoreApplication, Qt

    from deepprospect.plugin.dock_layers import GROUP_NAME

    group = QgsProject.instance().layerTreeRoot().findGroup(GROUP_NAME)
    if group is None or not group.findLayers():
        dock.layers_tab.set_paths(probability=prediction / "probability.tif")
        dock.layers_tab.load_layers()
        group = QgsProject.instance().layerTreeRoot().findGroup(GROUP_NAME)
    layers = {node.layer().name(): node.layer() for node in group.findLayers()}
    dock.setFloating(False)
    iface.mainWindow().addDockWidget(Qt.RightDockWidgetArea, dock)
    iface.mainWindow().resize(1280, 820)
    iface.mainWindow().resizeDocks([dock], [500], Qt.Horizontal)
    canvas = iface.mapCanvas()
    canvas.setLayers([layers["Training points"], layers["Probability of a deposit"]])
    _zoom_to_stack(canvas, holey_stack)
    _click_pixel(iface, dock, holey_stack, 33, 47)
    _wait_for_explanation(dock)
    dock.tabs.setCurrentIndex(2)
    canvas.refresh()
    for _ in range(50):
        QCoreApplication.processEvents()
        canvas.waitWhileRendering()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "inspector_in_qgis.png"
    assert iface.mainWindow().grab().save(str(path))
    assert path.stat().st_size > 30_000

"""The DeepProspect inspector dock, driven headless in a real QGIS with a real map canvas, with
real mouse clicks, answered by the real engine process.

References, independent of the dock: factor values are read from the stack with ``osgeo.gdal``;
the probability and the ensemble's spread are read from the maps the engine's ``predict`` task
wrote (the map's own prediction path); click positions are placed with ``osgeo.osr`` (not QGIS)
from the pixel's centre; metrics come from the bundle's ``metadata.json`` (``zipfile``); the class
balance is counted in the points file with ``osgeo.ogr``.
"""
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # qgis_interface.QgisInterfaceStub

# `make screenshots` refreshes the README's pictures; a plain test run writes them to a temporary
# folder, so `make test` never changes tracked files.
SCREENSHOTS = Path(os.environ.get("DEEPPROSPECT_SCREENSHOTS") or tempfile.mkdtemp(prefix="deepprospect-screenshots-"))
DOCK_SIZE = (480, 760)
STACK_EPSG = 32645
PIXEL = (33, 47)          # a pixel with data everywhere: the one the tests click
HOLE = (slice(60, 70), slice(5, 15))   # every factor nodata here
MISSING_CU = (40, 40)     # only Cu_con nodata here
ENGINE_TIMEOUT = 300


def _engine(task, args):
    from deepprospect.processing_provider.engine_runner import run_task

    return run_task(task, args)


# Fixtures ----------------------------------------------------------------------------------

# The session's province, training points and bundle (conftest): the same 20 km province (seed 1),
# 150 non-deposits ≥ 500 m (seed 7), and a two-member pradhan2022_dense ensemble trained on them.

@pytest.fixture(scope="module")
def training_points(province_training_points):
    """The province's deposits (label 1) and 150 random non-deposits (label 0), as a GeoPackage
    whose layer is ``training_points``."""
    return province_training_points


@pytest.fixture(scope="module")
def bundle_path(province_bundle):
    """A real two-member pradhan2022_dense ensemble trained quickly on the 20 km province by the engine
    (a network: the dock's explanations use its gradients)."""
    return province_bundle


@pytest.fixture(scope="module")
def metadata(bundle_path):
    with zipfile.ZipFile(bundle_path) as archive:
        return json.loads(archive.read("metadata.json"))


@pytest.fixture(scope="module")
def holey_stack(province_stack, tmp_path_factory):
    """The province stack with an unsampled hole (every band nodata) and one pixel missing one factor."""
    from osgeo import gdal

    path = tmp_path_factory.mktemp("dock_stack") / "evidence_stack.tif"
    shutil.copy(province_stack, path)
    dataset = gdal.Open(str(path), gdal.GA_Update)
    for index in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(index)
        values = band.ReadAsArray()
        values[HOLE] = band.GetNoDataValue()
        if band.GetDescription() == "Cu_con":
            values[MISSING_CU] = band.GetNoDataValue()
        band.WriteArray(values)
    dataset = None
    return str(path)


@pytest.fixture(scope="module")
def shap_folder(bundle_path, province_stack, training_points, tmp_path_factory):
    """A SHAP output folder written by the engine's shap task (importance.csv, shap_values.csv, PNGs)."""
    folder = tmp_path_factory.mktemp("dock_shap")
    _engine("shap", {"stack": province_stack, "model": bundle_path, "points": training_points,
                     "points_layer": "training_points", "explainer": "gradient", "sample_size": 300,
                     "background_size": 100, "seed": 3, "folder": str(folder)})
    return str(folder)


@pytest.fixture(scope="module")
def prediction(bundle_path, holey_stack, training_points, tmp_path_factory):
    """The engine's predict outputs (probability, uncertainty, classes with .qml beside them) and the
    training points, in one folder as a run leaves them."""
    folder = tmp_path_factory.mktemp("dock_run")
    _engine("predict", {"stack": holey_stack, "model": bundle_path, "output": str(folder / "probability.tif"),
                        "output_uncertainty": str(folder / "uncertainty.tif"),
                        "output_classes": str(folder / "classes.tif"), "class_fractions": [0.05, 0.10, 0.25],
                        "block_size": 256})
    shutil.copy(training_points, folder / "training_points.gpkg")
    return folder


@pytest.fixture(scope="module")
def iface(qgis_app):
    from qgis.core import QgsCoordinateReferenceSystem

    from qgis_interface import QgisInterfaceStub

    stub = QgisInterfaceStub()
    # the canvas in geographic coordinates: every click must be transformed to the stack's UTM
    stub.mapCanvas().setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    stub.mainWindow().resize(1300, 800)
    stub.mainWindow().show()
    yield stub
    _delete_now(stub.mainWindow())


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
    iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, widget)
    widget.resize(*DOCK_SIZE)
    request = widget.model_tab.load(bundle_path)
    assert tasks.wait(request, ENGINE_TIMEOUT) and request.error is None, request.error
    layer = widget.pixel_tab.set_stack(holey_stack)
    canvas = iface.mapCanvas()
    canvas.setLayers([layer])
    _zoom_to_stack(canvas, holey_stack)
    yield widget
    widget.unload()
    iface.removeDockWidget(widget)
    _delete_now(widget)
    QgsSettings().setValue(RECENT_KEY, saved)
    QgsSettings().setValue(LAST_FOLDER_KEY, saved_folder)
    QApplication.setFont(font)


def _delete_now(widget):
    """Delete a widget at once (deleteLater, then the deferred delete delivered), not whenever Python's
    garbage collector gets to it: a window freed in the middle of a later test's project change
    would take its widgets down inside that change."""
    from qgis.PyQt.QtCore import QCoreApplication, QEvent

    widget.hide()
    widget.setParent(None)
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _grid(stack_path):
    """(geotransform, width, height) of a raster, read with GDAL."""
    from osgeo import gdal

    dataset = gdal.Open(stack_path)
    return dataset.GetGeoTransform(), dataset.RasterXSize, dataset.RasterYSize


def _zoom_to_stack(canvas, stack_path):
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsRectangle

    (west, size_x, _, north, _, size_y), width, height = _grid(stack_path)
    transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:{}".format(STACK_EPSG)),
                                       canvas.mapSettings().destinationCrs(), QgsProject.instance())
    extent = transform.transformBoundingBox(QgsRectangle(west, north + height * size_y, west + width * size_x, north))
    extent.scale(1.15)
    canvas.setExtent(extent)
    canvas.refresh()


def _lon_lat(x, y):
    """UTM 45N → WGS 84 with GDAL's osr (not QGIS), longitude first."""
    from osgeo import osr

    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromEPSG(STACK_EPSG)
    target.ImportFromEPSG(4326)
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(source, target).TransformPoint(x, y)
    return lon, lat


def _click_pixel(iface, dock, stack_path, row, col, offset=(0.0, 0.0)):
    """Press the pick button if needed, then click the canvas where pixel (row, col) of the stack is."""
    from qgis.core import QgsPointXY
    from qgis.PyQt.QtCore import QPoint, Qt
    from qgis.PyQt.QtTest import QTest

    (west, size_x, _, north, _, size_y), _, _ = _grid(stack_path)
    x = west + (col + 0.5) * size_x + offset[0]
    y = north + (row + 0.5) * size_y + offset[1]
    canvas = iface.mapCanvas()
    if not dock.pixel_tab.pick_button.isChecked():
        QTest.mouseClick(dock.pixel_tab.pick_button, Qt.MouseButton.LeftButton)
    assert canvas.mapTool() is dock.pixel_tab.tool
    screen = canvas.getCoordinateTransform().transform(QgsPointXY(*_lon_lat(x, y)))
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(round(screen.x()), round(screen.y())))


def _wait_for_answer(dock):
    from deepprospect.plugin import tasks

    request = dock.pixel_tab.request
    assert request is not None
    assert tasks.wait(request, ENGINE_TIMEOUT)
    return dock.pixel_tab.last_result


def _pixel_of(path, row, col):
    from osgeo import gdal

    dataset = gdal.Open(str(path))
    return [float(dataset.GetRasterBand(index).ReadAsArray(col, row, 1, 1)[0, 0])
            for index in range(1, dataset.RasterCount + 1)]


def _band_names(path):
    from osgeo import gdal

    dataset = gdal.Open(str(path))
    return [dataset.GetRasterBand(index).GetDescription() for index in range(1, dataset.RasterCount + 1)]


def _chart_shown(view, minimum_height=120):
    """The view holds a real picture, scaled to its width, tall enough to read."""
    pixmap = view.pixmap()
    assert not view.source.isNull() and pixmap is not None and not pixmap.isNull()
    ratio = pixmap.devicePixelRatio()
    assert abs(pixmap.width() / ratio - view.contentsRect().width()) <= 2
    assert pixmap.height() / ratio >= minimum_height
    return True


# Model tab ---------------------------------------------------------------------------------

def test_loading_a_bundle_fills_the_metrics(dock, metadata, training_points):
    from osgeo import ogr

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
    source = ogr.Open(training_points)  # the layer lives only as long as its data source
    labels = [feature.GetField("label") for feature in source.GetLayerByName("training_points")]
    balance = tab.summary_labels["balance"].text()
    assert "{} deposits".format(labels.count(1)) in balance
    assert "{} non-deposits".format(labels.count(0)) in balance
    confusion = tab.confusion_table
    validation_points = metadata["validation"]["validation_points"]
    assert int(confusion.item(2, 2).text()) == validation_points
    (tp, fn), (fp, tn) = metadata["metrics"]["confusion_matrix"]
    assert int(confusion.item(0, 0).text()) == tp and int(confusion.item(1, 1).text()) == tn
    # accuracy in the table agrees with the confusion matrix it shows
    assert float(network["Accuracy"]) == pytest.approx((tp + tn) / validation_points, abs=6e-4)

    assert "16:" in tab.summary_labels["factors"].text() and "Sb_con" in tab.summary_labels["factors"].text()
    assert "ensemble of 2" in tab.summary_labels["architecture"].text()
    # words, not the code name: the catalog's label of the bundle's architecture
    from deepprospect.catalog import ARCHITECTURES

    assert tab.summary_labels["architecture"].text().startswith(ARCHITECTURES.label(metadata["architecture"]))
    assert metadata["architecture"] not in tab.summary_labels["architecture"].text()
    # the engine drew the training curves; the dock shows the picture at its width
    assert _chart_shown(tab.curves)


def test_the_model_is_loaded_into_the_warm_engine(dock, bundle_path):
    from deepprospect.plugin import tasks

    request = dock.model_tab.prepare_request
    assert tasks.wait(request, ENGINE_TIMEOUT) and request.error is None
    assert dock.model_tab.ready and request.result["members"] == 2
    assert "Model loaded" in dock.model_tab.status.text()
    assert dock.engine.engine is not None and dock.engine.engine.alive()


def test_recent_bundles_are_remembered(dock, bundle_path):
    from deepprospect.plugin.dock_model import recent_bundles

    assert recent_bundles()[0] == bundle_path
    combo = dock.model_tab.recent_combo
    assert bundle_path in [combo.itemData(index) for index in range(combo.count())]


def test_a_file_that_is_not_a_bundle_says_so(dock, bundle_path, tmp_path):
    from qgis.core import QgsApplication

    from deepprospect.plugin import tasks

    logged = []
    log = QgsApplication.messageLog()
    log.messageReceived.connect(lambda message, tag, level: logged.append((tag, message)))
    bad = tmp_path / "notes.dpm"
    bad.write_text("not a zip")
    request = dock.model_tab.load(str(bad))
    assert tasks.wait(request, ENGINE_TIMEOUT)
    assert "not a DeepProspect model bundle" in dock.model_tab.status.text()
    assert "Traceback" not in dock.model_tab.status.text()
    assert any(tag == "DeepProspect" and "not a DeepProspect model bundle" in message for tag, message in logged)
    assert dock.model_tab.path == bundle_path  # the shown model stays


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

def test_click_on_a_pixel_shows_its_values_probability_and_explanation(iface, dock, holey_stack, prediction):
    from deepprospect.plugin.dock_pixel import format_value

    row, col = PIXEL
    _click_pixel(iface, dock, holey_stack, row, col, offset=(60.0, -40.0))
    result = _wait_for_answer(dock)
    assert result is not None, dock.pixel_tab.last_message
    assert (result["row"], result["col"]) == (row, col)
    expected = _pixel_of(holey_stack, row, col)
    assert result["values"] == expected
    shown = dock.pixel_tab.table_values()
    assert shown == {name: format_value(value) for name, value in zip(_band_names(holey_stack), expected)}

    # the map the engine predicted: same probability, and its uncertainty is the members' spread
    probability = _pixel_of(prediction / "probability.tif", row, col)[0]
    spread = _pixel_of(prediction / "uncertainty.tif", row, col)[0]
    assert result["probability"] == pytest.approx(probability, abs=1e-6)
    assert len(result["members"]) == 2
    assert sum(result["members"]) / 2 == pytest.approx(probability, abs=1e-6)
    assert result["spread"]["sd"] == pytest.approx(spread, abs=1e-6)
    assert dock.pixel_tab.probability_label.text().startswith("{:.3f}".format(probability))
    assert "ensemble of 2" in dock.pixel_tab.probability_label.text()
    # SHAP is additive: base value + contributions = the pixel's probability, within the explainer's error
    assert result["additivity_error"] < 0.01
    total = result["base_value"] + sum(result["shap_values"])
    assert abs(total - probability) <= result["additivity_error"] + 1e-5
    assert _chart_shown(dock.pixel_tab.waterfall, minimum_height=200)
    assert "Explained in" in dock.pixel_tab.message_label.text()


def test_without_a_model_a_click_shows_the_values_then_the_model_explains_them(iface, dock, holey_stack, bundle_path):
    from deepprospect.plugin import tasks

    dock.pixel_tab.set_model(None)
    _click_pixel(iface, dock, holey_stack, 20, 30)
    result = _wait_for_answer(dock)
    assert result is not None and result.get("probability") is None
    assert result["values"] == _pixel_of(holey_stack, 20, 30)
    assert dock.pixel_tab.values_table.rowCount() == 16 and not dock.pixel_tab.waterfall.has_chart()
    assert "Load a model bundle" in dock.pixel_tab.message_label.text()
    # choosing the model explains the pixel on screen
    dock.pixel_tab.set_model(bundle_path)
    assert tasks.wait(dock.pixel_tab.request, ENGINE_TIMEOUT)
    result = dock.pixel_tab.last_result
    assert (result["row"], result["col"]) == (20, 30) and result["probability"] is not None
    assert dock.pixel_tab.waterfall.has_chart()


def test_a_warm_click_reuses_the_engine(iface, dock, holey_stack):
    """The dock keeps one worker: a second click is answered by the same process."""
    pid = dock.engine.engine.pid
    _click_pixel(iface, dock, holey_stack, 20, 30)
    result = _wait_for_answer(dock)
    assert result is not None and (result["row"], result["col"]) == (20, 30)
    assert dock.engine.engine.pid == pid


def test_click_on_nodata_says_so(iface, dock, holey_stack):
    _click_pixel(iface, dock, holey_stack, 64, 9)
    _wait_for_answer(dock)
    assert dock.pixel_tab.last_result is None
    assert "No data at this pixel" in dock.pixel_tab.message_label.text()
    assert dock.pixel_tab.values_table.rowCount() == 0
    _click_pixel(iface, dock, holey_stack, *MISSING_CU)
    _wait_for_answer(dock)
    assert "Cu_con" in dock.pixel_tab.message_label.text()


def test_click_outside_the_stack_says_so(iface, dock, holey_stack):
    _click_pixel(iface, dock, holey_stack, -5, 20)
    assert dock.pixel_tab.last_result is None
    assert "Outside the evidence stack" in dock.pixel_tab.message_label.text()


def test_an_engine_that_died_is_reported_then_restarted(iface, dock, holey_stack):
    """The worker is killed as a click reaches it: the dock says so; the next click starts a new one."""
    import signal

    engine = dock.engine.engine
    call = engine.call

    def killed_call(*args, **kwargs):
        os.kill(engine.pid, signal.SIGKILL)
        return call(*args, **kwargs)

    engine.call = killed_call
    _click_pixel(iface, dock, holey_stack, *PIXEL)
    _wait_for_answer(dock)
    assert dock.pixel_tab.last_result is None
    message = dock.pixel_tab.message_label.text()
    assert "engine was killed" in message and "QGIS is fine" in message
    _click_pixel(iface, dock, holey_stack, *PIXEL)
    result = _wait_for_answer(dock)
    assert result is not None and result["probability"] is not None
    assert dock.engine.engine is not engine and dock.engine.engine.alive()


def test_a_dock_without_the_engine_offers_to_install_it(iface, holey_stack, tmp_path, monkeypatch):
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtTest import QTest

    from deepprospect.plugin import tasks
    from deepprospect.plugin.dock import INSTALL_ACTION_NAME, InspectorDock, QAction

    monkeypatch.setenv("DEEPPROSPECT_ENV", str(tmp_path / "no_engine"))
    widget = InspectorDock(iface)
    widget.setFloating(True)
    widget.resize(*DOCK_SIZE)
    widget.show()
    _settle()
    try:
        assert widget.banner.isVisible() and "not installed yet" in widget.banner_label.text()
        widget.grab().save(str(tmp_path / "no_engine.png"))
        widget.pixel_tab.set_stack(holey_stack)
        request = widget.engine.request("pixel", "ping", {}, lambda result, error: None, "test")
        assert tasks.wait(request) and "not installed yet" in str(request.error)
        # the button triggers the plugin's install action when nobody listens to the signal …
        action = QAction("Install the engine…", iface.mainWindow())
        action.setObjectName(INSTALL_ACTION_NAME)
        triggered = []
        action.triggered.connect(lambda: triggered.append("action"))
        QTest.mouseClick(widget.install_button, Qt.MouseButton.LeftButton)
        assert triggered == ["action"]
        # … and emits installEngineRequested when the plugin connected it
        widget.installEngineRequested.connect(lambda: triggered.append("signal"))
        QTest.mouseClick(widget.install_button, Qt.MouseButton.LeftButton)
        assert triggered == ["action", "signal"]
        action.deleteLater()
    finally:
        widget.hide()
        widget.setParent(None)  # off the main window now: deleteLater waits for an event loop
        widget.deleteLater()


# Importance and layers ---------------------------------------------------------------------

def test_importance_tab_draws_the_shap_folder(dock, shap_folder):
    import csv

    from deepprospect.plugin import tasks

    tab = dock.importance_tab
    request = tab.load(shap_folder)
    assert tasks.wait(request, ENGINE_TIMEOUT) and request.error is None, request.error
    with open(Path(shap_folder) / "importance.csv") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: -float(row["mean_abs_shap"]))
    with open(Path(shap_folder) / "shap_values.csv") as handle:
        samples = sum(1 for _ in csv.DictReader(handle))
    assert tab.factors == [row["factor"] for row in rows]
    assert tab.status.text() == "{} samples explained; most important: {}.".format(
        samples, ", ".join(row["factor"] for row in rows[:3]))
    assert _chart_shown(tab.bar_chart, minimum_height=250) and _chart_shown(tab.detail_chart, minimum_height=250)

    top = rows[0]["factor"]
    for kind in ("dependence", "class_swarm"):
        request = tab.show_chart(kind, top)
        assert request is not None and tasks.wait(request, ENGINE_TIMEOUT) and request.error is None
        assert tab.chart_combo.currentData() == (kind, top) and _chart_shown(tab.detail_chart)

    request = tab.load(str(Path(shap_folder).parent))
    assert tasks.wait(request, ENGINE_TIMEOUT)
    assert "importance.csv" in tab.status.text() and not tab.bar_chart.has_chart()
    assert tasks.wait(tab.load(shap_folder), ENGINE_TIMEOUT)


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


def _add_to_project(path, name, provider=None):
    from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer

    layer = QgsVectorLayer(str(path), name, provider) if provider else QgsRasterLayer(str(path), name)
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


def test_layers_tab_lists_the_projects_deepprospect_layers(dock, prediction, holey_stack, tmp_path):
    """Layers put in the project by anyone (here: straight into QgsProject, as opening a saved project
    does) are listed; a click on one fills the run's files; loading them again adds nothing twice."""
    from qgis.core import QgsProject
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtTest import QTest

    run = tmp_path / "earlier_run"
    shutil.copytree(prediction, run)
    tab = dock.layers_tab
    before = tab.project_list.count()
    mine = [_add_to_project(run / "probability.tif", "Gold map, last week"),
            _add_to_project(run / "training_points.gpkg", "My points", "ogr"),
            _add_to_project(holey_stack, "Just a stack")]
    try:
        texts = [tab.project_list.item(row).text() for row in range(tab.project_list.count())]
        assert tab.project_list.count() == before + 2, texts
        assert "Probability: Gold map, last week" in texts and "Training points: My points" in texts
        assert not any("Just a stack" in text for text in texts)
        for widget in tab.widgets.values():
            widget.setFilePath("")
        row = texts.index("Probability: Gold map, last week")
        tab.project_list.scrollToItem(tab.project_list.item(row))
        rectangle = tab.project_list.visualItemRect(tab.project_list.item(row))
        QTest.mouseClick(tab.project_list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         rectangle.center())
        assert tab.widgets["probability"].filePath() == str(run / "probability.tif")
        assert tab.widgets["uncertainty"].filePath() == str(run / "uncertainty.tif")
        count = len(QgsProject.instance().mapLayers())
        added = tab.load_layers()
        # the probability and the points are in the project already: only uncertainty and classes come
        assert sorted(layer.source() for layer in added) == [str(run / "classes.tif"), str(run / "uncertainty.tif")]
        assert len(QgsProject.instance().mapLayers()) == count + 2
        assert "not added twice" in tab.status.text()
        mine += added
    finally:
        QgsProject.instance().removeMapLayers([layer.id() for layer in mine])
    assert tab.project_list.count() == before


def _labels_on_valid_pixels(points_path, stack_path):
    """Labels of the points whose stack pixel has data in every band (the ones SHAP can explain), via GDAL/OGR."""
    from reference import pixel_of, read_points, read_raster

    xy, attributes = read_points(points_path, "training_points")
    data, nodata, _, info = read_raster(stack_path)
    rows, cols = pixel_of(info["transform"], xy)
    valid = (data[:, rows, cols] != nodata).all(axis=0)
    return [label for label, ok in zip(attributes["label"], valid) if ok]


def test_run_shap_explains_every_training_point_before_random_pixels(qgis_app, dock, holey_stack, bundle_path,
                                                                     training_points, monkeypatch, tmp_path):
    """The Importance tab's "Run SHAP…" opens deepprospect:shap with the project's training points and
    enough pixels for all of them; run with what the dialog was given, the deposits are the first
    rows explained and none is left out (shap_values.csv, counted against the points file with OGR)."""
    import csv

    import processing
    from qgis.core import QgsProject
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtTest import QTest

    points = _add_to_project(training_points, "Training points", "ogr")
    opened = []
    monkeypatch.setattr(processing, "execAlgorithmDialog", lambda algorithm, parameters: opened.append(
        (algorithm, dict(parameters))) or {})
    try:
        dock.tabs.setCurrentIndex(1)
        _settle()
        QTest.mouseClick(dock.importance_tab.run_button, Qt.MouseButton.LeftButton)
        assert len(opened) == 1
        algorithm, parameters = opened[0]
        assert algorithm == "deepprospect:shap"
        assert parameters["MODEL"] == bundle_path and parameters["STACK"] == holey_stack
        assert parameters["POINTS"] == points.id()
        labels = _labels_on_valid_pixels(training_points, holey_stack)
        assert parameters["SAMPLE_SIZE"] >= points.featureCount() >= len(labels)
        # the engine with exactly these parameters (a small sample keeps it quick: fewer than the
        # points would be the dialog's user's choice, and is not what the dock offers)
        results = processing.run(algorithm, dict(parameters, SAMPLE_SIZE=parameters["SAMPLE_SIZE"], BACKGROUND_SIZE=50,
                                                 OUTPUT_FOLDER=str(tmp_path / "shap")))
    finally:
        QgsProject.instance().removeMapLayer(points.id())
    with open(tmp_path / "shap" / "shap_values.csv") as handle:
        explained = [float(row["label"]) if row["label"] not in ("", "nan") else None for row in csv.DictReader(handle)]
    deposits = labels.count(1)
    assert explained[:deposits] == [1.0] * deposits
    assert explained.count(1.0) == deposits and explained.count(0.0) == labels.count(0)
    assert results["OUTPUT_FOLDER"]


def test_a_resized_dock_gets_charts_drawn_for_its_width(iface, dock, holey_stack):
    """Made much wider, the dock asks the engine for a waterfall drawn for the new width (the
    letters keep their size) instead of blowing the old picture up."""
    import time

    from qgis.PyQt.QtCore import QCoreApplication

    dock.tabs.setCurrentIndex(2)
    _click_pixel(iface, dock, holey_stack, *PIXEL)
    assert _wait_for_answer(dock) is not None
    view = dock.pixel_tab.waterfall
    before = view.drawn_width()
    dock.setFloating(True)
    dock.resize(DOCK_SIZE[0] + 400, DOCK_SIZE[1])
    deadline = time.monotonic() + ENGINE_TIMEOUT
    while abs(view.drawn_width() - view.contentsRect().width()) > 2 and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    assert view.drawn_width() == pytest.approx(view.contentsRect().width(), abs=2)
    assert view.drawn_width() > before + 200 and _chart_shown(view)
    dock.resize(*DOCK_SIZE)
    _settle()


def _own_controls(tab, kinds):
    """The tab's visible widgets of ``kinds``, not counting the insides of QGIS's composite widgets
    (a file widget lays out its own buttons)."""
    from qgis.gui import QgsFileWidget, QgsMapLayerComboBox

    for control in tab.findChildren(kinds):
        parent = control.parentWidget()
        while parent is not None and parent is not tab and not isinstance(parent, (QgsFileWidget, QgsMapLayerComboBox)):
            parent = parent.parentWidget()
        if control.isVisible() and parent is tab:
            yield control


def test_every_control_fits_the_narrowest_dock(dock, shap_folder, tmp_path):
    """At the dock's minimum width no tab scrolls sideways and no control is squeezed below the
    size it needs to show its text."""
    from qgis.PyQt.QtWidgets import QComboBox, QLabel, QPushButton, QScrollArea, QToolButton

    from deepprospect.plugin import tasks

    assert tasks.wait(dock.importance_tab.load(shap_folder), ENGINE_TIMEOUT)
    dock.setFloating(True)
    dock.resize(dock.minimumSizeHint().width(), DOCK_SIZE[1])
    _settle()
    for index in range(dock.tabs.count()):
        dock.tabs.setCurrentIndex(index)
        _settle()
        tab = dock.tabs.currentWidget()
        scroll = tab.findChild(QScrollArea)
        assert scroll is None or scroll.horizontalScrollBar().maximum() == 0, dock.tabs.tabText(index)
        for control in _own_controls(tab, (QPushButton, QToolButton, QComboBox)):
            assert control.width() >= control.minimumSizeHint().width(), (dock.tabs.tabText(index), control)
        for label in _own_controls(tab, QLabel):
            if label.text() and not label.wordWrap():
                assert label.width() >= label.minimumSizeHint().width(), (dock.tabs.tabText(index), label.text())
        dock.grab().save(str(tmp_path / "narrowest_{}.png".format(index)))
    dock.resize(*DOCK_SIZE)


# Screenshots (make screenshots) ------------------------------------------------------------

def _settle(count=5):
    from qgis.PyQt.QtCore import QCoreApplication

    for _ in range(count):
        QCoreApplication.processEvents()


@pytest.mark.parametrize("tab_index,name", [(0, "model"), (1, "importance"), (2, "pixel_inspector"), (3, "layers")])
def test_screenshot_of_each_tab(iface, dock, bundle_path, holey_stack, shap_folder, prediction, tab_index, name):
    from qgis.PyQt.QtWidgets import QScrollArea

    from deepprospect.plugin import tasks

    dock.setFloating(True)
    dock.resize(*DOCK_SIZE)
    dock.tabs.setCurrentIndex(tab_index)
    _settle()
    if tab_index == 0:
        assert tasks.wait(dock.model_tab.load(bundle_path), ENGINE_TIMEOUT)
        assert tasks.wait(dock.model_tab.prepare_request, ENGINE_TIMEOUT)
    if tab_index == 3:
        dock.layers_tab.set_paths(probability=prediction / "probability.tif")
        dock.layers_tab.load_layers()
    if tab_index == 1:
        assert tasks.wait(dock.importance_tab.load(shap_folder), ENGINE_TIMEOUT)
    if tab_index == 2:
        _click_pixel(iface, dock, holey_stack, *PIXEL)
        _wait_for_answer(dock)
    _settle()
    # tall enough to show the whole tab without its scroll bar (the README shows all of it)
    scroll = dock.tabs.currentWidget().findChild(QScrollArea)
    for _ in range(5):
        hidden = scroll.verticalScrollBar().maximum() if scroll is not None else 0
        if hidden <= 0:
            break
        dock.resize(DOCK_SIZE[0], dock.height() + hidden)
        _settle()
    # every control fits the width: nothing scrolls sideways
    assert scroll is None or scroll.horizontalScrollBar().maximum() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "inspector_{}.png".format(name)
    assert dock.grab().save(str(path))
    assert path.stat().st_size > 10_000


def test_screenshot_of_the_dock_at_its_default_width(iface, dock, shap_folder, holey_stack):
    """Docked beside a map as QGIS docks it (the width it asks for), every tab, filled as after a
    run, shows every button, label and drop-down at its own full width and never scrolls
    sideways: `make screenshots` keeps these pictures (docs/manual)."""
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtWidgets import QComboBox, QLabel, QMainWindow, QPushButton, QScrollArea, QToolButton, QWidget

    from deepprospect.plugin import tasks

    assert tasks.wait(dock.importance_tab.load(shap_folder), ENGINE_TIMEOUT)
    window = QMainWindow()
    window.setCentralWidget(QWidget())
    window.resize(1280, 800)
    dock.setFloating(False)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.show()
    _settle(10)
    try:
        assert dock.width() >= dock.minimumSizeHint().width()
        for index, name in enumerate(("model", "importance", "pixel_inspector", "layers")):
            dock.tabs.setCurrentIndex(index)
            _settle()
            tab = dock.tabs.currentWidget()
            scroll = tab.findChild(QScrollArea)
            assert scroll is None or scroll.horizontalScrollBar().maximum() == 0, name
            for control in _own_controls(tab, (QPushButton, QToolButton, QComboBox)):
                assert control.width() >= control.sizeHint().width(), (name, control, control.width())
            for label in _own_controls(tab, QLabel):
                if label.text() and not label.wordWrap():
                    assert label.width() >= label.sizeHint().width(), (name, label.text())
            tab_bar = dock.tabs.tabBar()
            assert tab_bar.width() >= tab_bar.sizeHint().width(), "a tab title is cut off"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            assert dock.grab().save(str(SCREENSHOTS / "inspector_default_width_{}.png".format(name)))
    finally:
        iface.mainWindow().addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        window.hide()
        window.deleteLater()
        _settle()


def test_screenshot_of_the_inspector_beside_the_map(iface, dock, holey_stack, prediction):
    """The whole window: probability map and training points on the canvas, the dock explaining a pixel."""
    from qgis.core import QgsProject
    from qgis.PyQt.QtCore import Qt

    from deepprospect.plugin.dock_layers import GROUP_NAME

    group = QgsProject.instance().layerTreeRoot().findGroup(GROUP_NAME)
    if group is None or not group.findLayers():
        dock.layers_tab.set_paths(probability=prediction / "probability.tif")
        dock.layers_tab.load_layers()
        group = QgsProject.instance().layerTreeRoot().findGroup(GROUP_NAME)
    layers = {node.layer().name(): node.layer() for node in group.findLayers()}
    dock.setFloating(False)
    iface.mainWindow().addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    iface.mainWindow().resize(1280, 820)
    iface.mainWindow().resizeDocks([dock], [500], Qt.Orientation.Horizontal)
    dock.tabs.setCurrentIndex(2)
    canvas = iface.mapCanvas()
    canvas.setLayers([layers["Training points"], layers["Probability of a deposit"]])
    _zoom_to_stack(canvas, holey_stack)
    _settle()
    _click_pixel(iface, dock, holey_stack, *PIXEL)
    _wait_for_answer(dock)
    canvas.refresh()
    for _ in range(50):
        _settle(1)
        canvas.waitWhileRendering()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "inspector_in_qgis.png"
    assert iface.mainWindow().grab().save(str(path))
    assert path.stat().st_size > 30_000

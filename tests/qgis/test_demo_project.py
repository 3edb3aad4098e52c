"""The demo's QGIS project (scripts/demo_project.py), built from tiny files written here with GDAL/OGR
and opened as a user opens it in QGIS desktop: ``QgsProject.instance().read`` with a map canvas
named like QGIS's main canvas and the layer tree bridged to it.

References, independent of the project writer: the province's extent is read from the evidence
stack with ``osgeo.gdal``; "default style" is what QGIS itself gives a layer loaded without one
(grey stretch or RGB composite for rasters, a plain symbol of any colour for vectors).
"""
import importlib.util
import shutil

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from reference import ROOT, write_points, write_raster

PIXEL = 100.0
WEST, NORTH = 500000.0, 3000000.0
ROWS, COLS = 30, 40          # the province: 4 km wide, 3 km high
STACK_EXTENT = (WEST, WEST + COLS * PIXEL, NORTH - ROWS * PIXEL, NORTH)   # xmin, xmax, ymin, ymax
TRANSFORM = (WEST, PIXEL, 0.0, NORTH, 0.0, -PIXEL)


def _demo_project_module():
    spec = importlib.util.spec_from_file_location("demo_project", ROOT / "scripts" / "demo_project.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_lines(path, lines, fields, polygons=False):
    """A GeoPackage of lines (or polygons) in EPSG:32645; ``fields``: name → one value per feature."""
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    spatial = osr.SpatialReference()
    spatial.ImportFromEPSG(32645)
    table = source.CreateLayer(path.stem, spatial, ogr.wkbPolygon if polygons else ogr.wkbLineString)
    for name, values in fields.items():
        table.CreateField(ogr.FieldDefn(name, ogr.OFTString if isinstance(values[0], str) else ogr.OFTInteger))
    for index, vertices in enumerate(lines):
        feature = ogr.Feature(table.GetLayerDefn())
        for name, values in fields.items():
            feature.SetField(name, values[index])
        ring = "({})".format(", ".join("{} {}".format(x, y) for x, y in vertices))
        feature.SetGeometry(ogr.CreateGeometryFromWkt("POLYGON ({})".format(ring) if polygons else "LINESTRING " + ring))
        table.CreateFeature(feature)
    source = None
    return str(path)


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    """Every role of the demo project as a tiny file: rasters on the 40 × 30 px province (the magnetic
    grid larger than it, as the survey's is), vectors inside it, predict's .qml beside its rasters."""
    folder = tmp_path_factory.mktemp("demo_project_files")
    rng = np.random.default_rng(5)

    def raster(name, bands=("value",), grid=(ROWS, COLS), transform=TRANSFORM, whole=False):
        data = rng.normal(size=(len(bands),) + grid)
        data = np.round(np.abs(data)).clip(0, 1) if whole else data
        return write_raster(folder / (name + ".tif"), data, transform, list(bands))

    files = dict(stack=raster("evidence_stack", ("Al_con", "Sb_con", "Dist_shear")),
                 idw=raster("geochemistry_idw", ("Sb_con", "As_con")), distance_to_shear=raster("Dist_shear"),
                 lineament_density=raster("Linea_den"), lithology_raster=raster("Lith_gold", whole=True),
                 magnetic=raster("magnetic", grid=(50, 60), transform=(WEST - 1000, PIXEL, 0, NORTH + 1000, 0, -PIXEL)),
                 bouguer=raster("bouguer"), clay=raster("clay"), silica=raster("silica"),
                 truth_probability=raster("truth_probability"), classes=raster("classes", whole=True))
    for name in ("probability", "uncertainty"):
        files[name] = write_raster(folder / (name + ".tif"), rng.uniform(0, 0.3, size=(1, ROWS, COLS)), TRANSFORM,
                                   [name])
    for name in ("probability", "uncertainty", "classes"):   # deepprospect:predict writes its style beside
        shutil.copy(ROOT / "resources" / "styles" / (name + ".qml"), folder / (name + ".qml"))
    inside = np.column_stack([rng.uniform(WEST + 100, WEST + 3900, 12), rng.uniform(NORTH - 2900, NORTH - 100, 12)])
    files["deposits"] = write_points(folder / "deposits.gpkg", inside[:4], {"deposit_id": list(range(4))}, "deposits")
    files["training_points"] = write_points(folder / "training_points.gpkg", inside,
                                            {"label": [1] * 4 + [0] * 8}, "training_points")
    files["geochemistry"] = write_points(folder / "geochem.gpkg", inside, {"Sb_con": rng.uniform(0, 5, 12).tolist()},
                                         "geochem")
    files["shear_zones"] = _write_lines(folder / "shear_zones.gpkg", [[(WEST, NORTH - 500), (WEST + 4000, NORTH - 2500)]],
                                        {"name": ["Main shear"]})
    files["lineaments"] = _write_lines(folder / "lineaments.gpkg", [[(WEST + 500, NORTH), (WEST + 900, NORTH - 3000)]],
                                       {"lineament_id": [1]})
    square = [(WEST, NORTH), (WEST + 2000, NORTH), (WEST + 2000, NORTH - 3000), (WEST, NORTH - 3000), (WEST, NORTH)]
    other = [(x + 2000, y) for x, y in square]
    files["lithology"] = _write_lines(folder / "lithology.gpkg", [square, other], {"unit": ["granite", "schist"]},
                                      polygons=True)
    return files


@pytest.fixture(scope="module")
def opened_project(qgis_app, demo_files, tmp_path_factory):
    """The project written by scripts/demo_project.py, opened in QgsProject.instance() under a map
    canvas named as QGIS desktop's, with the layer tree bridged to it (as the desktop does)."""
    from qgis.core import QgsProject
    from qgis.gui import QgsLayerTreeMapCanvasBridge, QgsMapCanvas
    from qgis.PyQt.QtCore import QCoreApplication

    module = _demo_project_module()
    path = tmp_path_factory.mktemp("demo_project") / "DeepProspect_demo.qgz"
    module.write_project(path, demo_files)
    canvas = QgsMapCanvas()
    canvas.setObjectName(module.MAIN_CANVAS)
    canvas.resize(900, 600)
    # frozen: it keeps its extent and layers but draws nothing, so no rendering thread is still
    # reading a layer when the project is cleared (the tests look at what it would show, not at pixels)
    canvas.freeze(True)
    project = QgsProject.instance()
    project.clear()
    bridge = QgsLayerTreeMapCanvasBridge(project.layerTreeRoot(), canvas)
    bridge.setAutoSetupOnFirstLayer(False)   # as QGIS desktop while it opens a project (no zoom to all layers)
    # QGIS desktop's main canvas follows the project's CRS (it never reads its own from the project)
    project.crsChanged.connect(lambda: canvas.setDestinationCrs(project.crs()))
    assert project.read(str(path))
    for _ in range(5):   # the bridge hands the layers to the canvas on the next event loop turn
        QCoreApplication.processEvents()
    yield project, canvas, path
    canvas.stopRendering()
    del bridge
    canvas.setLayers([])
    project.clear()
    canvas.deleteLater()


def _stack_extent(path):
    dataset = gdal.Open(str(path))
    west, size_x, _, north, _, size_y = dataset.GetGeoTransform()
    return west, west + dataset.RasterXSize * size_x, north + dataset.RasterYSize * size_y, north


def test_the_project_opens_zoomed_to_the_province(opened_project, demo_files):
    project, canvas, _ = opened_project
    xmin, xmax, ymin, ymax = _stack_extent(demo_files["stack"])
    assert (xmin, xmax, ymin, ymax) == STACK_EXTENT
    assert canvas.mapSettings().destinationCrs().authid() == "EPSG:32645"
    extent = canvas.extent()
    # the whole province is in view, and it fills the view in one direction (to the canvas's pixel)
    tolerance = canvas.mapUnitsPerPixel()
    assert extent.xMinimum() <= xmin + tolerance and extent.xMaximum() >= xmax - tolerance
    assert extent.yMinimum() <= ymin + tolerance and extent.yMaximum() >= ymax - tolerance
    assert (abs(extent.width() - (xmax - xmin)) <= 2 * tolerance
            or abs(extent.height() - (ymax - ymin)) <= 2 * tolerance), extent.toString()
    # not the larger magnetic grid, nor 1:1 on nothing
    assert extent.width() < 1.6 * (xmax - xmin) and extent.height() < 1.6 * (ymax - ymin)


def test_deposits_are_drawn_above_every_raster(opened_project):
    from qgis.core import QgsRasterLayer

    project, canvas, _ = opened_project
    order = [node.layer() for node in project.layerTreeRoot().findLayers()]
    deposits = project.mapLayersByName("Known deposits")[0]
    rasters = [index for index, layer in enumerate(order) if isinstance(layer, QgsRasterLayer)]
    assert rasters and order.index(deposits) < min(rasters)
    assert not project.layerTreeRoot().hasCustomLayerOrder()
    # drawn: the canvas shows the deposits, then the probability map under them
    shown = canvas.layers()
    assert shown.index(deposits) < shown.index(project.mapLayersByName("Probability of gold")[0])


def test_layers_sit_in_their_groups(opened_project, demo_files):
    project, _, _ = opened_project
    root = project.layerTreeRoot()
    groups = [child.name() for child in root.children() if child.nodeType() == child.NodeGroup]
    assert groups == ["Model", "Results", "Evidence", "Inputs"]
    names = {group: [node.layer().name() for node in root.findGroup(group).findLayers()] for group in groups}
    assert names["Results"][0] == "Probability of gold"
    assert any("Training points" in name for name in names["Model"])
    assert len(project.mapLayers()) == len(demo_files)


def _is_qgis_default_style(layer):
    """What QGIS gives a layer loaded without a style: a grey stretch (one band) or an RGB composite
    (several) for rasters; one plain symbol (any colour) for vectors."""
    from qgis.core import QgsRasterLayer, QgsSymbol

    renderer = layer.renderer()
    if isinstance(layer, QgsRasterLayer):
        return renderer.type() in ("singlebandgray", "multibandcolor")
    if renderer.type() != "singleSymbol":
        return False
    default_symbol = QgsSymbol.defaultSymbol(layer.geometryType())  # kept: its symbol layer dies with it
    default, own = default_symbol.symbolLayer(0), renderer.symbol().symbolLayer(0)
    colourless = {key: value for key, value in own.properties().items() if "color" not in key}
    return own.layerType() == default.layerType() and colourless == {
        key: value for key, value in default.properties().items() if "color" not in key}


def test_every_layer_has_a_style(opened_project):
    project, _, _ = opened_project
    unstyled = [layer.name() for layer in project.mapLayers().values() if _is_qgis_default_style(layer)]
    assert unstyled == []
    points = next(layer for layer in project.mapLayers().values() if layer.name().startswith("Training points"))
    renderer = points.renderer()
    assert renderer.type() == "categorizedSymbol" and renderer.classAttribute() == "label"
    assert sorted(str(category.value()) for category in renderer.categories()) == ["0", "1"]
    assert {category.label() for category in renderer.categories()} == {"Deposit (label 1)", "Non-deposit (label 0)"}


def test_the_probability_legend_says_which_end_is_likely(opened_project):
    project, _, _ = opened_project
    probability = project.mapLayersByName("Probability of gold")[0]
    assert probability.renderer().type() == "singlebandpseudocolor"
    labels = [label for label, _ in probability.renderer().legendSymbologyItems()]
    assert labels[0] == "0.00 unlikely" and labels[-1] == "1.00 likely"
    assert len(labels) >= 5
    # the Layers panel shows these labelled classes, not a bare 0-1 gradient bar
    assert not probability.renderer().shader().rasterShaderFunction().legendSettings().useContinuousLegend()


def test_the_self_check_of_the_default_style_test(qgis_app, demo_files):
    """The style check above calls a freshly loaded layer unstyled (so it would catch a missing style)."""
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    assert _is_qgis_default_style(QgsRasterLayer(demo_files["bouguer"], "b"))
    assert _is_qgis_default_style(QgsRasterLayer(demo_files["stack"], "s"))
    assert _is_qgis_default_style(QgsVectorLayer(demo_files["deposits"], "d", "ogr"))
    assert _is_qgis_default_style(QgsVectorLayer(demo_files["lineaments"], "l", "ogr"))


def test_every_raster_legend_is_headed_in_words(opened_project):
    """QGIS heads a raster's legend with GDAL's band name ("Band 1: deposit_probability (Gray)");
    the project renames each heading, and the probability's reads as the geologist's question."""
    from qgis.core import QgsLayerTreeModel, QgsRasterLayer
    from qgis.PyQt.QtCore import Qt

    project, _, _ = opened_project
    model = QgsLayerTreeModel(project.layerTreeRoot())
    headings = {}
    for node in project.layerTreeRoot().findLayers():
        if isinstance(node.layer(), QgsRasterLayer):
            headings[node.name()] = model.layerLegendNodes(node, True)[0].data(Qt.DisplayRole)
    assert len(headings) >= 10
    assert [name for name, heading in headings.items() if heading.startswith("Band") or "(Gray)" in heading] == []
    assert headings["Probability of gold"] == "Probability of a deposit (0–1)"
    assert headings["Evidence stack (16 factors, Sb_con shown)"] == "Factor shown: Sb_con (band 2 of 3)"

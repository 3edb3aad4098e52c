"""The QGIS project ``make demo`` leaves behind (``DeepProspect_demo.qgz``), written with QGIS's core API.

What a geologist sees when opening it: the map zoomed to the province (the evidence stack's
extent is saved as the canvas extent and as the project's default view), the known deposits
on top of everything, the probability map below them with a legend that says which end is
likely, every legend headed in words (not GDAL's "Band 1: … (Gray)"), and every other layer
styled and switched off, in the groups *Model* (training points
coloured by class), *Results* (probability, uncertainty, classes), *Evidence* (the rasters that
went into the stack) and *Inputs* (the province's own files).

``write_project(path, files)`` takes the files by role (the keys of :data:`LAYOUT`); missing
roles are left out, so tests build it from a few tiny files. Rasters are opened with GDAL's
side-car files off: styling them computes statistics, which would otherwise land beside them.
Needs a running ``QgsApplication`` and ``deepprospect`` importable (scripts/demo.py sees to both).
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STYLES = ROOT / "resources" / "styles"
#: QgsMapCanvas's objectName in QGIS desktop: the ``<mapcanvas>`` element it reads when a project opens.
MAIN_CANVAS = "theMapCanvas"

#: Top to bottom as in the Layers panel: group ("-": the top level) | layer name | role | style | shown.
#: Styles: a ``.qml`` file name in resources/styles; "beside:<name>.qml": the .qml written beside the
#: raster (by deepprospect:predict), else that one in resources/styles; "continuous:<band>": a colour
#: ramp stretched over the band named (else band 1); "categorical:<value>=<words>,…": one colour per
#: value; "graduated:<field>", "categorized:<field>": vector classes; "lines": one line symbol.
_LAYOUT_TABLE = """
-        | Known deposits                               | deposits          | deposits.qml                | shown
-        | Shear zones                                  | shear_zones       | shear_zones.qml             | shown
Model    | Training points (deposit / non-deposit)      | training_points   | training_points.qml         | off
Results  | Probability of gold                          | probability       | beside:probability.qml      | shown
Results  | Uncertainty (ensemble sd)                    | uncertainty       | beside:uncertainty.qml      | off
Results  | Prospectivity classes                        | classes           | beside:classes.qml          | off
Evidence | Evidence stack (16 factors, Sb_con shown)    | stack             | continuous:Sb_con           | off
Evidence | Geochemistry (IDW, 9 elements, Sb_con shown) | idw               | continuous:Sb_con           | off
Evidence | Distance to shear zones (m)                  | distance_to_shear | continuous                  | off
Evidence | Lineament density                            | lineament_density | continuous                  | off
Evidence | Gold-favourable lithology                    | lithology_raster  | categorical:0=not favourable,1=gold-favourable | off
Evidence | Lithology units (categorical factor)         | lithology_units   | categorical:1=Granite gneiss,2=Amphibolite and granulite,3=Quartzite and schist,4=Sheared metavolcano-sedimentary sequence,5=Charnockite | off
Inputs   | Geochemical samples (Sb)                     | geochemistry      | graduated:Sb_con            | off
Inputs   | Lineaments                                   | lineaments        | lines                       | off
Inputs   | Lithology                                    | lithology         | categorized:unit            | off
Inputs   | Magnetic anomaly (nT)                        | magnetic          | continuous                  | off
Inputs   | Bouguer anomaly (mGal)                       | bouguer           | continuous                  | off
Inputs   | Landsat clay ratio                           | clay              | continuous                  | off
Inputs   | Landsat silica ratio                         | silica            | continuous                  | off
Inputs   | True probability (synthetic truth)           | truth_probability | probability.qml             | off
Inputs   | Future deposits (scoring only, never trained) | future_deposits  | future_deposits.qml         | off
"""
#: The table above as (group or None, layer name, role, style, shown) tuples.
LAYOUT = tuple((None if cells[0] == "-" else cells[0], cells[1], cells[2], cells[3], cells[4] == "shown")
               for cells in ([cell.strip() for cell in line.split("|")]
                             for line in _LAYOUT_TABLE.strip().splitlines()))
GROUPS = ("Model", "Results", "Evidence", "Inputs")
#: The words above each raster's legend, by role (QGIS would show the band, e.g. "Band 1:
#: deposit_probability (Gray)"); ``{band}`` is the band shown, ``{number}``/``{count}`` its place in
#: the file. The maps predict writes and the truth: processing_provider.legend_headings; other
#: roles not listed: "Factor name: {band}".
#: The band (description) of the maps DeepProspect writes, by role: their headings come from there.
MAP_BANDS = {"probability": "deposit_probability", "uncertainty": "probability_std", "classes": "prospectivity_class",
             "truth_probability": "truth_probability"}
LEGEND_HEADINGS = {
    "stack": "Factor shown: {band} (band {number} of {count})",
    "idw": "Element shown: {band} (band {number} of {count})",
    "distance_to_shear": "Distance (m)",
    "lineament_density": "Lineament length per area (m/m²)",
    "lithology_raster": "Lithology class",
    "lithology_units": "Lithology unit",
}


def write_project(path, files, extent_role="stack"):
    """Write the demo project to ``path`` (.qgz or .qgs) from ``files`` (role → path, see
    :data:`LAYOUT`; roles without a file are skipped). The canvas opens on the extent of the
    ``extent_role`` layer, in its CRS. Raises ``RuntimeError`` naming a file QGIS cannot open.
    Returns ``path``."""
    from qgis.core import QgsProject, QgsReferencedRectangle

    from deepprospect.processing_provider.gdal_sidecars import no_sidecar_files
    from deepprospect.processing_provider.legend_headings import set_legend_heading

    project = QgsProject()
    root = project.layerTreeRoot()
    groups = {name: None for name in GROUPS}
    with no_sidecar_files():
        for group_name, title, role, style, shown in LAYOUT:
            if not files.get(role):
                continue
            layer = _open_layer(files[role], title)
            apply_style(layer, style, files[role])
            project.addMapLayer(layer, False)
            if group_name is None:
                node = root.addLayer(layer)
            else:
                if groups[group_name] is None:
                    groups[group_name] = root.addGroup(group_name)
                node = groups[group_name].addLayer(layer)
            set_legend_heading(node, _legend_heading(role, layer))
            node.setItemVisibilityChecked(shown)
            node.setExpanded(shown and group_name is not None)   # the probability legend open
    for group in groups.values():
        if group is not None:
            group.setExpanded(group.name() == "Results")
    frame = project.mapLayersByName(_title_of(extent_role))[0]
    project.setCrs(frame.crs())
    extent = frame.extent()
    project.viewSettings().setDefaultViewExtent(QgsReferencedRectangle(extent, frame.crs()))
    writer = _CanvasWriter(extent, frame.crs())
    project.writeProject.connect(writer.write)
    if not project.write(str(path)):
        raise RuntimeError("Could not write the QGIS project {}: {}".format(path, project.error()))
    return path


def _legend_heading(role, layer):
    """The words above ``layer``'s legend (see :data:`LEGEND_HEADINGS`); None for vector layers."""
    from qgis.core import QgsRasterLayer

    from deepprospect.processing_provider.legend_headings import HEADINGS, band_shown

    if not isinstance(layer, QgsRasterLayer):
        return None
    number, band = band_shown(layer)
    words = HEADINGS.get(MAP_BANDS.get(role, band)) or LEGEND_HEADINGS.get(role, "Factor name: {band}")
    return words.format(band=band or layer.name(), number=number, count=layer.bandCount())


def _title_of(role):
    return next(title for _, title, layout_role, _, _ in LAYOUT if layout_role == role)


class _CanvasWriter:
    """Adds the ``<mapcanvas>`` element QGIS desktop reads to set the opening view (a project written
    without a map canvas has none, and QGIS would open it at 1:1 on an empty extent)."""

    def __init__(self, extent, crs):
        self.extent, self.crs = extent, crs

    def write(self, document):
        from qgis.core import QgsMapSettings

        settings = QgsMapSettings()
        settings.setDestinationCrs(self.crs)
        settings.setExtent(self.extent)
        element = document.createElement("mapcanvas")
        element.setAttribute("name", MAIN_CANVAS)
        element.setAttribute("annotationsVisible", "1")
        settings.writeXml(element, document)
        document.documentElement().appendChild(element)


def _open_layer(source, title):
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    source = str(source)
    is_vector = Path(source.split("|")[0]).suffix.lower() in (".gpkg", ".shp", ".geojson")
    layer = QgsVectorLayer(source, title, "ogr") if is_vector else QgsRasterLayer(source, title)
    if not layer.isValid():
        raise RuntimeError("The demo output {} does not open in QGIS.".format(source))
    return layer


def apply_style(layer, style, source):
    """Style ``layer`` as :data:`LAYOUT`'s ``style`` says; raises ``RuntimeError`` when a style file is missing."""
    kind, _, argument = style.partition(":")
    if style.endswith(".qml") or kind == "beside":
        beside = Path(str(source).split("|")[0]).with_suffix(".qml")
        qml = beside if kind == "beside" and beside.is_file() else STYLES / (argument if kind == "beside" else style)
        if not qml.is_file():
            raise RuntimeError("The style {} is missing.".format(qml))
        message, ok = layer.loadNamedStyle(str(qml))
        if not ok:
            raise RuntimeError("The style {} does not apply to {}: {}".format(qml, layer.name(), message))
    elif kind == "continuous":
        _continuous(layer, argument)
    elif kind == "categorical":
        _categorical(layer, dict(pair.split("=", 1) for pair in argument.split(",")))
    elif kind == "graduated":
        _graduated(layer, argument)
    elif kind == "categorized":
        _categorized(layer, argument)
    elif kind == "lines":
        _lines(layer)
    else:
        raise ValueError("Unknown style {!r}".format(style))
    layer.triggerRepaint()


def _ramp(name):
    from qgis.core import QgsStyle

    return QgsStyle.defaultStyle().colorRamp(name)


def _band_named(layer, name):
    """The band whose description is ``name`` (the factor name of a stack band), else band 1."""
    from osgeo import gdal

    dataset = gdal.Open(layer.source().split("|")[0])
    for band in range(1, dataset.RasterCount + 1):
        if name and dataset.GetRasterBand(band).GetDescription() == name:
            return band
    return 1


def _continuous(layer, band_name):
    """A Viridis ramp from the 2nd to the 98th percentile of the band (outliers do not wash it out)."""
    from qgis.core import QgsColorRampShader, QgsRasterShader, QgsSingleBandPseudoColorRenderer

    band = _band_named(layer, band_name)
    low, high = layer.dataProvider().cumulativeCut(band, 0.02, 0.98, layer.extent(), 250000)
    if not high > low:
        high = low + 1.0
    ramp = _ramp("Viridis")
    shader = QgsColorRampShader(low, high, ramp, QgsColorRampShader.Interpolated)
    # five labelled stops (QGIS's own classification writes one per ramp colour, with six decimals)
    shader.setColorRampItemList([
        QgsColorRampShader.ColorRampItem(low + share * (high - low), ramp.color(share),
                                         "{:.3g}".format(low + share * (high - low)))
        for share in (0.0, 0.25, 0.5, 0.75, 1.0)])
    _discrete_legend(shader)
    raster_shader = QgsRasterShader(low, high)
    raster_shader.setRasterShaderFunction(shader)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), band, raster_shader)
    renderer.setClassificationMin(low)
    renderer.setClassificationMax(high)
    layer.setRenderer(renderer)


def _categorical(layer, labels):
    """One colour per whole-number value, labelled with ``labels`` (value text → words)."""
    from qgis.core import QgsPalettedRasterRenderer

    classes = QgsPalettedRasterRenderer.classDataFromRaster(layer.dataProvider(), 1, _ramp("Set1"))
    for item in classes:
        item.label = labels.get("{:g}".format(item.value), item.label)
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes))


def _discrete_legend(shader):
    """The legend as the ramp's labelled values (QGIS draws a gradient bar with bare end values by default)."""
    from qgis.core import QgsColorRampLegendNodeSettings

    legend = QgsColorRampLegendNodeSettings()
    legend.setUseContinuousLegend(False)
    shader.setLegendSettings(legend)


def _graduated(layer, field):
    from qgis.core import QgsClassificationQuantile, QgsGraduatedSymbolRenderer, QgsSymbol
    from qgis.PyQt.QtCore import Qt

    symbol = QgsSymbol.defaultSymbol(layer.geometryType())
    symbol.setSize(1.0)    # thousands of samples: small dots without outline, the raster shows between them
    symbol.symbolLayer(0).setStrokeStyle(Qt.PenStyle.NoPen)
    renderer = QgsGraduatedSymbolRenderer(field)
    renderer.setSourceSymbol(symbol)
    renderer.setClassificationMethod(QgsClassificationQuantile())
    renderer.updateClasses(layer, 5)
    renderer.updateColorRamp(_ramp("Reds"))
    layer.setRenderer(renderer)


def _categorized(layer, field):
    from qgis.core import QgsCategorizedSymbolRenderer, QgsRendererCategory, QgsSymbol

    values = sorted({feature[field] for feature in layer.getFeatures()}, key=str)
    ramp = _ramp("Spectral")
    categories = []
    for index, value in enumerate(values):
        symbol = QgsSymbol.defaultSymbol(layer.geometryType())
        symbol.setColor(ramp.color(index / max(len(values) - 1, 1)))
        symbol.setOpacity(0.6)
        categories.append(QgsRendererCategory(value, symbol, str(value)))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))


def _lines(layer):
    from qgis.core import QgsLineSymbol, QgsRuleBasedRenderer

    symbol = QgsLineSymbol.createSimple({"line_color": "80,80,80,180", "line_width": "0.2"})
    root = QgsRuleBasedRenderer.Rule(None)
    root.appendChild(QgsRuleBasedRenderer.Rule(symbol, label=layer.name()))
    layer.setRenderer(QgsRuleBasedRenderer(root))

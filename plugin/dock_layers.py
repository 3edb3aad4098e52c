"""The inspector's "Layers" tab: one click puts a run's maps and training points on the map, styled."""
from pathlib import Path

from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import QFormLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

STYLES = Path(__file__).resolve().parent.parent / "resources" / "styles"
GROUP_NAME = "DeepProspect"

#: key, label, file filter, name of the layer in the map, words that find it beside the probability raster
LAYERS = (
    ("probability", "Probability", "GeoTIFF (*.tif *.tiff)", "Probability of a deposit", ()),
    ("uncertainty", "Uncertainty", "GeoTIFF (*.tif *.tiff)", "Uncertainty (ensemble sd)", ("uncertainty", "std")),
    ("classes", "Classes", "GeoTIFF (*.tif *.tiff)", "Prospectivity classes", ("class",)),
    ("points", "Training points", "Vector files (*.gpkg *.shp *.geojson);;All files (*)", "Training points",
     ("training_points", "points")),
)


class LayersTab(QWidget):
    """Files of a run (probability, uncertainty, classes rasters; training points) and a button that
    loads them into a "DeepProspect" group with their styles."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.widgets = {}
        layout = QVBoxLayout(self)
        box = QGroupBox(self.tr("Outputs of a run"))
        form = QFormLayout(box)
        for key, label, file_filter, _, _ in LAYERS:
            widget = QgsFileWidget()
            widget.setFilter(self.tr(file_filter))
            form.addRow(self.tr(label), widget)
            self.widgets[key] = widget
        self.widgets["probability"].fileChanged.connect(self._find_siblings)
        layout.addWidget(box)
        hint = QLabel(self.tr("Choose the probability raster of deepprospect:predict: the uncertainty and class "
                              "rasters and the training points beside it are found for you. Each raster is "
                              "loaded with the .qml style written beside it; training points are coloured "
                              "by their label (deposit / non-deposit)."))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.load_button = QPushButton(self.tr("Load into the map"))
        self.load_button.clicked.connect(self.load_layers)
        layout.addWidget(self.load_button)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def set_paths(self, **paths):
        """Fill the file widgets: keywords probability, uncertainty, classes, points."""
        for key, path in paths.items():
            self.widgets[key].setFilePath(str(path) if path else "")

    def _find_siblings(self, path):
        if not path:
            return
        folder = Path(path).parent
        if not folder.is_dir():
            return
        for key, _, _, _, words in LAYERS:
            if not words or self.widgets[key].filePath():
                continue
            suffixes = (".gpkg", ".shp", ".geojson") if key == "points" else (".tif", ".tiff")
            for candidate in sorted(folder.iterdir()):
                if (candidate.suffix.lower() in suffixes and candidate != Path(path)
                        and any(word in candidate.stem.lower() for word in words)):
                    self.widgets[key].setFilePath(str(candidate))
                    break

    def load_layers(self):
        """Load every chosen file; returns the list of layers added (invalid ones are reported)."""
        project = QgsProject.instance()
        root = project.layerTreeRoot()
        group = root.findGroup(GROUP_NAME) or root.insertGroup(0, GROUP_NAME)
        added, problems = [], []
        # each layer is inserted on top of the previous: classes at the bottom, training points on top
        by_key = {entry[0]: entry for entry in LAYERS}
        for key, _, _, name, _ in (by_key[key] for key in ("classes", "uncertainty", "probability", "points")):
            path = self.widgets[key].filePath()
            if not path:
                continue
            layer, problem = self._make_layer(key, path, name)
            if problem:
                problems.append(problem)
                continue
            project.addMapLayer(layer, False)
            group.insertLayer(0, layer)
            added.append(layer)
        if added:
            self.status.setText(self.tr("Loaded: {}.").format(", ".join(layer.name() for layer in added))
                                + ("\n" + "\n".join(problems) if problems else ""))
        else:
            self.status.setText("\n".join(problems) or self.tr("Choose at least one file above."))
        self.status.setStyleSheet("color: #b00020;" if problems else "")
        if added and self.iface is not None:
            canvas = self.iface.mapCanvas()
            if not canvas.layers():
                canvas.setDestinationCrs(added[-1].crs())
                canvas.setExtent(added[-1].extent())
            canvas.refresh()
        return added

    def _make_layer(self, key, path, name):
        if key == "points":
            layer = QgsVectorLayer(path, self.tr(name), "ogr")
            if not layer.isValid():
                return None, self.tr("{} is not a vector layer QGIS can open.").format(path)
            if layer.fields().indexOf("label") < 0:
                return None, self.tr("{} has no 'label' field (1 deposit, 0 non-deposit): choose the output of "
                                     "deepprospect:sample_negatives.").format(path)
            layer.loadNamedStyle(str(STYLES / "training_points.qml"))
            return layer, None
        layer = QgsRasterLayer(path, self.tr(name))
        if not layer.isValid():
            return None, self.tr("{} is not a raster QGIS can open.").format(path)
        style = Path(path).with_suffix(".qml")
        if style.is_file():
            layer.loadNamedStyle(str(style))
        return layer, None

"""The inspector's "Layers" tab: the DeepProspect layers already in the project (whoever loaded
them, whenever), and one click that puts a run's maps and training points on the map, styled."""
from pathlib import Path

from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer, QgsWkbTypes
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QFormLayout, QGroupBox, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget,
)

from ..processing_provider.legend_headings import set_legend_heading
from .dock_common import algorithm_title

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
#: Band 1's description in each raster deepprospect:predict writes (models/predict.py) → its key above.
PREDICT_BANDS = {"deposit_probability": "probability", "probability_std": "uncertainty",
                 "prospectivity_class": "classes"}


def deepprospect_role(layer):
    """The key in :data:`LAYERS` of a project layer DeepProspect wrote, or None: predict's rasters
    are known by their band name, training points by a point layer with a ``label`` field."""
    if isinstance(layer, QgsRasterLayer) and layer.isValid():
        return PREDICT_BANDS.get(layer.bandName(1).split(": ", 1)[-1])
    if (isinstance(layer, QgsVectorLayer) and layer.isValid() and layer.geometryType() == QgsWkbTypes.PointGeometry
            and layer.fields().indexOf("label") >= 0):
        return "points"
    return None


def training_points_layer():
    """The first layer of the project (Layers panel order) holding training points, or None."""
    for node in QgsProject.instance().layerTreeRoot().findLayers():
        if node.layer() is not None and deepprospect_role(node.layer()) == "points":
            return node.layer()
    return None


def layer_file(layer):
    """The file behind a layer (its source without "|layername=…" and the like)."""
    return layer.source().split("|")[0]


class LayersTab(QWidget):
    """Files of a run (probability, uncertainty, classes rasters; training points) and a button that
    loads them into a "DeepProspect" group with their styles."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.widgets = {}
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_project_list())
        box = QGroupBox(self.tr("Outputs of a run"))
        form = QFormLayout(box)
        for key, label, file_filter, _, _ in LAYERS:
            widget = QgsFileWidget()
            widget.setFilter(self.tr(file_filter))
            form.addRow(self.tr(label), widget)
            self.widgets[key] = widget
        self.widgets["probability"].fileChanged.connect(self._find_siblings)
        layout.addWidget(box)
        hint = QLabel(self.tr("Choose the probability raster of {}: the uncertainty and class rasters and the "
                              "training points beside it are found for you. Each raster is loaded with the .qml "
                              "style written beside it; training points are coloured by their label (deposit / "
                              "non-deposit).").format(algorithm_title("deepprospect:predict")))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.load_button = QPushButton(self.tr("Load into the map"))
        self.load_button.clicked.connect(self.load_layers)
        layout.addWidget(self.load_button)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        project = QgsProject.instance()
        # the layer tree's own signals: a layer added to the project lands in the tree just after layersAdded
        root = project.layerTreeRoot()
        for signal in (root.addedChildren, root.removedChildren, project.readProject, project.cleared):
            signal.connect(self.refresh_project_layers)
        self.refresh_project_layers()

    def _build_project_list(self):
        box = QGroupBox(self.tr("DeepProspect layers in this project"))
        column = QVBoxLayout(box)
        self.project_list = QListWidget()
        self.project_list.setToolTip(self.tr("Click a layer to choose its run's files below and select it in the "
                                             "Layers panel."))
        self.project_list.itemClicked.connect(self._project_layer_chosen)
        column.addWidget(self.project_list)
        self.project_note = QLabel("")
        self.project_note.setWordWrap(True)
        column.addWidget(self.project_note)
        return box

    def project_layers(self):
        """(key, layer) of every DeepProspect layer in the project, in the Layers panel's order."""
        nodes = QgsProject.instance().layerTreeRoot().findLayers()
        found = [(deepprospect_role(node.layer()), node.layer()) for node in nodes if node.layer() is not None]
        return [(key, layer) for key, layer in found if key is not None]

    def refresh_project_layers(self, *args):
        """List the project's DeepProspect layers (called whenever layers come or go, or a project opens)."""
        labels = {key: label for key, label, _, _, _ in LAYERS}
        self.project_list.clear()
        for key, layer in self.project_layers():
            item = QListWidgetItem("{}: {}".format(self.tr(labels[key]), layer.name()))
            item.setData(Qt.ItemDataRole.UserRole, layer.id())
            item.setToolTip(layer_file(layer))
            self.project_list.addItem(item)
        count = self.project_list.count()
        found = self.tr("1 layer from a DeepProspect run.") if count == 1 else self.tr(
            "{} layers from DeepProspect runs.").format(count)
        self.project_note.setText(found if count else self.tr(
            "None yet: run {}, or load a run's files below.").format(algorithm_title("deepprospect:predict")))
        rows = max(2, min(count, 6))
        self.project_list.setFixedHeight(rows * self.project_list.sizeHintForRow(0) + 2 * self.project_list.frameWidth()
                                         if count else 2 * self.fontMetrics().height())

    def _project_layer_chosen(self, item):
        layer = QgsProject.instance().mapLayer(item.data(Qt.ItemDataRole.UserRole))
        if layer is None:
            return
        key = deepprospect_role(layer)
        if key == "probability":   # its siblings are found beside it
            for other in self.widgets.values():
                other.setFilePath("")
        self.widgets[key].setFilePath(layer_file(layer))
        if self.iface is not None and hasattr(self.iface, "setActiveLayer"):
            self.iface.setActiveLayer(layer)

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
        added, problems, already = [], [], []
        # each layer is inserted on top of the previous: classes at the bottom, training points on top
        by_key = {entry[0]: entry for entry in LAYERS}
        for key, _, _, name, _ in (by_key[key] for key in ("classes", "uncertainty", "probability", "points")):
            path = self.widgets[key].filePath()
            if not path:
                continue
            if any(layer_file(layer) == path for layer in project.mapLayers().values()):
                already.append(Path(path).name)
                continue
            layer, problem = self._make_layer(key, path, name)
            if problem:
                problems.append(problem)
                continue
            project.addMapLayer(layer, False)
            set_legend_heading(group.insertLayer(0, layer))     # "Probability of a deposit (0–1)", not "Band 1: …"
            added.append(layer)
        lines = [self.tr("Loaded: {}.").format(", ".join(layer.name() for layer in added))] if added else []
        if already:
            lines.append(self.tr("Already in the project (not added twice): {}.").format(", ".join(already)))
        lines += problems
        self.status.setText("\n".join(lines) or self.tr("Choose at least one file above."))
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
                                     "{}.").format(path, algorithm_title("deepprospect:sample_negatives"))
            layer.loadNamedStyle(str(STYLES / "training_points.qml"))
            return layer, None
        layer = QgsRasterLayer(path, self.tr(name))
        if not layer.isValid():
            return None, self.tr("{} is not a raster QGIS can open.").format(path)
        style = Path(path).with_suffix(".qml")
        if style.is_file():
            layer.loadNamedStyle(str(style))
        return layer, None

"""The "DeepProspect inspector" dock: look at a run without opening folders.

Four tabs: **Model** (a bundle's metrics and training curves), **Importance** (SHAP charts of a
``deepprospect:shap`` folder), **Pixel inspector** (click the map: factor values, probability,
local SHAP waterfall) and **Layers** (load the maps and training points, styled). Loading a
model and explaining a pixel run in ``QgsTask``s, so QGIS stays responsive.
"""
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from .. import dependencies
from .dock_importance import ImportanceTab
from .dock_layers import LayersTab
from .dock_model import ModelTab
from .dock_pixel import PixelTab


class InspectorDock(QgsDockWidget):
    """The inspector; ``iface`` is QGIS's interface (or a stand-in with ``mapCanvas()``)."""

    def __init__(self, iface, parent=None):
        super().__init__(parent or iface.mainWindow())
        self.setWindowTitle(self.tr("DeepProspect inspector"))
        self.iface = iface
        self.setObjectName("DeepProspectInspector")
        self.setAllowedAreas(Qt.LeftDockWidgetArea | Qt.RightDockWidgetArea)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        missing = dependencies.missing_modules()
        self.dependency_label = QLabel(dependencies.install_instructions(missing) if missing else "")
        self.dependency_label.setWordWrap(True)
        self.dependency_label.setStyleSheet("color: #b00020;")
        self.dependency_label.setVisible(bool(missing))
        layout.addWidget(self.dependency_label)

        self.tabs = QTabWidget()
        self.model_tab = ModelTab()
        self.importance_tab = ImportanceTab(context=self._model_and_stack)
        self.pixel_tab = PixelTab(iface)
        self.layers_tab = LayersTab(iface)
        self.tabs.addTab(self.model_tab, self.tr("Model"))
        self.tabs.addTab(self.importance_tab, self.tr("Importance"))
        self.tabs.addTab(self.pixel_tab, self.tr("Pixel inspector"))
        self.tabs.addTab(self.layers_tab, self.tr("Layers"))
        layout.addWidget(self.tabs)
        self.setWidget(body)

        self.model_tab.metadataLoaded.connect(lambda path, metadata: self.pixel_tab.set_bundle(None))
        self.model_tab.bundleLoaded.connect(self.pixel_tab.set_bundle)

    @property
    def bundle(self):
        """The loaded ModelBundle (None until the Model tab's background load has finished)."""
        return self.model_tab.bundle

    def _model_and_stack(self):
        layer = self.pixel_tab.stack_combo.currentLayer()
        return self.model_tab.path, (layer.source().split("|")[0] if layer is not None else None)

    def closeEvent(self, event):  # noqa: N802 (Qt's name)
        self.pixel_tab.unload()
        super().closeEvent(event)

    def deleteLater(self):  # noqa: N802
        self.pixel_tab.unload()
        super().deleteLater()

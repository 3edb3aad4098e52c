"""The "DeepProspect inspector" dock: look at a run without opening folders.

Four tabs: **Model** (a bundle's metrics and training curves), **Importance** (SHAP charts of a
``deepprospect:shap`` folder), **Pixel inspector** (click the map: factor values, probability,
local SHAP waterfall) and **Layers** (load the maps and training points, styled).

The dock imports only QGIS and the standard library. What needs numpy, TensorFlow, shap or
matplotlib runs in ONE engine worker the dock keeps warm (:class:`.tasks.EngineSession`),
called from ``QgsTask``s so QGIS stays responsive; charts come back as pictures.
"""
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

try:  # Qt 6 moved QAction to QtGui
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction

from .. import engine_environment
from .dock_importance import ImportanceTab
from .dock_layers import LayersTab
from .dock_model import ModelTab
from .dock_pixel import PixelTab
from .tasks import EngineSession

#: objectName of the plugin's "install the engine" action, triggered by the banner's button
#: when nobody listens to :attr:`InspectorDock.installEngineRequested`.
INSTALL_ACTION_NAME = "DeepProspectInstallEngineAction"


class InspectorDock(QgsDockWidget):
    """The inspector; ``iface`` is QGIS's interface (or a stand-in with ``mapCanvas()``).

    ``installEngineRequested`` is emitted when the user presses "Install the engine…" in the
    banner shown while the engine's environment is missing; the plugin connects it to its
    installer (without a connection, the main window's action named :data:`INSTALL_ACTION_NAME`
    is triggered).
    """

    installEngineRequested = pyqtSignal()

    def __init__(self, iface, parent=None, python=None):
        super().__init__(parent or iface.mainWindow())
        self.setWindowTitle(self.tr("DeepProspect inspector"))
        self.iface = iface
        self.setObjectName("DeepProspectInspector")
        self.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        self.engine = EngineSession(python=python, parent=self)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._build_banner())

        self.tabs = QTabWidget()
        self.model_tab = ModelTab(self.engine)
        self.importance_tab = ImportanceTab(self.engine, context=self._model_and_stack)
        self.pixel_tab = PixelTab(iface, self.engine)
        self.layers_tab = LayersTab(iface)
        self.tabs.addTab(self.model_tab, self.tr("Model"))
        self.tabs.addTab(self.importance_tab, self.tr("Importance"))
        self.tabs.addTab(self.pixel_tab, self.tr("Pixel inspector"))
        self.tabs.addTab(self.layers_tab, self.tr("Layers"))
        layout.addWidget(self.tabs)
        self.setWidget(body)

        self.model_tab.metadataLoaded.connect(lambda path, summary: self.pixel_tab.set_model(path))
        self.engine.engineMissing.connect(self.show_engine_missing)
        self.engine.engineAnswered.connect(lambda: self.banner.setVisible(False))
        self._own_python = python is not None
        self.refresh_engine_state()

    def _build_banner(self):
        """A red note and an install button, shown while the engine is not installed."""
        self.banner = QWidget()
        column = QVBoxLayout(self.banner)
        column.setContentsMargins(0, 0, 0, 4)
        self.banner_label = QLabel("")
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_label.setStyleSheet("color: #b00020;")
        column.addWidget(self.banner_label)
        self.install_button = QPushButton(self.tr("Install the engine…"))
        self.install_button.clicked.connect(self.request_install)
        column.addWidget(self.install_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.banner.setVisible(False)
        return self.banner

    def refresh_engine_state(self):
        """Show or hide the "not installed" banner from the engine environment's state (the
        plugin calls this after an install, repair or removal). Returns True when ready."""
        ready = self._own_python or engine_environment.is_ready()
        if ready:
            self.banner.setVisible(False)
        else:
            self.show_engine_missing(engine_environment.not_ready_message())
        return ready

    def show_engine_missing(self, message):
        self.banner_label.setText(message)
        self.banner.setVisible(True)

    def request_install(self):
        """Ask the plugin to install the engine: the signal if connected, else the menu action."""
        if self.receivers(self.installEngineRequested) > 0:
            self.installEngineRequested.emit()
            return True
        action = self.iface.mainWindow().findChild(QAction, INSTALL_ACTION_NAME)
        if action is not None:
            action.trigger()
            return True
        self.banner_label.setText(self.banner_label.text() + "\n" + self.tr(
            "The installer is not available here; use the command above."))
        return False

    @property
    def model_path(self):
        """The bundle shown in the Model tab (None until the engine has read one)."""
        return self.model_tab.path

    def _model_and_stack(self):
        layer = self.pixel_tab.stack_combo.currentLayer()
        return self.model_tab.path, (layer.source().split("|")[0] if layer is not None else None)

    def unload(self, final=True):
        """Put the map tool away and stop the engine worker (``final=False``: the dock may come back)."""
        self.pixel_tab.unload()
        self.engine.close(final=final)

    def closeEvent(self, event):  # noqa: N802 (Qt's name)
        # the worker holds TensorFlow's memory: a closed inspector gives it back, a reopened one restarts it
        self.unload(final=False)
        super().closeEvent(event)

    def deleteLater(self):  # noqa: N802
        self.unload()
        super().deleteLater()

"""The plugin object QGIS creates: registers the Processing provider, menu and toolbar."""
from qgis.core import Qgis, QgsApplication, QgsMessageLog

from .. import dependencies


class DeepProspectPlugin:
    """Loads fast: only the provider and the menu; TensorFlow waits for an algorithm to need it."""

    MENU = "&DeepProspect"

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
        self.toolbar = None
        self.inspector = None
        self.install_task = None

    # Processing (also what qgis_process calls, without a GUI) ----------------------------
    def initProcessing(self):  # noqa: N802 (QGIS's name)
        from ..processing_provider.provider import DeepProspectProvider

        dependencies.add_dependency_folder_to_path()
        self.provider = DeepProspectProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)
        missing = dependencies.missing_modules()
        if missing:
            QgsMessageLog.logMessage(dependencies.install_instructions(missing), "DeepProspect", Qgis.Warning)

    def initGui(self):  # noqa: N802
        from qgis.PyQt.QtGui import QIcon
        from qgis.PyQt.QtWidgets import QAction

        from ..processing_provider.base import ICON_PATH

        self.initProcessing()
        icon = QIcon(str(ICON_PATH))
        self.toolbar = self.iface.addToolBar("DeepProspect")
        self.toolbar.setObjectName("DeepProspectToolbar")
        inspector_action = QAction(icon, self.tr("DeepProspect inspector"), self.iface.mainWindow())
        inspector_action.setObjectName("DeepProspectInspectorAction")
        inspector_action.triggered.connect(self.show_inspector)
        self.iface.addPluginToMenu(self.MENU, inspector_action)
        self.toolbar.addAction(inspector_action)
        install_action = QAction(self.tr("Install dependencies…"), self.iface.mainWindow())
        install_action.setObjectName("DeepProspectInstallAction")
        install_action.triggered.connect(self.install_dependencies)
        self.iface.addPluginToMenu(self.MENU, install_action)
        self.actions = [inspector_action, install_action]

    def unload(self):
        for action in self.actions:
            self.iface.removePluginMenu(self.MENU, action)
        self.actions = []
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.inspector is not None:
            self.iface.removeDockWidget(self.inspector)
            self.inspector.deleteLater()
            self.inspector = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

    def tr(self, text):
        from qgis.PyQt.QtCore import QCoreApplication

        return QCoreApplication.translate("DeepProspect", text)

    # Actions -----------------------------------------------------------------------------
    def show_inspector(self):
        from qgis.PyQt.QtCore import Qt

        try:
            from .dock import InspectorDock
        except ImportError as error:
            self.iface.messageBar().pushWarning("DeepProspect", self.tr("The inspector is not available: {}").format(error))
            return
        if self.inspector is None:
            self.inspector = InspectorDock(self.iface)
            self.iface.addDockWidget(Qt.RightDockWidgetArea, self.inspector)
        self.inspector.show()
        self.inspector.raise_()

    def install_dependencies(self):
        from .installer import DependencyInstallTask

        self.install_task = DependencyInstallTask(self.iface)
        QgsApplication.taskManager().addTask(self.install_task)

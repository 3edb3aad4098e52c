"""The plugin object QGIS creates: registers the Processing provider, the menu and the toolbar,
and offers to install the engine (its own Python environment) when it is missing."""
from qgis.core import Qgis, QgsApplication, QgsMessageLog

from .. import engine_environment

try:  # Qt 6 moved QAction to QtGui
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction

#: Menu entries, named as ``engine_environment.not_ready_message()`` names them.
INSTALL_LABEL = "Install the engine…"
REPAIR_LABEL = "Repair the engine…"
REINSTALL_LABEL = "Reinstall the engine…"
REMOVE_LABEL = "Remove the engine…"
INSPECTOR_LABEL = "DeepProspect inspector"


class DeepProspectPlugin:
    """Loads fast: only the provider and the menu; the engine runs in its own process."""

    MENU = "&DeepProspect"

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
        self.toolbar = None
        self.inspector = None
        self.install_dialog = None
        self.engine_message = None
        self.install_action = self.reinstall_action = self.remove_action = None

    # Processing (also what qgis_process calls, without a GUI) ----------------------------
    def initProcessing(self):  # noqa: N802 (QGIS's name)
        from ..processing_provider.provider import DeepProspectProvider

        self.provider = DeepProspectProvider()
        if not QgsApplication.processingRegistry().addProvider(self.provider):
            self.provider = None  # another copy is registered already; QGIS deleted this one
        if not engine_environment.is_ready():
            QgsMessageLog.logMessage(engine_environment.not_ready_message(), "DeepProspect",
                                     Qgis.MessageLevel.Warning)

    def initGui(self):  # noqa: N802
        from qgis.PyQt.QtGui import QIcon

        from ..processing_provider.base import ICON_PATH, set_engine_install_prompt

        self.initProcessing()
        # An algorithm started without the engine opens the install dialog (its own message says
        # to run it again once the engine is ready).
        set_engine_install_prompt(self.install_engine)
        icon = QIcon(str(ICON_PATH))
        self.toolbar = self.iface.addToolBar("DeepProspect")
        self.toolbar.setObjectName("DeepProspectToolbar")
        inspector_action = self._action(INSPECTOR_LABEL, "DeepProspectInspectorAction", self.show_inspector, icon)
        self.toolbar.addAction(inspector_action)
        self.install_action = self._action(INSTALL_LABEL, "DeepProspectInstallEngineAction", self.install_engine)
        self.reinstall_action = self._action(REINSTALL_LABEL, "DeepProspectReinstallEngineAction",
                                             self.reinstall_engine)
        self.remove_action = self._action(REMOVE_LABEL, "DeepProspectRemoveEngineAction", self.remove_engine)
        self.refresh_engine_actions()
        self.offer_install()

    def _action(self, label, name, slot, icon=None):
        action = QAction(icon, self.tr(label), self.iface.mainWindow()) if icon else \
            QAction(self.tr(label), self.iface.mainWindow())
        action.setObjectName(name)
        action.triggered.connect(slot)
        self.iface.addPluginToMenu(self.MENU, action)
        self.actions.append(action)
        return action

    def unload(self):
        from ..processing_provider.base import set_engine_install_prompt

        set_engine_install_prompt(None)
        self._stop_inspector_engine()
        for action in self.actions:
            self.iface.removePluginMenu(self.MENU, action)
        self.actions = []
        self._dismiss_engine_message()
        if self.install_dialog is not None:
            self.install_dialog.reject()  # stops a running install
            self.install_dialog.deleteLater()
            self.install_dialog = None
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

    # The engine --------------------------------------------------------------------------
    def refresh_engine_actions(self):
        """"Install" becomes "Repair" once the engine is ready; Reinstall/Remove need a folder."""
        state = engine_environment.status()
        self.install_action.setText(self.tr(REPAIR_LABEL if state == "ready" else INSTALL_LABEL))
        present = engine_environment.environment_folder().exists()
        self.reinstall_action.setEnabled(present)
        self.remove_action.setEnabled(present)

    def offer_install(self):
        """A message bar line with an install button when the engine is missing or outdated
        (not a modal window: QGIS is starting, the user may not need DeepProspect now)."""
        from qgis.PyQt.QtWidgets import QPushButton

        state = engine_environment.status()
        if state == "ready":
            return None
        if state == "missing":
            text = self.tr("Its engine is not installed yet (about {} MB to download).").format(
                engine_environment.DOWNLOAD_MEGABYTES)
            level = Qgis.MessageLevel.Info
        else:
            text = self.tr("Its engine is out of date (the plugin was updated).")
            level = Qgis.MessageLevel.Warning
        bar = self.iface.messageBar()
        item = bar.createMessage("DeepProspect", text)
        button = QPushButton(self.tr(INSTALL_LABEL))
        button.setObjectName("DeepProspectInstallEngineButton")
        button.clicked.connect(self.install_engine)
        item.layout().addWidget(button)
        bar.pushWidget(item, level, 0)
        self.engine_message = item
        return item

    def _dismiss_engine_message(self):
        if self.engine_message is not None:
            try:
                self.iface.messageBar().popWidget(self.engine_message)
            except RuntimeError:  # the user closed it: Qt deleted it already
                pass
            self.engine_message = None

    def install_engine(self):
        self.open_install_dialog("repair" if engine_environment.is_ready() else "install")

    def reinstall_engine(self):
        self.open_install_dialog("reinstall")

    def open_install_dialog(self, mode):
        """One install dialog at a time; a running one is brought to the front."""
        from .installer import InstallDialog

        if self.install_dialog is not None and self.install_dialog.running():
            self.install_dialog.show()
            self.install_dialog.raise_()
            return self.install_dialog
        if mode != "install":
            self._stop_inspector_engine()  # its warm worker must not hold files of the environment
        self.install_dialog = InstallDialog(mode, parent=self.iface.mainWindow())
        self.install_dialog.install_finished.connect(self.on_install_finished)
        self.install_dialog.show()
        return self.install_dialog

    def on_install_finished(self, succeeded):
        self.refresh_engine_actions()
        if self.inspector is not None:
            self.inspector.refresh_engine_state()
        bar = self.iface.messageBar()
        if succeeded:
            self._dismiss_engine_message()
            bar.pushSuccess("DeepProspect", self.tr("The engine is ready; no restart needed."))
        else:
            bar.pushWarning("DeepProspect", self.tr("The engine is not ready: the install did not finish "
                                                    "(details in its window and the DeepProspect log)."))

    def remove_engine(self):
        """Deletes the environment after a confirmation that shows the folder and its size."""
        from qgis.PyQt.QtCore import Qt
        from qgis.PyQt.QtWidgets import QApplication, QMessageBox

        from .installer import folder_megabytes, megabytes_text

        folder = engine_environment.environment_folder()
        if self.install_dialog is not None and self.install_dialog.running():
            self.iface.messageBar().pushWarning("DeepProspect", self.tr("The engine is being installed: "
                                                                        "cancel that first."))
            return False
        if not folder.exists():
            self.iface.messageBar().pushInfo("DeepProspect", self.tr("The engine is not installed."))
            self.refresh_engine_actions()
            return False
        size = megabytes_text(folder_megabytes(folder))
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Remove the DeepProspect engine"),
                          self.tr("Delete the engine's environment ({size})?\n\n{folder}\n\nDeepProspect's tools "
                                  "will not run until you install it again (Plugins > DeepProspect > {install})."
                                  ).format(size=size, folder=folder, install=INSTALL_LABEL),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self.iface.mainWindow())
        box.setObjectName("DeepProspectRemoveEngineQuestion")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        if box.exec() != QMessageBox.StandardButton.Yes:
            return False
        self._stop_inspector_engine()
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            engine_environment.remove(folder)
        except OSError as error:  # e.g. a file held open by a running engine on Windows
            self.iface.messageBar().pushCritical("DeepProspect", self.tr("Could not remove {}: {}").format(folder, error))
            return False
        finally:
            QApplication.restoreOverrideCursor()
            self.refresh_engine_actions()
            if self.inspector is not None:
                self.inspector.refresh_engine_state()
        self.iface.messageBar().pushSuccess("DeepProspect", self.tr("Removed the engine ({}).").format(size))
        return True

    def _stop_inspector_engine(self):
        """Stop the engine workers that run from the environment (the dock's, and the one kept
        for the next algorithm), so none holds its files."""
        from ..processing_provider.engine_runner import close_idle_workers

        close_idle_workers()
        if self.inspector is not None:
            self.inspector.unload(final=False)

    # The inspector -----------------------------------------------------------------------
    def show_inspector(self):
        from qgis.PyQt.QtCore import Qt

        try:
            from .dock import InspectorDock
        except ImportError as error:
            self.iface.messageBar().pushWarning("DeepProspect", self.tr("The inspector is not available: {}").format(error))
            return
        if self.inspector is None:
            self.inspector = InspectorDock(self.iface)
            self.inspector.installEngineRequested.connect(self.install_engine)
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector)
        self.inspector.show()
        self.inspector.raise_()

"""A small real stand-in for ``QgisInterface``: a QMainWindow with a QgsMapCanvas, menus,
toolbars, dock areas and a message bar, enough to load the plugin and drive its widgets
headless (qgis.testing.mocked needs the separate ``mock`` package and gives no real canvas)."""
from qgis.core import QgsProject
from qgis.gui import QgsMapCanvas, QgsMessageBar
from qgis.PyQt.QtWidgets import QMainWindow, QMenu


class QgisInterfaceStub:
    def __init__(self):
        self._window = QMainWindow()
        self._canvas = QgsMapCanvas(self._window)
        self._canvas.resize(800, 600)
        self._window.setCentralWidget(self._canvas)
        self.messages = []
        self._bar = _RecordingMessageBar(self._window, self.messages)
        self.plugin_menus = {}
        self.docks = []

    def mainWindow(self):  # noqa: N802 (QGIS's names)
        return self._window

    def mapCanvas(self):  # noqa: N802
        return self._canvas

    def messageBar(self):  # noqa: N802
        return self._bar

    def addToolBar(self, name):  # noqa: N802
        return self._window.addToolBar(name)

    def addPluginToMenu(self, menu, action):  # noqa: N802
        self.plugin_menus.setdefault(menu, QMenu(menu, self._window)).addAction(action)

    def removePluginMenu(self, menu, action):  # noqa: N802
        if menu in self.plugin_menus:
            self.plugin_menus[menu].removeAction(action)

    def addDockWidget(self, area, dock):  # noqa: N802
        self._window.addDockWidget(area, dock)
        self.docks.append(dock)

    def removeDockWidget(self, dock):  # noqa: N802
        self._window.removeDockWidget(dock)
        if dock in self.docks:
            self.docks.remove(dock)

    def addRasterLayer(self, path, name=""):  # noqa: N802
        from qgis.core import QgsRasterLayer

        layer = QgsRasterLayer(path, name)
        QgsProject.instance().addMapLayer(layer)
        return layer

    def activeLayer(self):  # noqa: N802
        layers = list(QgsProject.instance().mapLayers().values())
        return layers[0] if layers else None


class _RecordingMessageBar(QgsMessageBar):
    """A message bar that also keeps "title: text" of every message pushed from Python."""

    def __init__(self, parent, record):
        super().__init__(parent)
        self._record = record

    def _keep(self, title, text):
        self._record.append("{}: {}".format(title, text))

    def pushMessage(self, title, text="", *args, **kwargs):  # noqa: N802
        self._keep(title, text)
        return super().pushMessage(title, text, *args, **kwargs)

    def pushSuccess(self, title, text):  # noqa: N802
        self._keep(title, text)
        return super().pushSuccess(title, text)

    def pushInfo(self, title, text):  # noqa: N802
        self._keep(title, text)
        return super().pushInfo(title, text)

    def pushWarning(self, title, text):  # noqa: N802
        self._keep(title, text)
        return super().pushWarning(title, text)

    def pushCritical(self, title, text):  # noqa: N802
        self._keep(title, text)
        return super().pushCritical(title, text)

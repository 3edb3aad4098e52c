"""Install tensorflow and shap into the dependency folder from inside QGIS, in a QgsTask."""
from qgis.core import Qgis, QgsMessageLog, QgsTask

from .. import dependencies

#: pip prints about this many lines for a full install; progress is lines seen / this.
_EXPECTED_LINES = 120


class DependencyInstallTask(QgsTask):
    """Runs the same pip command as ``make setup``, pinned to the running QGIS's numpy etc."""

    def __init__(self, iface=None, folder=None):
        super().__init__("Installing DeepProspect dependencies", QgsTask.CanCancel)
        self.iface = iface
        self.folder = folder or dependencies.dependency_folder()
        self.lines = []
        self.exit_code = None

    def run(self):
        def on_output(line):
            self.lines.append(line)
            QgsMessageLog.logMessage(line, "DeepProspect", Qgis.Info)
            self.setProgress(min(99.0, 100.0 * len(self.lines) / _EXPECTED_LINES))

        self.exit_code = dependencies.install_dependencies(self.folder, on_output=on_output, is_canceled=self.isCanceled)
        return self.exit_code == 0 and not self.isCanceled()

    def finished(self, result):
        if self.iface is None:
            return
        bar = self.iface.messageBar()
        if result:
            bar.pushSuccess("DeepProspect", "Dependencies installed in {}. Restart QGIS to use them.".format(self.folder))
        else:
            tail = "\n".join(self.lines[-5:])
            bar.pushCritical("DeepProspect", "Installing dependencies failed (see the DeepProspect log):\n" + tail)

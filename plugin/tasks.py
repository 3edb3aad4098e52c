"""Background work for the inspector: loading a bundle (imports TensorFlow) and explaining a pixel.

Both take seconds, so they run in a ``QgsTask`` (QGIS's task manager shows their progress and
the interface stays responsive). The result is handed back in the main thread.
"""
from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsTask

#: Tasks that have been started and not finished yet: QGIS holds them only as C++ objects, so
#: Python must keep a reference or the wrapper (and its callbacks) would be collected mid-run.
_RUNNING = set()


class BackgroundTask(QgsTask):
    """Runs ``work(task)`` in a worker thread, then ``on_done(result, error)`` in the main thread.

    ``work`` may call ``task.setProgress`` and should return early when ``task.isCanceled()``.
    ``error`` is the exception ``work`` raised (None on success); ``result`` is what it returned.
    """

    def __init__(self, description, work, on_done, can_cancel=True):
        super().__init__(description, QgsTask.CanCancel if can_cancel else QgsTask.Flags())
        self._work = work
        self._on_done = on_done
        self.result = None
        self.error = None
        self.done = False

    def run(self):
        try:
            self.result = self._work(self)
        except Exception as error:  # handed to on_done in the main thread, where it can be shown
            self.error = error
            return False
        return not self.isCanceled()

    def finished(self, ok):
        _RUNNING.discard(self)
        self.done = True
        if self.isCanceled() and self.error is None:
            return
        try:
            self._on_done(self.result, self.error)
        except Exception as error:  # a callback bug must not kill QGIS's event loop silently
            QgsMessageLog.logMessage("DeepProspect inspector: {}".format(error), "DeepProspect", Qgis.Critical)
            raise


def start(task):
    """Hand ``task`` to QGIS's task manager and keep it alive until it has finished."""
    _RUNNING.add(task)
    QgsApplication.taskManager().addTask(task)
    return task


def wait(task, timeout=120.0):
    """Process events until ``task`` has finished (for scripts and tests); True if it did."""
    import time

    from qgis.PyQt.QtCore import QCoreApplication

    deadline = time.monotonic() + timeout
    while not task.done and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    return task.done

"""Background work for the inspector: loading a bundle (imports TensorFlow) and explaining a pixel.

Both take seconds, so they run in a ``QgsTask`` (QGIS's task manager shows their progress and
the interface stays responsive). The result is handed back in the main thread.

TensorFlow itself runs in one dedicated Python thread with a large stack, which the tasks hand
their work to: tracing a Keras model inside a QThreadPool worker of QgsTaskManager crashed
(segmentation fault in graph building) when TensorFlow had been imported in another worker,
while the same calls in a plain Python thread work. One thread also means TensorFlow state is
never touched from two threads at once.
"""
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsTask

TENSORFLOW_STACK_BYTES = 256 * 1024 * 1024
_TENSORFLOW_EXECUTOR = []

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
        future = tensorflow_thread().submit(self._work, self)
        while True:
            try:
                self.result = future.result(timeout=0.1)
                break
            except FutureTimeout:
                if self.isCanceled():  # TensorFlow cannot be interrupted; its result is dropped
                    return False
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


def tensorflow_thread():
    """The single-thread executor in which all the inspector's TensorFlow work runs."""
    if not _TENSORFLOW_EXECUTOR:
        previous = threading.stack_size(TENSORFLOW_STACK_BYTES)
        try:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepprospect-tensorflow")
            executor.submit(lambda: None).result()  # start the thread now, while the stack size applies
        finally:
            threading.stack_size(previous)
        _TENSORFLOW_EXECUTOR.append(executor)
    return _TENSORFLOW_EXECUTOR[0]


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

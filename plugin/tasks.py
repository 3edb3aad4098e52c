"""The inspector's engine: one warm worker process, called off the GUI thread, one call at a time.

The dock computes nothing itself: it asks the engine process (``processing_provider/
engine_runner.py``). A call blocks on the worker's pipe (pure Python I/O; nothing of TensorFlow
is in QGIS's process), so it runs in a ``QgsTask`` — QGIS's task manager shows it, the
interface stays responsive — and its result is handed back in the main thread.

:class:`EngineSession` keeps ONE worker for the dock, started on the first request and started
again if it died, so after the first click a click costs only the engine's arithmetic. Requests
queue behind the running one; a newer request on the same *channel* replaces one still waiting
there (a click made while another is being explained skips the clicks in between).
"""
import shutil
import tempfile
import time
import traceback
from collections import OrderedDict

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, QObject, pyqtSignal

from ..processing_provider.engine_runner import EngineCanceled, EngineError, EngineNotReady, EngineProcess

LOG_TAG = "DeepProspect"

#: Tasks that have been started and not finished yet: QGIS holds them only as C++ objects, so
#: Python must keep a reference or the wrapper (and its callbacks) would be collected mid-run.
_RUNNING = set()


class BackgroundTask(QgsTask):
    """Runs ``work(task)`` in a worker thread, then ``on_done(result, error)`` in the main thread.

    ``error`` is the exception ``work`` raised (:class:`EngineCanceled` when the task was
    canceled), None on success; ``result`` is what ``work`` returned.
    """

    def __init__(self, description, work, on_done, can_cancel=True):
        super().__init__(description, QgsTask.Flag.CanCancel if can_cancel else QgsTask.Flags())
        self._work = work
        self._on_done = on_done
        self.result = None
        self.error = None
        self.done = False

    def run(self):
        try:
            self.result = self._work(self)
        except Exception as error:  # noqa: BLE001 (handed to on_done in the main thread, where it is shown)
            self.error = error
            return False
        return not self.isCanceled()

    def finished(self, ok):
        _RUNNING.discard(self)
        self.done = True
        if self.error is None and self.isCanceled():
            self.error = EngineCanceled()
        try:
            self._on_done(self.result, self.error)
        except Exception:  # a callback bug must not vanish inside QGIS's event loop
            QgsMessageLog.logMessage("DeepProspect inspector:\n" + traceback.format_exc(), LOG_TAG,
                                     Qgis.MessageLevel.Critical)


class TaskFeedback:
    """What ``EngineProcess.call`` needs of a feedback, over a QgsTask: progress and cancel
    from QGIS's task manager; the engine's log lines go to the DeepProspect log tab."""

    def __init__(self, task):
        self._task = task

    def setProgress(self, percent):  # noqa: N802 (QgsProcessingFeedback's names)
        self._task.setProgress(percent)

    def isCanceled(self):  # noqa: N802
        return self._task.isCanceled()

    def pushInfo(self, text):  # noqa: N802
        QgsMessageLog.logMessage(text, LOG_TAG, Qgis.MessageLevel.Info)

    def reportError(self, text, fatal=False):  # noqa: N802
        QgsMessageLog.logMessage(text, LOG_TAG, Qgis.MessageLevel.Warning)


class Request:
    """One queued or running engine call; ``done`` once ``on_done`` has been called (or it was
    replaced by a newer request on its channel, ``skipped``)."""

    def __init__(self, channel, task, args, on_done, description):
        self.channel, self.task_name, self.args = channel, task, args
        self.on_done, self.description = on_done, description
        self.task = self.result = self.error = None
        self.done = self.skipped = False


class EngineSession(QObject):
    """The dock's one warm engine worker and the queue in front of it.

    ``engineMissing(message)`` is emitted when the engine's environment is not installed;
    ``engineAnswered()`` after every call the engine answered (the banner can go).
    """

    engineMissing = pyqtSignal(str)
    engineAnswered = pyqtSignal()

    def __init__(self, python=None, parent=None):
        super().__init__(parent)
        self._python = python
        self.engine = None
        self.current = None
        self._pending = OrderedDict()
        self._chart_folder = None
        self._generation = 0
        self.closed = False

    def request(self, channel, task, args, on_done, description):
        """Run engine ``task`` with ``args``; then ``on_done(result, error)`` in the main thread.

        Returns the :class:`Request`. A request still waiting on ``channel`` is dropped.
        """
        request = Request(channel, task, args, on_done, description)
        request.generation = self._generation
        if self.closed:
            request.done, request.error = True, EngineCanceled("The inspector was closed.")
            return request
        stale = self._pending.pop(channel, None)
        if stale is not None:
            stale.done = stale.skipped = True
        self._pending[channel] = request
        self._next()
        return request

    def chart_folder(self):
        """A temporary folder for the engine's chart pictures (removed when the session closes)."""
        if self._chart_folder is None:
            self._chart_folder = tempfile.mkdtemp(prefix="deepprospect-charts-")
        return self._chart_folder

    def close(self, final=True):
        """Stop the worker (a running call is canceled; nobody hears of it) and forget waiting
        requests. ``final=False`` (the dock was closed, it may be opened again): a later request
        starts a new worker."""
        self.closed = final
        self._generation += 1
        for request in self._pending.values():
            request.done = request.skipped = True
        self._pending.clear()
        engine, self.engine = self.engine, None
        if self.current is not None and self.current.task is not None:
            self.current.task.cancel()
            if engine is not None:
                engine.kill()  # whatever it computes has no reader any more: do not wait for it
                engine.close(wait=0)  # and its pipes (kill() leaves them open until garbage collection)
        elif engine is not None:
            engine.close(wait=2.0)
        if self._chart_folder is not None:
            shutil.rmtree(self._chart_folder, ignore_errors=True)
            self._chart_folder = None

    # -- internals -------------------------------------------------------------------------

    def _next(self):
        if self.current is not None or not self._pending or self.closed:
            return
        _, request = self._pending.popitem(last=False)
        self.current = request
        request.task = start(BackgroundTask(request.description, lambda task: self._call(task, request),
                                            lambda result, error: self._finished(request, result, error)))

    def _call(self, task, request):
        """In the task's thread: (re)start the worker if needed, then the blocking call."""
        engine = self.engine
        if engine is None or not engine.alive():
            if engine is not None:
                engine.close(wait=0.5)  # it died: collect it
            engine = EngineProcess(python=self._python)
            if request.generation != self._generation:  # closed meanwhile: nobody would stop it
                engine.kill()
                raise EngineCanceled()
            self.engine = engine
        return engine.call(request.task_name, request.args, TaskFeedback(task))

    def _finished(self, request, result, error):
        self.current = None
        request.result, request.error = result, error
        if request.generation == self._generation:
            # (a call cut short by close() is not a failure: the inspector stopped its own worker)
            _log(request, error)
            if isinstance(error, EngineNotReady):
                self.engineMissing.emit(str(error))
            elif error is None or (isinstance(error, EngineError) and error.kind == "input"):
                self.engineAnswered.emit()
            request.on_done(result, error)
        request.done = True
        self._next()


def _log(request, error):
    """Engine failures go to the DeepProspect log tab with their details (the traceback)."""
    if error is None or isinstance(error, EngineCanceled):
        return
    if isinstance(error, EngineError):
        level = Qgis.MessageLevel.Warning if error.kind in ("input", "not_ready") else Qgis.MessageLevel.Critical
        details = "\n" + error.details if error.details else ""
        text = "Inspector, {}: {}{}".format(request.task_name, error, details)
    else:
        level = Qgis.MessageLevel.Critical
        text = "Inspector, {}: {}\n{}".format(request.task_name, error, "".join(
            traceback.format_exception(type(error), error, error.__traceback__)))
    QgsMessageLog.logMessage(text, LOG_TAG, level)


def start(task):
    """Hand ``task`` to QGIS's task manager and keep it alive until it has finished."""
    _RUNNING.add(task)
    QgsApplication.taskManager().addTask(task)
    return task


def wait(item, timeout=120.0):
    """Process events until ``item`` (a Request or a BackgroundTask) is done (scripts and tests);
    True if it is."""
    deadline = time.monotonic() + timeout
    while not item.done and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.005)
    return item.done

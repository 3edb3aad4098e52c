"""Run engine tasks in a child process: the one way the QGIS front reaches ``core``/``models``.

Standard library only: TensorFlow, numpy and rasterio never load into QGIS's
process, so a crash or a library clash in the engine cannot take QGIS down, and the engine's
packages need not match QGIS's. The protocol is described in ``engine/protocol.py``.

* :func:`run_task` — start a worker, run one task, stop the worker (Processing algorithms);
* :class:`EngineProcess` — a worker kept alive between calls (the dock's pixel inspector).

Failures arrive as :class:`EngineError` whose ``str()`` is the message for the user and whose
``details`` (traceback, the worker's last output lines) are for the log.
"""
import collections
import glob
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from .. import engine_environment
from .engine_stderr_log import stderr_file_log

WORKER = Path(__file__).resolve().parent.parent / "engine" / "worker.py"
#: How long a worker may take to stop after a cancel request before it is killed (seconds).
CANCEL_GRACE_SECONDS = 0.8
#: How often the waiting loop looks at the cancel button (seconds).
POLL_SECONDS = 0.05
#: See :func:`idle_seconds`.
DEFAULT_IDLE_SECONDS = 180.0


class EngineError(Exception):
    """A task failed. ``str(error)`` is for the user; ``details`` for the log."""

    def __init__(self, message, details="", kind="internal"):
        super().__init__(message)
        self.details = details
        self.kind = kind


class EngineCanceled(EngineError):
    """The user canceled; the worker stopped and partial outputs were removed."""

    def __init__(self, message="Canceled by the user; no output was written."):
        super().__init__(message, kind="canceled")


class EngineNotReady(EngineError):
    """The engine's environment is not installed (or is out of date)."""

    def __init__(self):
        super().__init__(engine_environment.not_ready_message(), kind="not_ready")


def run_task(task, args, feedback=None, outputs=(), python=None):
    """Run ``task`` with ``args`` in a fresh worker and return its outputs (a dict).

    ``feedback`` is anything with QgsProcessingFeedback's ``setProgress``, ``pushInfo``,
    ``reportError`` and ``isCanceled`` (or None). ``outputs``: the file/folder paths the task
    writes; if the worker is killed (cancel not honoured in time, a crash, out of memory) their
    partial files (``core/atomic.py``'s ``.<name>.<8 hex>.partial*``) are removed here.
    """
    engine = _IDLE.take(python) or EngineProcess(python=python)
    try:
        result = engine.call(task, args, feedback, outputs)
    except EngineError:
        engine.kill()  # canceled or failed: a fresh worker for the next run
        engine.close()
        raise
    _IDLE.give(engine)
    return result


def idle_seconds():
    """How long a worker that finished a run waits for the next one before it exits (seconds).

    TensorFlow takes seconds to import, so train → predict → shap run in one worker when they
    follow each other. ``DEEPPROSPECT_WORKER_IDLE_SECONDS=0`` starts a fresh worker every time.
    """
    try:
        return float(os.environ.get("DEEPPROSPECT_WORKER_IDLE_SECONDS", DEFAULT_IDLE_SECONDS))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


def close_idle_workers():
    """Stop the worker kept for the next run (before the environment is repaired or removed)."""
    _IDLE.close_all()


class EngineProcess:
    """One engine worker. ``call`` may be used from one thread at a time."""

    def __init__(self, python=None, log=None):
        python = Path(python) if python else engine_environment.engine_python()
        self.python = str(python)
        if python is None or not Path(python).exists() or (
                python == engine_environment.engine_python() and not engine_environment.is_ready()):
            raise EngineNotReady()
        self._log = log if log is not None else stderr_file_log()     # a batch run's complete log
        self._messages = queue.Queue()
        self._stderr = collections.deque(maxlen=200)
        self._next_id = 0
        self._lock = threading.Lock()
        self.cwd = working_folder()
        self._process = subprocess.Popen(
            [str(python), str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=engine_environment.child_environment(),
            cwd=self.cwd, **_platform_options())
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.info = None
        self._cancel_sent = None

    @property
    def pid(self):
        return self._process.pid

    def alive(self):
        return self._process.poll() is None

    def call(self, task, args, feedback=None, outputs=(), timeout=None):
        """Run ``task`` and return its outputs; see :func:`run_task`."""
        with self._lock:
            self._cancel_sent = None
            existed = {str(output) for output in outputs if output and Path(output).exists()}
            self._wait_ready(feedback)
            self._next_id += 1
            task_id = self._next_id
            self._write({"id": task_id, "task": task, "args": args})
            try:
                return self._wait_result(task_id, feedback, timeout)
            except EngineError as error:
                if error.kind != "input":
                    _remove_partial_outputs(outputs)
                if error.kind in ("canceled", "died"):
                    _remove_new_outputs(outputs, existed)
                raise

    def close(self, wait=3.0):
        """Ask the worker to exit (end of input), then kill it if it has not within ``wait`` s.

        ``wait=None``: return at once; a helper thread reaps the worker (a worker that loaded
        TensorFlow takes over a second to shut down, which nobody needs to wait for).
        """
        try:
            self._process.stdin.close()
        except OSError:
            pass
        if wait is None:
            threading.Thread(target=self._reap, daemon=True).start()
            return
        try:
            self._process.wait(wait)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_pipes()

    def _reap(self):
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_pipes()

    def kill(self):
        if self.alive():
            self._process.kill()
        self._process.wait()

    def _close_pipes(self):
        for stream in (self._process.stdout, self._process.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    # -- internals -------------------------------------------------------------------------

    def _wait_ready(self, feedback):
        if self.info is not None:
            return
        while True:
            message = self._next_message(feedback, None)
            if message.get("ready"):
                self.info = message
                return

    def _wait_result(self, task_id, feedback, timeout):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            message = self._next_message(feedback, task_id, deadline)
            if message.get("id") != task_id:
                continue
            if "progress" in message and feedback is not None:
                feedback.setProgress(float(message["progress"]))
            elif "info" in message and feedback is not None:
                feedback.pushInfo(message["info"])
            elif "warning" in message and feedback is not None:
                # not pushWarning: qgis_process 3.22 leaves its text out of the --json log
                feedback.reportError(message["warning"], False)
            elif "result" in message:
                if self._cancel_sent is not None:  # finished before it saw the cancel
                    raise EngineCanceled()
                return message["result"]
            elif "error" in message:
                kind = message.get("kind", "internal")
                if kind == "canceled":
                    raise EngineCanceled()
                text = message["error"]
                if kind == "internal":
                    text = ("The DeepProspect engine failed: {}. The full report is in the log "
                            "(DeepProspect tab).".format(text))
                raise EngineError(text, message.get("traceback", ""), kind)

    def _next_message(self, feedback, task_id, deadline=None):
        """The next protocol message; meanwhile watch the cancel button and the worker's health."""
        while True:
            try:
                message = self._messages.get(timeout=POLL_SECONDS)
            except queue.Empty:
                message = None
            if message is _EOF:
                self._messages.put(_EOF)  # later calls must see it too
                raise self._died()
            now = time.monotonic()
            if feedback is not None and feedback.isCanceled():
                if task_id is None:  # still starting: nothing to stop gracefully
                    self.kill()
                    raise EngineCanceled()
                if self._cancel_sent is None:
                    self._cancel_sent = now
                    self._write({"cancel": task_id})
                elif now - self._cancel_sent > CANCEL_GRACE_SECONDS:
                    self.kill()
                    raise EngineCanceled()
            if message is not None:
                return message
            if deadline is not None and now > deadline:
                self.kill()
                raise EngineError("The DeepProspect engine did not answer in time and was stopped.",
                                  self.stderr_tail())

    def _died(self):
        self._process.wait()
        code = self._process.returncode
        if code is not None and code < 0:
            how = "was killed by signal {}{}".format(-code, " (out of memory?)" if -code == 9 else "")
        else:
            how = "stopped with exit code {}".format(code)
        return EngineError(
            "The DeepProspect engine {} before it finished; no output was written. QGIS is fine. "
            "If this repeats, use Plugins > DeepProspect > Repair the engine, and see the "
            "DeepProspect tab of the log for the details.".format(how), self.stderr_tail(), "died")

    def stderr_tail(self):
        """The worker's last lines of standard error (for the log)."""
        return "\n".join(self._stderr)

    def _write(self, message):
        try:
            self._process.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
            self._process.stdin.flush()
        except (OSError, ValueError):
            pass  # the worker is gone; the reader reports it

    def _read_stdout(self):
        try:
            for raw in self._process.stdout:
                try:
                    self._messages.put(json.loads(raw.decode("utf-8")))
                except ValueError:
                    self._stderr.append(raw.decode("utf-8", "replace").rstrip())
        except (OSError, ValueError):
            pass  # the pipe was closed under us by close()
        self._messages.put(_EOF)

    def _read_stderr(self):
        try:
            for raw in self._process.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                self._stderr.append(line)
                if self._log is not None:
                    self._log(line)
        except (OSError, ValueError):
            pass


_EOF = object()


class _IdleWorkers:
    """At most one finished worker kept for the next run, closed after :func:`idle_seconds`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle = None  # (engine, timer)

    def take(self, python=None):
        """The idle worker if it is alive and runs ``python`` (default: the environment's)."""
        with self._lock:
            idle, self._idle = self._idle, None
        if idle is None:
            return None
        engine, timer = idle
        timer.cancel()
        wanted = str(python or engine_environment.engine_python())
        if engine.alive() and engine.python == wanted and engine.cwd == working_folder() \
                and engine_environment.is_ready():
            return engine
        engine.close(wait=None)
        return None

    def give(self, engine):
        seconds = idle_seconds()
        if seconds <= 0 or not engine.alive():
            engine.close(wait=None)
            return
        timer = threading.Timer(seconds, self._expire, args=(engine,))
        timer.daemon = True
        with self._lock:
            previous, self._idle = self._idle, (engine, timer)
        timer.start()
        if previous is not None:
            previous[1].cancel()
            previous[0].close(wait=None)

    def close_all(self):
        with self._lock:
            idle, self._idle = self._idle, None
        if idle is not None:
            idle[1].cancel()
            idle[0].close()

    def _expire(self, engine):
        with self._lock:
            if self._idle is None or self._idle[0] is not engine:
                return
            self._idle = None
        engine.close(wait=None)


_IDLE = _IdleWorkers()


def working_folder():
    """The worker's current folder: QGIS's own, so a relative path in a script or on the
    ``qgis_process`` command line (``OUTPUT=idw.tif``) means the same file to both processes
    (in the plugin's folder, the engine would not find the inputs and would write the outputs
    among the plugin's files). The plugin's folder only when QGIS's no longer exists."""
    try:
        return os.getcwd()
    except OSError:
        return str(Path(WORKER).parent)


def partial_paths(output):
    """Partial files or folders that ``core/atomic.py`` may have left for ``output``."""
    output = Path(output)
    found = set()
    for name in {output.stem, output.name}:  # files keep their extension after ".partial"
        found.update(output.parent.glob(".{}.{}.partial*".format(glob.escape(name), "[0-9a-f]" * 8)))
    return sorted(found)


def _remove_partial_outputs(outputs):
    for output in outputs:
        if output:
            for partial in partial_paths(output):
                _remove(partial)


def _remove_new_outputs(outputs, existed):
    """Remove the outputs a canceled or killed call created (complete ones too)."""
    for output in outputs:
        if output and str(output) not in existed:
            _remove(Path(output))


def _remove(path):
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        try:
            path.unlink()
        except OSError:
            pass


def _platform_options():
    if sys.platform.startswith("win"):
        return {"creationflags": 0x08000000}  # CREATE_NO_WINDOW
    # Own process group: a Ctrl+C in the terminal running qgis_process is not delivered to the
    # worker directly; it ends with its parent (end of input) or through the protocol's cancel.
    return {"start_new_session": True}

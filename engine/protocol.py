"""The engine worker's loop: reads task requests, runs them, streams progress, log lines and results.

Started by the QGIS front (``processing_provider/engine_runner.py``) as
``<engine python> <plugin>/engine/worker.py``, which calls :func:`serve`. One worker runs one task at a time; the dock
keeps one alive between requests ("warm"), the Processing algorithms start one per run.

Protocol: one JSON object per line, UTF-8, in both directions.

front → engine (standard input)::

    {"id": 1, "task": "train", "args": {...}}   run a task (``engine/tasks.py`` names them)
    {"cancel": 1}                                stop task 1 at its next progress check
    end of input                                 exit once the current task is done

engine → front (the process's original standard output; anything a library prints goes to
standard error instead, so it can never corrupt the stream)::

    {"ready": true, "pid": 123, "python": "3.11.2"}   once, at start
    {"id": 1, "progress": 42.5}                       percent, 0–100
    {"id": 1, "info": "text"}                         a log line
    {"id": 1, "warning": "text"}                      a warning for the log
    {"id": 1, "result": {...}}                        the task's outputs; the task is done
    {"id": 1, "error": "message", "kind": "input" | "canceled" | "internal", "traceback": "..."}

``kind`` "input" is a :class:`DeepProspectError` (bad input; the message says how to fix it),
"canceled" a cancel request honoured (outputs were removed), "internal" anything else (the
traceback is for the log, not for the user's message).
"""
import json
import math
import os
import queue
import sys
import threading
import time
import traceback
from pathlib import Path

from ..core.errors import DeepProspectError, OperationCanceled
from ..core.feedback import Feedback
from .tasks import run_task


def serve():
    """Answer requests from standard input until it closes; returns the exit code."""
    protocol = _protocol_stream()
    requests = queue.Queue()
    canceled = set()
    threading.Thread(target=_read_requests, args=(requests, canceled), daemon=True).start()
    protocol.write("\n")  # ends any partial line a library left on standard output before this
    _send(protocol, {"ready": True, "pid": os.getpid(), "python": sys.version.split()[0]})
    while True:
        request = requests.get()
        if request is None:
            return 0
        task_id = request.get("id")
        try:
            result = run_task(request.get("task"), request.get("args") or {},
                              ProtocolFeedback(protocol, task_id, canceled))
            _send(protocol, {"id": task_id, "result": _plain(result or {})})
        except OperationCanceled as error:
            _send(protocol, {"id": task_id, "error": str(error) or "Canceled.", "kind": "canceled"})
        except DeepProspectError as error:
            _send(protocol, {"id": task_id, "error": str(error), "kind": "input",
                             "traceback": traceback.format_exc()})
        except MemoryError:
            _send(protocol, {"id": task_id, "kind": "internal", "traceback": traceback.format_exc(),
                             "error": "The engine ran out of memory. Use a smaller area, a coarser grid "
                                      "or a smaller batch, or close other programs."})
        except Exception as error:  # noqa: BLE001 (every failure must reach the front as a message)
            _send(protocol, {"id": task_id, "kind": "internal", "traceback": traceback.format_exc(),
                             "error": "{}: {}".format(type(error).__name__, error)})
        finally:
            canceled.discard(task_id)


class ProtocolFeedback(Feedback):
    """Feedback that reports over the protocol; canceled when the front sent ``{"cancel": id}``."""

    def __init__(self, protocol, task_id, canceled):
        self._protocol, self._task_id, self._canceled = protocol, task_id, canceled
        self._last_progress = (-1.0, 0.0)

    def set_progress(self, percent):
        percent = float(percent)
        if not math.isfinite(percent):
            return  # a 0/0 in a caller's arithmetic is no news (and min/max would turn NaN into 100 %)
        percent = round(max(0.0, min(100.0, percent)), 1)
        last, when = self._last_progress
        now = time.monotonic()
        # Throttled: a block loop may report thousands of times a second.
        if percent != last and (now - when > 0.1 or percent >= 100.0 or abs(percent - last) >= 1.0):
            self._last_progress = (percent, now)
            self._send(progress=percent)

    def is_canceled(self):
        return self._task_id in self._canceled

    def info(self, message):
        self._send(info=str(message))

    def warning(self, message):
        self._send(warning=str(message))

    def _send(self, **message):
        _send(self._protocol, dict(id=self._task_id, **message))


_SEND_LOCK = threading.Lock()


def _send(stream, message):
    line = json.dumps(message, allow_nan=False)
    with _SEND_LOCK:
        stream.write(line + "\n")
        stream.flush()


def _plain(value):
    """Results as JSON can carry them: numpy scalars to numbers, NaN/inf to None, paths to str."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _read_requests(requests, canceled):
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "cancel" in message:
            canceled.add(message["cancel"])
        else:
            requests.put(message)
    requests.put(None)


def _protocol_stream():
    """The original standard output, kept for the protocol; file descriptor 1 then points at
    standard error, so prints from TensorFlow, GDAL or any library (C code included) cannot
    corrupt the stream."""
    sys.stdout.flush()
    stream = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream

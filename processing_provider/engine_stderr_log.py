"""The engine's standard error into a file, for batch runs that keep a complete log.

The engine worker's standard error (Python warnings, TensorFlow's notes) is read by
``engine_runner`` and normally kept only as the tail shown when a task fails. When the variable
:data:`STDERR_LOG_VARIABLE` names a file (``scripts/demo.py`` sets it for each step), every line
is also appended there, so the demo's log holds what the engine said too.
"""
import os

STDERR_LOG_VARIABLE = "DEEPPROSPECT_ENGINE_STDERR"


def stderr_file_log():
    """A function appending one line to the file :data:`STDERR_LOG_VARIABLE` names, or None when unset."""
    path = os.environ.get(STDERR_LOG_VARIABLE)
    if not path:
        return None

    def append(line):
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    return append

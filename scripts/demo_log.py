#!/usr/bin/env python3
"""The full log of ``make demo`` (``demo_output/demo.log``) and its check: nothing from DeepProspect
at warning level (``make demo-check``, issue 18).

:class:`DemoLog` is what scripts/demo.py writes: one section per step (``== title (algorithm)``),
then every line the step produced, tagged by where it came from:

* ``[info]`` / ``[warning]``: the algorithm's Processing log (qgis_process ``--json``: its
  ``info`` and, for ``reportError``/``pushWarning``, its ``errors``/``warnings``);
* ``[stderr]``: qgis_process's standard error (QGIS's and Python's own messages);
* ``[engine]``: the engine worker's standard error (Python warnings, TensorFlow's notes);
* ``[qgis-log <level> <tag>]`` and ``[python-warning]``: the message log and Python warnings of the
  demo's own QGIS session (it writes the project).

:func:`our_warnings` reads such a log and returns the lines that are a warning from our package:
a ``[warning]`` of a ``deepprospect:`` step or of the project step; a QGIS log message of level
Warning or Critical tagged DeepProspect or naming the package; a Python warning (in any stream)
raised in a file of the package. A log the demo did not finish (no closing line) is itself a
failure, so a crashed demo cannot pass.

Usage: scripts/demo_log.py [demo_output/demo.log]   (exit 1 and the lines when there are any)
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FINISHED = "== demo finished"
#: The demo's own step (scripts/demo.py writes the project in its QGIS session): ours like an algorithm.
PROJECT_STEP = "deepprospect:project"
#: "path/file.py:12: SomeWarning: text", as Python prints a warning.
PYTHON_WARNING = re.compile(r"(?P<path>\S+\.py):\d+: (?P<category>\w*Warning): ")


class DemoLog:
    """Writes ``demo.log`` (see the module's description) as the demo goes."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.write_text("", encoding="utf-8")

    def step(self, title, algorithm, command=None):
        self._write(["", "== {} ({})".format(title, algorithm)] + (["$ " + command] if command else []))

    def processing(self, report, stderr, engine_lines=()):
        """One qgis_process run: its --json ``report`` (dict or None), standard error and engine lines."""
        log = (report or {}).get("log") or {}
        lines = []
        for key, values in (log.items() if isinstance(log, dict) else ()):
            tag = "info" if key == "info" else "warning"
            for value in values if isinstance(values, list) else str(values).splitlines():
                lines += ["[{}] {}".format(tag, part) for part in str(value).splitlines() if part.strip()]
        lines += ["[stderr] " + line for line in stderr.splitlines() if line.strip()]
        lines += ["[engine] " + line for line in engine_lines if line.strip()]
        self._write(lines)

    def message(self, level, tag, text):
        """A QGIS message log entry (``level``: "Info", "Warning", "Critical", …)."""
        self._write(["[qgis-log {} {}] {}".format(level, tag or "-", part) for part in str(text).splitlines() or [""]])

    def python_warning(self, warning):
        """A ``warnings.WarningMessage`` caught in the demo's own process."""
        self._write(["[python-warning] {}:{}: {}: {}".format(
            warning.filename, warning.lineno, warning.category.__name__, warning.message)])

    def finish(self, summary):
        self._write(["", "== summary"] + summary.splitlines() + ["", FINISHED])

    def _write(self, lines):
        with self.path.open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)


def is_our_file(path):
    """Whether ``path`` is a file of the package (this checkout, or imported as "deepprospect")."""
    return "deepprospect" in Path(path).parts or str(path).startswith(str(ROOT) + "/")


def our_warnings(text):
    """The lines of log ``text`` that are a warning from our package (see the module's description)."""
    found, algorithm, finished = [], None, False
    for line in text.splitlines():
        if line.startswith("== "):
            algorithm = line[line.rfind("(") + 1:-1] if line.endswith(")") else None
            finished = finished or line == FINISHED
            continue
        ours = bool(algorithm) and (algorithm.startswith("deepprospect:") or algorithm == PROJECT_STEP)
        warning = PYTHON_WARNING.search(line)
        if line.startswith("[warning] ") and ours:
            found.append(line)
        elif warning and is_our_file(warning.group("path")):
            found.append(line)
        elif re.match(r"\[qgis-log (Warning|Critical) ", line) and (
                " DeepProspect] " in line or "deepprospect" in line.lower()):
            found.append(line)
    if not finished:
        found.append("(the log ends before '{}': the demo did not finish)".format(FINISHED))
    return found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0] if argv else ROOT / "demo_output" / "demo.log")
    if not path.is_file():
        print("demo log: {} is missing; run `make demo` first.".format(path))
        return 1
    text = path.read_text(encoding="utf-8")
    found = our_warnings(text)
    steps = sum(line.startswith("== ") for line in text.splitlines())
    if found:
        print("demo log: {} at warning level from DeepProspect in {}:".format(
            "1 line" if len(found) == 1 else "{} lines".format(len(found)), path))
        print("\n".join("  " + line for line in found))
        return 1
    print("demo log: {} lines over {} sections, nothing at warning level from DeepProspect ({}).".format(
        len(text.splitlines()), steps, path))
    return 0


def report_of(stdout):
    """The JSON report qgis_process ``--json`` prints (after any other output), or None."""
    if "{" not in stdout:
        return None
    try:
        return json.loads(stdout[stdout.index("{"):])
    except ValueError:
        return None


if __name__ == "__main__":
    sys.exit(main())

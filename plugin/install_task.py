"""The QgsTask that builds the engine's environment (``engine_environment.install``: a venv,
then pip) on a worker thread, its progress read from pip's lines, and what to say when it fails.

The task's thread only runs subprocesses and emits signals (``output``, ``ended``); the install
dialog (``installer.py``) touches its widgets on the main thread, through those queued signals.
"""
import re
from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from .. import engine_environment

LOG_TAG = "DeepProspect"
#: Packages pip resolves for the full lock (measured on Linux x86-64); drives the progress bar.
EXPECTED_PACKAGES = 62
#: How many of pip's last lines a failure message quotes.
TAIL_LINES = 4


def requirement_names(path=None):
    """Project names listed in ``requirements.txt``, in order, without duplicates."""
    path = Path(path or engine_environment.REQUIREMENTS)
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name = re.split(r"[\s=<>!~;\[@]", line, maxsplit=1)[0].lower().replace("_", "-")
        if name and name not in names:
            names.append(name)
    return names


def install_log_path(folder=None):
    """The install's full output goes beside the environment (inside, a reinstall deletes it)."""
    folder = Path(folder or engine_environment.environment_folder())
    return folder.parent / (folder.name + "-install.log")


class InstallProgress:
    """Turns pip's lines into a percentage: venv 2 %, pip started 5 %, each package resolved
    up to 80 %, "Installing collected packages" 85 %; 100 % only when the task succeeds."""

    def __init__(self, expected=None):
        self.expected = max(expected or 0, EXPECTED_PACKAGES)
        self.packages = 0
        self.percent = 0.0

    def feed(self, line):
        text = line.strip()
        if text.startswith("$ ") and " -m venv " in text:
            value = 2.0
        elif text.startswith("$ ") and " -m pip " in text:
            value = 5.0
        elif text.startswith(("Collecting ", "Requirement already satisfied", "Processing ")):
            self.packages += 1
            value = 5.0 + 75.0 * min(1.0, self.packages / self.expected)
        elif text.startswith("Installing collected packages"):
            value = 85.0
        else:
            value = self.percent
        self.percent = max(self.percent, value)
        return self.percent


# The task ----------------------------------------------------------------------------------
class EngineInstallTask(QgsTask):
    """Builds the environment with ``engine_environment.install`` (venv + pip) on a worker thread.

    ``output(line)`` and ``ended(succeeded, canceled, exit_code)`` are emitted for the dialog;
    progress goes through QgsTask's own ``progressChanged`` (QGIS's task bar shows it too).
    """

    output = pyqtSignal(str)
    ended = pyqtSignal(bool, bool, int)

    def __init__(self, folder=None, python=None, wheel_folder=None, reinstall=False):
        super().__init__("Installing the DeepProspect engine", QgsTask.Flag.CanCancel)
        self.folder = Path(folder or engine_environment.environment_folder())
        self.python = python
        self.wheel_folder = wheel_folder
        self.reinstall = reinstall
        self.exit_code = None
        self.log_path = install_log_path(self.folder)
        self._progress = InstallProgress(len(requirement_names()))

    def run(self):
        log = None
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "w", encoding="utf-8")
            self.exit_code = self._install(log)
        except OSError as error:  # python not found, folder not writable, disk full…
            self._emit(log, "Error: {}".format(error))
            self.exit_code = -2
        finally:
            if log is not None:
                log.close()
        return self.exit_code == 0 and not self.isCanceled()

    def _install(self, log):
        def on_output(line):
            self._emit(log, line)
            self.setProgress(self._progress.feed(line))

        if self.reinstall:
            on_output("Removing {}".format(self.folder))
            engine_environment.remove(self.folder)
        return engine_environment.install(self.folder, self.python, self.wheel_folder,
                                          on_output=on_output, is_canceled=self.isCanceled)

    def _emit(self, log, line):
        if log is not None:
            try:
                log.write(line + "\n")
                log.flush()
            except OSError:  # a full disk must not hide pip's own message
                pass
        self.output.emit(line)

    def finished(self, result):  # main thread
        canceled = self.isCanceled()
        level = Qgis.MessageLevel.Success if result else Qgis.MessageLevel.Warning
        what = "ready" if result else ("canceled" if canceled else "failed (exit code {})".format(self.exit_code))
        QgsMessageLog.logMessage("Engine install {}; full output in {}".format(what, self.log_path), LOG_TAG, level)
        self.ended.emit(bool(result), canceled, self.exit_code if self.exit_code is not None else -1)


def failure_message(lines, exit_code, log_path):
    """What went wrong, with pip's last lines and where the full output is."""
    tail = [line for line in lines if line.strip() and not line.startswith("$ ")][-TAIL_LINES:]
    hint = ""
    text = "\n".join(lines)
    if "No matching distribution" in text or "Could not find a version" in text:
        hint = ("pip found no package for this Python and system (or not in the wheel folder). "
                "Choose a Python 3.9–3.13, or make the wheel folder on a matching computer.\n")
    elif "No module named venv" in text or "ensurepip is not" in text:
        hint = "This Python cannot create virtual environments (on Debian/Ubuntu: apt install python3-venv).\n"
    return ("The install failed (exit code {}). {}Last lines of pip's output:\n{}\n\n"
            "Full output: {} (and View > Panels > Log Messages, DeepProspect tab).").format(
        exit_code, hint, "\n".join(tail), log_path)

"""Plugins > DeepProspect > Install the engine…: the dialog that says what will be installed
and asks, then shows pip at work while the task of ``install_task.py`` builds the engine's
environment (``engine_environment.install``: a venv, then pip) on a worker thread.

The task's thread only runs subprocesses and emits signals; every widget is touched on the
main thread, through those (queued) signals.
"""
import os
import subprocess
import sys
from pathlib import Path

from qgis.core import QgsApplication, QgsSettings
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QFont
from qgis.PyQt.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
    QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from .. import engine_environment
from .install_task import EngineInstallTask, failure_message, install_log_path, requirement_names

SETTING_PYTHON = "deepprospect/python"
SETTING_WHEELS = "deepprospect/wheel_folder"
#: Names shown first in the dialog (what a geologist may have heard of), in this order.
_WELL_KNOWN = ("tensorflow", "tensorflow-cpu", "keras", "rasterio", "scikit-learn", "shap",
               "geopandas", "numpy", "matplotlib")
_PRETTY = {"tensorflow": "TensorFlow", "tensorflow-cpu": "TensorFlow", "keras": "Keras",
           "numpy": "NumPy", "scipy": "SciPy", "matplotlib": "Matplotlib", "geopandas": "GeoPandas"}

MODES = {
    # mode: (window title, verb on the button, what happens)
    "install": ("Install the DeepProspect engine", "Install",
                "DeepProspect runs its models in a Python environment of their own, so their "
                "libraries never clash with QGIS's. Installing creates that environment and "
                "downloads the packages below into it."),
    "repair": ("Repair the DeepProspect engine", "Repair",
               "pip installs the engine's packages again over the existing environment, "
               "replacing any that are missing, damaged or of the wrong version."),
    "reinstall": ("Reinstall the DeepProspect engine", "Reinstall",
                  "The existing environment is deleted, then built again from scratch."),
}


# Facts shown in the dialog -------------------------------------------------------------------
def package_summary(names, shown=8):
    """"TensorFlow, Keras, rasterio, … and 12 more": the well-known names first."""
    ordered = [n for n in _WELL_KNOWN if n in names] + [n for n in names if n not in _WELL_KNOWN]
    pretty = []
    for name in ordered:
        label = _PRETTY.get(name, name)
        if label not in pretty:
            pretty.append(label)
    if len(pretty) <= shown:
        return ", ".join(pretty)
    return "{} and {} more".format(", ".join(pretty[:shown]), len(pretty) - shown)


def folder_megabytes(folder):
    """Size of everything under ``folder`` in MB (0 if it does not exist).

    ``os.scandir`` rather than ``Path.rglob``: an environment holds ~36,000 files, and this
    runs on the main thread before the Remove question.
    """
    total = 0
    pending = [str(folder)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                pass
    return total / 1e6


def python_version(python):
    """``"3.11.2"`` for a working interpreter, else None (checked by running it)."""
    if not python:
        return None
    try:
        result = subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                                capture_output=True, text=True, timeout=30,
                                env=engine_environment.child_environment(), **_no_window())
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    version = result.stdout.strip()
    return version if result.returncode == 0 and version else None


def megabytes_text(megabytes):
    return "{:.1f} GB".format(megabytes / 1000) if megabytes >= 1000 else "{:.0f} MB".format(megabytes)


def _no_window():
    return {"creationflags": 0x08000000} if sys.platform.startswith("win") else {}


# The dialog --------------------------------------------------------------------------------
class InstallDialog(QDialog):
    """Says what will be installed, where, from which Python; asks; then shows pip at work.

    ``mode``: ``"install"`` (create or update over the existing environment), ``"repair"``
    (pip over the existing environment) or ``"reinstall"`` (delete, then install).
    ``install_finished(succeeded)`` is emitted when the task has ended.
    """

    install_finished = pyqtSignal(bool)

    def __init__(self, mode="install", folder=None, parent=None):
        super().__init__(parent)
        self.mode = mode
        self.folder = Path(folder or engine_environment.environment_folder())
        # pip over an existing environment (repair, or install over an outdated one) keeps its Python.
        self.keeps_python = mode == "repair" or (
            mode == "install" and engine_environment.engine_python(self.folder).exists())
        self.task = None
        self.lines = []
        title, verb, what = MODES[mode]
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        layout.addWidget(self._heading(title))
        layout.addWidget(self._wrapped(what))
        layout.addWidget(self._facts())
        layout.addWidget(self._offline_box())
        self._add_progress_area(layout)
        layout.addWidget(self._buttons(verb))
        self._check_python()
        # Wide enough for the folder's whole path (one line) and for the text to read well.
        self.setMinimumWidth(max(640, layout.minimumSize().width()))

    # Layout pieces -------------------------------------------------------------------------
    def _add_progress_area(self, layout):
        """The result message, the progress bar and pip's output: hidden until the install starts."""
        self.message = self._wrapped("")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        layout.addWidget(self.message)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.output_view = QPlainTextEdit()
        self.output_view.setReadOnly(True)
        self.output_view.setMaximumBlockCount(5000)
        self.output_view.setFont(QFont("monospace"))
        self.output_view.setMinimumHeight(160)
        self.output_view.hide()
        layout.addWidget(self.output_view, 100)
        layout.addStretch(1)  # spare height goes below the text, not between its lines

    def _buttons(self, verb):
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton(verb, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.hide()
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.reject)
        self.close_button.clicked.connect(self.accept)
        return self.buttons

    @staticmethod
    def _heading(text):
        label = QLabel(text)
        font = label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        label.setFont(font)
        return label

    @staticmethod
    def _wrapped(text):
        label = QLabel(text)
        label.setWordWrap(True)
        return label

    def _facts(self):
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 6, 0, 6)
        grid.setColumnStretch(1, 1)
        # One line each: word-wrapped labels beside other columns get clipped by Qt's layouts.
        self.packages_label = QLabel(package_summary(requirement_names()))
        self.download_label = QLabel("")
        self.disk_label = QLabel("about {}".format(megabytes_text(engine_environment.INSTALLED_MEGABYTES)))
        self.folder_label = QLabel(str(self.folder))
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.python_note = QLabel("")
        rows = (("Packages:", self.packages_label), ("Download:", self.download_label),
                ("Disk space:", self.disk_label), ("Folder:", self.folder_label),
                ("Python:", self._python_row()), ("", self.python_note))
        for row, (title, widget) in enumerate(rows):
            label = QLabel(title)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(label, row, 0)
            grid.addWidget(widget, row, 1)
        return box

    def _python_row(self):
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        setting = QgsSettings().value(SETTING_PYTHON, "", type=str)
        self.python_edit = QLineEdit(engine_environment.base_python(setting or None))
        self.python_edit.setToolTip("The Python interpreter the engine's environment is created from "
                                    "(a venv of it). Any Python 3.9–3.13 of this computer will do; "
                                    "the default is the one QGIS runs.")
        self.python_edit.editingFinished.connect(self._check_python)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_python)
        line.addWidget(self.python_edit, 1)
        line.addWidget(browse)
        self.python_browse = browse
        if self.keeps_python:
            self.python_edit.setEnabled(False)
            browse.setEnabled(False)
        return row

    def _offline_box(self):
        box = self.offline_box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.offline_check = QCheckBox("Install from a local folder of wheels (offline)")
        column.addWidget(self.offline_check)
        row = QHBoxLayout()
        self.wheels_edit = QLineEdit(QgsSettings().value(SETTING_WHEELS, "", type=str))
        self.wheels_edit.setPlaceholderText("Folder with the .whl files")
        self.wheels_browse = QPushButton("Browse…")
        self.wheels_browse.clicked.connect(self._browse_wheels)
        row.addWidget(self.wheels_edit, 1)
        row.addWidget(self.wheels_browse)
        column.addLayout(row)
        self.wheels_hint = self._wrapped(
            "Make the folder on a computer with internet access, the same operating system and the "
            "same Python version: pip download -r requirements.txt -d wheels (requirements.txt is "
            "in the plugin's folder), then copy the wheels folder here.")
        column.addWidget(self.wheels_hint)
        self.offline_check.toggled.connect(self._offline_toggled)
        self._offline_toggled(False)
        return box

    # Reactions -----------------------------------------------------------------------------
    def _offline_toggled(self, offline):
        self.wheels_edit.setEnabled(offline)
        self.wheels_browse.setEnabled(offline)
        self.wheels_hint.setVisible(offline)
        self._fit()
        self.download_label.setText(
            "none: the packages come from the wheel folder" if offline else
            "about {} from the Python Package Index (pypi.org)".format(
                megabytes_text(engine_environment.DOWNLOAD_MEGABYTES)))

    def _fit(self, shrink=False):
        """Grow (or first fit) the window to what it shows: Qt sizes windows with word-wrapped
        labels for a narrower width than they get, leaving them clipped or with a gap."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        width = max(self.width(), self.minimumWidth())
        height = layout.heightForWidth(width) if layout.hasHeightForWidth() else layout.sizeHint().height()
        self.resize(width, height if shrink else max(self.height(), height))

    def showEvent(self, event):  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not getattr(self, "_fitted", False):
            self._fitted = True
            self._fit(shrink=True)

    def _browse_python(self):
        path, _ = QFileDialog.getOpenFileName(self, "Python interpreter", self.python_edit.text())
        if path:
            self.python_edit.setText(path)
            self._check_python()

    def _browse_wheels(self):
        path = QFileDialog.getExistingDirectory(self, "Folder of wheels", self.wheels_edit.text())
        if path:
            self.wheels_edit.setText(path)

    def _check_python(self):
        """Shows the interpreter's version, or that it does not run; returns the version."""
        if self.keeps_python:
            self.python_note.setText("Kept from the existing environment "
                                     "(Reinstall to change it).")
            return True
        version = python_version(self.python_edit.text().strip())
        self.python_note.setText("Python {}; the engine's environment is created from it.".format(version)
                                 if version else "This is not a Python interpreter that runs: choose another one.")
        return version

    # Running -------------------------------------------------------------------------------
    def start(self):
        """Checks the choices, then starts the task (Install/Repair/Reinstall button)."""
        python = self.python_edit.text().strip()
        wheels = self.wheels_edit.text().strip() if self.offline_check.isChecked() else None
        problem = self._problem(wheels)
        if problem:
            self._show_message(problem, error=True)
            return
        settings = QgsSettings()
        if not self.keeps_python:
            settings.setValue(SETTING_PYTHON, python)
        if wheels:
            settings.setValue(SETTING_WHEELS, wheels)
        self.task = EngineInstallTask(self.folder, None if self.keeps_python else python, wheels,
                                      reinstall=self.mode == "reinstall")
        self.task.output.connect(self.append_output)
        self.task.progressChanged.connect(self.set_progress)
        self.task.ended.connect(self.on_ended)
        self._show_running()
        QgsApplication.taskManager().addTask(self.task)

    def _problem(self, wheels):
        if not self._check_python():
            return "The Python interpreter does not run: choose another one (Browse…)."
        if wheels is not None:
            if not wheels or not Path(wheels).is_dir():
                return "Choose the folder of wheels (or untick the offline option)."
            if not any(Path(wheels).glob("*.whl")):
                return "The folder {} holds no .whl files.".format(wheels)
        return None

    def _show_running(self):
        for widget in (self.python_edit, self.python_browse, self.offline_check, self.wheels_edit,
                       self.wheels_browse, self.start_button):
            widget.setEnabled(False)
        self.start_button.hide()
        self.message.hide()
        if not self.offline_check.isChecked():  # room for pip's output
            self.offline_box.hide()
        self.progress.setValue(0)
        self.progress.show()
        self.output_view.show()
        self._fit()

    def append_output(self, line):
        self.lines.append(line)
        self.output_view.appendPlainText(line)

    def set_progress(self, value):
        self.progress.setValue(int(value))

    def on_ended(self, succeeded, canceled, exit_code):
        self.task = None
        self.cancel_button.hide()
        self.close_button.show()
        if succeeded:
            self.progress.setValue(100)
            self._show_message("The engine is ready; no restart needed.")
        elif canceled:
            self._show_message("Canceled: pip was stopped, so the engine is not ready. "
                               "Install it again when you like.", error=True)
        else:
            self._show_message(failure_message(self.lines, exit_code, install_log_path(self.folder)), error=True)
        self.install_finished.emit(succeeded)

    def _show_message(self, text, error=False):
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "color: #1b5e20; font-weight: bold;")
        self.message.show()
        self._fit()

    def running(self):
        return self.task is not None

    def cancel_install(self):
        if self.task is not None:
            self.cancel_button.setEnabled(False)
            self.cancel_button.setText("Canceling…")
            self.task.cancel()

    def reject(self):
        """Cancel/Esc/closing the window while pip runs stops pip; the dialog stays to say so."""
        if self.running():
            self.cancel_install()
            return
        super().reject()

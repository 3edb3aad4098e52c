"""Plugins > DeepProspect > Install the engine…: the dialog, the QgsTask that builds the
engine's environment, the menu entries and the message bar at start-up.

The environment is built for real (``engine_environment.install`` runs its venv and pip
commands as subprocesses, streams their output, writes the stamp) in a temporary
``DEEPPROSPECT_ENV``, from a stand-in "python" whose ``-m venv`` lays out the environment and
whose ``-m pip`` prints pip's lines: the real install downloads ~600 MB. ``FAKE_PIP`` picks
how the stand-in's pip behaves (succeed, fail as pip does without a wheel, hang on a download).
"""
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
TESTS = ROOT / "tests"
SCREENSHOTS = os.environ.get("DEEPPROSPECT_SCREENSHOTS")
#: Where tests/qgis_interface.py (the iface stub) may be, before or after it moves to tests/qgis.
STUB_FOLDERS = [str(TESTS / "qgis"), str(TESTS)]

FAKE_PYTHON = textwrap.dedent('''\
    #!{python}
    """Stand-in interpreter: -c runs code, -m venv lays out a venv (a copy of this script as its
    python), -m pip prints pip's kind of lines for requirements.txt and exits like pip."""
    import os, shutil, sys, time
    from pathlib import Path
    args = sys.argv[1:]
    if args[:1] == ["-c"]:
        exec(args[1])
        sys.exit(0)
    if args[:2] == ["-m", "venv"]:
        scripts = Path(args[-1]) / "bin"
        scripts.mkdir(parents=True, exist_ok=True)
        shutil.copy(__file__, scripts / "python")
        os.chmod(scripts / "python", 0o755)
        sys.exit(0)
    if args[:2] != ["-m", "pip"]:
        sys.exit(2)
    Path(os.environ["FAKE_PIP_RECORD"]).write_text(str(os.getpid()) + "\\n" + " ".join(args))
    lines = Path(args[args.index("-r") + 1]).read_text().splitlines()
    names = [line.split("=")[0].split(";")[0].strip() for line in lines if line.strip() and not line.startswith("#")]
    for name in names:
        print("Collecting " + name, flush=True)
        print("  Downloading " + name + "-1.0-py3-none-any.whl (1.0 MB)", flush=True)
    mode = os.environ.get("FAKE_PIP", "ok")
    if mode == "hang":
        print("  Downloading a very large wheel", flush=True)
        time.sleep(600)
    if mode == "fail":
        print("ERROR: Could not find a version that satisfies the requirement tensorflow-cpu==9.9 (from versions: none)")
        print("ERROR: No matching distribution found for tensorflow-cpu==9.9")
        sys.exit(1)
    print("Installing collected packages: " + ", ".join(names), flush=True)
    print("Successfully installed " + " ".join(name + "-1.0" for name in names), flush=True)
''').format(python=sys.executable)


@pytest.fixture()
def engine(qgis_app, tmp_path, monkeypatch):
    """An empty DEEPPROSPECT_ENV, the stand-in python and where its pip records itself."""
    from qgis.core import QgsSettings

    python = tmp_path / "bin" / "python3"
    python.parent.mkdir()
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    folder = tmp_path / "profile" / "deepprospect_engine"
    record = tmp_path / "pip-record.txt"
    monkeypatch.setenv("DEEPPROSPECT_ENV", str(folder))
    monkeypatch.setenv("DEEPPROSPECT_PYTHON", str(python))
    monkeypatch.setenv("FAKE_PIP_RECORD", str(record))
    monkeypatch.setenv("FAKE_PIP", "ok")
    settings = QgsSettings()
    saved = {key: settings.value(key) for key in ("deepprospect/python", "deepprospect/wheel_folder")}
    yield {"folder": folder, "python": python, "record": record}
    for key, value in saved.items():
        if value is None:
            settings.remove(key)
        else:
            settings.setValue(key, value)


def _wait(condition, timeout=60):
    """Process Qt events until ``condition()`` (a safeguard deadline, not a timing assertion)."""
    from qgis.core import QgsApplication

    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "gave up waiting"
        QgsApplication.processEvents()
        time.sleep(0.01)
    for _ in range(20):
        QgsApplication.processEvents()


def _run(dialog):
    """Click the dialog's Install button and wait until the task has ended; returns the
    progress bar's values along the way."""
    values = []
    dialog.progress.valueChanged.connect(values.append)
    dialog.start_button.click()
    assert dialog.running()
    _wait(lambda: not dialog.running())
    return values


def _iface():
    for folder in STUB_FOLDERS:
        if folder not in sys.path:
            sys.path.append(folder)
    from qgis_interface import QgisInterfaceStub

    return QgisInterfaceStub()


# The dialog says what, how big, where, from which Python --------------------------------------
def test_dialog_shows_packages_sizes_folder_and_python(engine):
    from deepprospect import engine_environment
    from deepprospect.plugin.installer import InstallDialog

    dialog = InstallDialog("install")
    assert dialog.windowTitle() == "Install the DeepProspect engine"
    assert dialog.start_button.text() == "Install"
    assert "TensorFlow" in dialog.packages_label.text() and "shap" in dialog.packages_label.text()
    assert "{} MB".format(engine_environment.DOWNLOAD_MEGABYTES) in dialog.download_label.text()
    assert "{:.1f} GB".format(engine_environment.INSTALLED_MEGABYTES / 1000) in dialog.disk_label.text()
    assert dialog.folder_label.text() == str(engine["folder"])
    assert dialog.python_edit.text() == str(engine["python"])
    assert dialog.python_note.text().startswith("Python {}.{}.{};".format(*sys.version_info[:3]))  # it ran it
    dialog.offline_check.setChecked(True)
    assert "wheel folder" in dialog.download_label.text()
    assert "pip download -r requirements.txt -d wheels" in dialog.wheels_hint.text()


def test_requirement_names_and_summary(tmp_path):
    from deepprospect.plugin.installer import package_summary, requirement_names

    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# the lock\n-c constraints.txt\ntensorflow==2.21.0; sys_platform == 'darwin'\n"
        "tensorflow-cpu==2.21.0 ; sys_platform != 'darwin'  # Linux, Windows\nKeras==3.15\n"
        "scikit_learn>=1.5\nrasterio[s3]==1.4.3\nshap~=0.51\n")
    names = requirement_names(requirements)
    assert names == ["tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "rasterio", "shap"]
    assert package_summary(names) == "TensorFlow, Keras, rasterio, scikit-learn, shap"
    assert package_summary(names + ["a", "b", "c", "d"], shown=6) == \
        "TensorFlow, Keras, rasterio, scikit-learn, shap, a and 3 more"


def test_folder_size_counts_files_once_and_skips_links(tmp_path):
    from deepprospect.plugin.installer import folder_megabytes, megabytes_text

    (tmp_path / "lib" / "site").mkdir(parents=True)
    (tmp_path / "lib" / "a.so").write_bytes(b"x" * 1_000_000)
    (tmp_path / "lib" / "site" / "b.py").write_bytes(b"y" * 2_500_000)
    (tmp_path / "link.so").symlink_to(tmp_path / "lib" / "a.so")     # venvs link their python
    assert folder_megabytes(tmp_path) == 3.5
    assert folder_megabytes(tmp_path / "absent") == 0
    assert (megabytes_text(3.5), megabytes_text(2426.3)) == ("4 MB", "2.4 GB")


def test_a_python_that_does_not_run_is_refused_before_starting(engine, tmp_path):
    from deepprospect.plugin.installer import InstallDialog

    dialog = InstallDialog("install")
    dialog.python_edit.setText(str(tmp_path / "no-such-python"))
    dialog.start_button.click()
    assert not dialog.running() and not engine["folder"].exists()
    assert "does not run" in dialog.message.text() and dialog.message.isVisibleTo(dialog)


# The task ------------------------------------------------------------------------------------
def test_install_streams_pip_output_moves_the_bar_and_leaves_a_ready_engine(engine):
    from deepprospect import engine_environment
    from deepprospect.plugin.installer import InstallDialog, requirement_names

    assert engine_environment.status() == "missing"
    dialog = InstallDialog("install")
    values = _run(dialog)

    output = dialog.output_view.toPlainText()
    assert "-m venv --clear {}".format(engine["folder"]) in output
    for name in requirement_names():
        assert "Collecting " + name in output
    assert "Successfully installed" in output
    assert values[0] < values[-2] < values[-1] == 100            # it moved, then reached the end
    assert engine_environment.status() == "ready"                 # the stamp is written
    stamp = json.loads((engine["folder"] / engine_environment.STAMP_NAME).read_text())
    assert stamp["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert dialog.message.text() == "The engine is ready; no restart needed."
    assert dialog.close_button.isVisibleTo(dialog) and not dialog.cancel_button.isVisibleTo(dialog)


def test_failure_shows_pip_last_lines_and_the_log(engine, monkeypatch):
    from deepprospect import engine_environment
    from deepprospect.plugin.installer import InstallDialog, install_log_path

    monkeypatch.setenv("FAKE_PIP", "fail")
    dialog = InstallDialog("install")
    _run(dialog)

    text = dialog.message.text()
    assert "The install failed (exit code 1)" in text
    assert "ERROR: No matching distribution found for tensorflow-cpu==9.9" in text
    assert "pip found no package for this Python" in text
    assert str(install_log_path(engine["folder"])) in text
    assert "No matching distribution" in install_log_path(engine["folder"]).read_text()
    assert engine_environment.status() == "outdated"              # venv made, no stamp


def test_a_folder_that_cannot_be_made_fails_with_the_reason(engine, tmp_path):
    from deepprospect.plugin.installer import InstallDialog

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dialog = InstallDialog("install", folder=blocker / "deepprospect_engine")
    _run(dialog)
    assert "The install failed (exit code -2)" in dialog.message.text()
    assert "Error: " in dialog.message.text() and str(blocker) in dialog.message.text()


def test_cancel_kills_pip_and_the_engine_is_not_ready(engine, monkeypatch):
    from deepprospect import engine_environment
    from deepprospect.plugin.installer import InstallDialog

    monkeypatch.setenv("FAKE_PIP", "hang")
    dialog = InstallDialog("install")
    dialog.show()
    dialog.start_button.click()
    _wait(lambda: "a very large wheel" in dialog.output_view.toPlainText())
    pid = int(engine["record"].read_text().split()[0])
    assert _alive(pid)
    dialog.cancel_button.click()                                   # pip prints nothing meanwhile
    _wait(lambda: not dialog.running())

    assert not _alive(pid)
    assert dialog.isVisible() and dialog.message.text().startswith("Canceled: pip was stopped")
    assert engine_environment.status() != "ready"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_offline_install_uses_only_the_wheel_folder(engine, tmp_path):
    from deepprospect import engine_environment
    from deepprospect.plugin.installer import InstallDialog

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    dialog = InstallDialog("install")
    dialog.offline_check.setChecked(True)
    dialog.wheels_edit.setText(str(wheels))
    dialog.start_button.click()
    assert not dialog.running() and "holds no .whl files" in dialog.message.text()

    (wheels / "shap-0.51.0-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    _run(dialog)
    pip_arguments = engine["record"].read_text().splitlines()[1]
    assert "--no-index --find-links {}".format(wheels) in pip_arguments
    assert engine_environment.status() == "ready"
    assert engine_environment.read_stamp()["wheels"] == str(wheels)


def test_reinstall_removes_first_and_repair_keeps_the_environment(engine):
    from deepprospect import engine_environment
    from deepprospect.plugin.installer import InstallDialog

    _run(InstallDialog("install"))
    marker = engine["folder"] / "left-over.txt"
    marker.write_text("from before")

    repair = InstallDialog("repair")
    assert repair.start_button.text() == "Repair" and not repair.python_edit.isEnabled()
    _run(repair)
    assert marker.exists() and "-m venv" not in repair.output_view.toPlainText()

    reinstall = InstallDialog("reinstall")
    assert reinstall.python_edit.isEnabled()
    _run(reinstall)
    assert not marker.exists() and "-m venv" in reinstall.output_view.toPlainText()
    assert engine_environment.status() == "ready"


# The plugin: message bar, menu entries, remove ------------------------------------------------
@pytest.fixture()
def load_plugin(qgis_app):
    """Loads the plugin into an iface stub (the test's DEEPPROSPECT_ENV must be set first);
    unloads it afterwards and leaves the Processing registry as it found it."""
    from qgis.core import QgsApplication

    loaded = []

    def load():
        import deepprospect

        iface = _iface()
        plugin = deepprospect.classFactory(iface)
        plugin.initGui()
        loaded.append(plugin)
        return plugin, iface

    yield load
    for plugin in loaded:
        plugin.unload()
    registry = QgsApplication.processingRegistry()
    if registry.providerById("deepprospect") is None:  # unload removed the session's provider
        from deepprospect.processing_provider.provider import DeepProspectProvider

        registry.addProvider(DeepProspectProvider())


def _menu_labels(iface):
    return [action.text() for action in iface.plugin_menus["&DeepProspect"].actions()]


def test_plugin_load_offers_the_install_when_the_engine_is_missing(engine, load_plugin):
    from qgis.PyQt.QtWidgets import QPushButton

    from deepprospect import engine_environment

    plugin, iface = load_plugin()
    assert _menu_labels(iface) == ["DeepProspect inspector", "Install the engine…", "Reinstall the engine…",
                                   "Remove the engine…"]
    assert "Plugins > DeepProspect > Install the engine…" in engine_environment.not_ready_message()
    assert not plugin.reinstall_action.isEnabled() and not plugin.remove_action.isEnabled()
    items = iface.messageBar().items()
    assert len(items) == 1 and "is not installed yet" in items[0].text()
    button = items[0].findChild(QPushButton, "DeepProspectInstallEngineButton")
    assert button.text() == "Install the engine…"

    button.click()                                                  # opens the dialog; no modal at load
    dialog = plugin.install_dialog
    assert dialog.isVisible() and dialog.mode == "install"
    _run(dialog)
    assert not any("is not installed yet" in item.text() for item in iface.messageBar().items())
    assert "DeepProspect: The engine is ready; no restart needed." in iface.messages
    assert _menu_labels(iface)[1] == "Repair the engine…"
    assert plugin.reinstall_action.isEnabled() and plugin.remove_action.isEnabled()
    dialog.close()


def test_plugin_load_says_nothing_when_the_engine_is_ready(engine, load_plugin):
    from deepprospect import engine_environment

    assert engine_environment.install(python=str(engine["python"])) == 0
    plugin, iface = load_plugin()
    assert iface.messageBar().items() == [] and iface.messages == []
    assert _menu_labels(iface)[1] == "Repair the engine…"
    plugin.install_action.trigger()
    assert plugin.install_dialog.mode == "repair"
    plugin.install_dialog.close()


def test_remove_asks_with_folder_and_size_then_deletes(engine, load_plugin):
    from qgis.PyQt.QtCore import QTimer
    from qgis.PyQt.QtWidgets import QApplication, QMessageBox

    from deepprospect import engine_environment

    assert engine_environment.install(python=str(engine["python"])) == 0
    (engine["folder"] / "weights.bin").write_bytes(b"\0" * 3_000_000)   # 3 MB to report
    plugin, iface = load_plugin()
    asked = []

    def answer(button):
        box = QApplication.activeModalWidget()
        asked.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Cancel))
    assert plugin.remove_engine() is False
    assert engine["folder"].exists()
    assert str(engine["folder"]) in asked[0] and "(3 MB)" in asked[0]

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Yes))
    assert plugin.remove_engine() is True
    assert not engine["folder"].exists() and engine_environment.status() == "missing"
    assert "DeepProspect: Removed the engine (3 MB)." in iface.messages
    assert _menu_labels(iface)[1] == "Install the engine…" and not plugin.remove_action.isEnabled()


# A fresh profile: the plugin loads and the engine's algorithms say how to install it ---------
LOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {import_dir!r}); sys.path.extend({stub_folders!r})
    sys.path.append("/usr/share/qgis/python/plugins")
    from qgis.core import (QgsApplication, QgsFeature, QgsGeometry, QgsPointXY, QgsProcessingException,
                           QgsVectorLayer)
    app = QgsApplication([], True); app.initQgis()
    from processing.core.Processing import Processing
    Processing.initialize()
    import processing
    from qgis_interface import QgisInterfaceStub
    import deepprospect
    iface = QgisInterfaceStub()
    plugin = deepprospect.classFactory(iface)
    plugin.initGui()
    provider = QgsApplication.processingRegistry().providerById("deepprospect")
    layer = QgsVectorLayer("Point?crs=EPSG:32645&field=Sb:double", "samples", "memory")
    features = []
    for x, y, value in [(0, 0, 1.0), (1000, 0, 2.0), (0, 1000, 3.0)]:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
        feature.setAttributes([value])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    try:
        processing.run("deepprospect:idw", {{"INPUT": layer, "FIELDS": ["Sb"], "PIXEL_SIZE": 250,
                                            "OUTPUT": {output!r}}})
        error = None
    except QgsProcessingException as exception:
        error = str(exception)
    print(json.dumps({{
        "algorithms": sorted(a.id() for a in provider.algorithms()),
        "bar": [item.text() for item in iface.messageBar().items()],
        "menu": [a.text() for a in iface.plugin_menus["&DeepProspect"].actions()],
        "error": error,
    }}))
""")


def test_fresh_profile_loads_and_the_engine_algorithms_name_the_menu_entry(tmp_path):
    import deepprospect

    # the same "deepprospect" folder this session imports (a link to the checkout)
    import_dir = str(Path(deepprospect.__path__[0]).parent)
    script = LOAD_SCRIPT.format(import_dir=import_dir, stub_folders=STUB_FOLDERS, output=str(tmp_path / "idw.tif"))
    environment = dict(os.environ, DEEPPROSPECT_ENV=str(tmp_path / "empty-engine"), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert "deepprospect:idw" in report["algorithms"] and "deepprospect:train" in report["algorithms"]
    assert len(report["bar"]) == 1 and "is not installed yet" in report["bar"][0]
    assert report["menu"][1] == "Install the engine…"
    assert report["error"] is not None and "Plugins > DeepProspect > Install the engine…" in report["error"]
    assert not (tmp_path / "idw.tif").exists()


# A picture of the dialog, to look at ----------------------------------------------------------
def test_screenshot_install_dialog(engine, tmp_path, monkeypatch):
    """What a new user sees: the default folder of a fresh profile, QGIS's own Python."""
    from qgis.core import QgsSettings

    from deepprospect.plugin.installer import InstallDialog

    for variable in ("DEEPPROSPECT_ENV", "DEEPPROSPECT_PYTHON"):
        monkeypatch.delenv(variable)
    monkeypatch.setenv("XDG_DATA_HOME", "/home/geologist/.local/share")
    QgsSettings().remove("deepprospect/python")   # the engine fixture restores it
    dialog = InstallDialog("install")
    dialog.show()
    _wait(lambda: dialog.isVisible())
    assert dialog.folder_label.text().startswith("/home/geologist/.local/share/QGIS/QGIS3/profiles/default/")
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "install_engine.png"
    assert dialog.grab().save(str(path))
    dialog.close()


def test_metadata_tells_how_to_install_offline():
    """What QGIS's plugin manager shows: the menu entry, the sizes, the offline recipe."""
    import configparser

    from deepprospect import engine_environment

    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read(ROOT / "metadata.txt", encoding="utf-8")
    about = metadata["general"]["about"]
    assert "Plugins > DeepProspect > Install the engine…" in about
    assert "about {} MB to download".format(engine_environment.DOWNLOAD_MEGABYTES) in about
    assert "pip download -r requirements.txt -d wheels" in about
    assert "Install from a local folder of wheels (offline)" in about
    assert "dependency folder" not in about + metadata["general"]["description"]
    assert metadata["general"]["supportsQt6"] == "True"


# The interpreter named in the install command --------------------------------------------------
def _shim(folder):
    """A pyenv-style shim: a shell script named python3 that runs whatever Python pyenv picks."""
    folder.mkdir()
    shim = folder / "python3"
    shim.write_text('#!/usr/bin/env bash\nset -e\nexec pyenv exec "${0##*/}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    (folder / "python").symlink_to(shim)
    return shim


def test_the_install_message_names_the_real_python_not_a_pyenv_shim(tmp_path, monkeypatch, bad_input):
    from deepprospect import engine_environment

    shim = _shim(tmp_path / "shims")
    monkeypatch.delenv("DEEPPROSPECT_PYTHON", raising=False)
    monkeypatch.setattr(sys, "executable", str(shim))
    monkeypatch.setattr(sys, "_base_executable", str(shim), raising=False)
    monkeypatch.setattr(sys, "exec_prefix", str(tmp_path / "no-prefix"))
    monkeypatch.setenv("PATH", os.pathsep.join([str(shim.parent), "/usr/bin", "/bin"]))
    real = os.path.realpath("/usr/bin/python3")
    assert engine_environment.base_python() == real
    message = engine_environment.not_ready_message(tmp_path / "engine")
    assert "or run\n  {} {} install --folder {}".format(
        real, engine_environment.PLUGIN_ROOT / "engine_environment.py", tmp_path / "engine") in message
    assert "shims" not in message
    assert engine_environment.setup_command(tmp_path / "engine")[0] == real
    bad_input("The engine install message when python3 on PATH is a pyenv shim", "handled", message)


def test_base_python_resolves_links_and_refuses_scripts_and_folders(tmp_path, monkeypatch):
    from deepprospect import engine_environment

    link = tmp_path / "bin" / "python3"
    link.parent.mkdir()
    link.symlink_to("/usr/bin/python3")
    monkeypatch.delenv("DEEPPROSPECT_PYTHON", raising=False)
    monkeypatch.setattr(sys, "executable", str(link))
    monkeypatch.setattr(sys, "_base_executable", str(link), raising=False)
    assert engine_environment.base_python() == os.path.realpath("/usr/bin/python3")
    # inside QGIS sys.executable is the QGIS binary: the Python beside sys.exec_prefix is named
    monkeypatch.setattr(sys, "executable", "/usr/bin/qgis")
    monkeypatch.setattr(sys, "_base_executable", "/usr/bin/qgis", raising=False)
    assert engine_environment.base_python() == os.path.realpath("/usr/bin/python3")
    assert engine_environment.real_python(_shim(tmp_path / "shims")) is None
    assert engine_environment.real_python(tmp_path) is None
    assert engine_environment.real_python(tmp_path / "absent") is None
    # an explicit choice (setting or DEEPPROSPECT_PYTHON) is the user's and is kept as given
    assert engine_environment.base_python("~/py/bin/python3") == str(Path("~/py/bin/python3").expanduser())

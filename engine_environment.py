"""Where the engine's virtual environment lives, which Python made it, and how to (re)build it.

The QGIS front (``processing_provider/``, ``plugin/``) never imports numpy, rasterio or
TensorFlow: the engine (``core/``, ``models/``, ``engine/``) runs in a child process with its
own virtual environment, built from ``requirements.txt`` (see ``docs/ARCHITECTURE.md``).
This module finds that environment and builds it. It imports only the standard library, so
QGIS, ``make setup`` and the tests all share it.

* ``DEEPPROSPECT_ENV`` overrides the environment folder (default: ``<QGIS profile>/python/
  deepprospect_engine``);
* ``DEEPPROSPECT_PYTHON`` (or the plugin setting ``deepprospect/python``) names the interpreter
  the environment is created from (default: the Python QGIS runs).
"""
import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

PLUGIN_ROOT = Path(__file__).resolve().parent
REQUIREMENTS = PLUGIN_ROOT / "requirements.txt"
#: Written into the environment when an install succeeded: the requirements' hash and the Python.
STAMP_NAME = "deepprospect-engine.json"
#: Download size of a full install (wheels, measured on Linux x86-64), shown before asking.
DOWNLOAD_MEGABYTES = 620
#: Size on disk of a full environment (measured), shown before asking.
INSTALLED_MEGABYTES = 2400


def default_profile_folder():
    """The default QGIS 3 profile folder on this platform (where QGIS keeps plugins)."""
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "QGIS" / "QGIS3" / "profiles" / "default"


def environment_folder():
    """The engine's virtual environment: ``$DEEPPROSPECT_ENV`` or ``<profile>/python/deepprospect_engine``."""
    override = os.environ.get("DEEPPROSPECT_ENV")
    if override:
        return Path(override).expanduser()
    return default_profile_folder() / "python" / "deepprospect_engine"


def engine_python(folder=None):
    """Path of the environment's Python interpreter (which may not exist yet)."""
    folder = Path(folder or environment_folder())
    if sys.platform.startswith("win"):
        return folder / "Scripts" / "python.exe"
    return folder / "bin" / "python"


def base_python(setting=None):
    """The interpreter to create the environment from.

    ``DEEPPROSPECT_PYTHON``, else ``setting`` (the plugin's setting), else the Python that runs
    QGIS: ``sys._base_executable``/``sys.executable`` when they are Python (inside QGIS
    ``sys.executable`` is the QGIS binary, so look beside ``sys.prefix``), resolved to the real
    binary. A launcher script is never named: a pyenv shim (``~/.pyenv/shims/python3``, a shell
    script) picks its Python from the folder it runs in, so the install command it appears in
    would build the environment with another Python than QGIS's.
    """
    for candidate in (os.environ.get("DEEPPROSPECT_PYTHON"), setting):
        if candidate:
            return str(Path(candidate).expanduser())
    prefix = Path(sys.exec_prefix)
    if sys.platform.startswith("win"):
        beside_prefix = [prefix / "python.exe", prefix / "python3.exe"]
    else:
        beside_prefix = [prefix / "bin" / "python{}.{}".format(*sys.version_info[:2]), prefix / "bin" / "python3",
                         Path("/usr/bin/python3")]
    running = [Path(path) for path in (getattr(sys, "_base_executable", None), sys.executable)
               if path and Path(path).name.lower().startswith("python")]
    on_path = [Path(folder) / name for folder in os.environ.get("PATH", "").split(os.pathsep) if folder
               for name in ("python3", "python")]
    for candidate in running + beside_prefix + on_path:
        real = real_python(candidate)
        if real:
            return real
    return str(beside_prefix[0])


def real_python(path):
    """``path`` with links resolved if it is an executable binary (not a script such as a pyenv
    shim, not a folder), else None."""
    real = Path(os.path.realpath(str(path)))
    if not real.is_file() or not os.access(str(real), os.X_OK):
        return None
    try:
        with open(real, "rb") as handle:
            if handle.read(2) == b"#!":
                return None
    except OSError:
        return None
    return str(real)


def requirements_hash():
    """A hash of ``requirements.txt``: the environment is rebuilt when the lock changes."""
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]


def read_stamp(folder=None):
    """What the last successful install wrote (dict), or None."""
    path = Path(folder or environment_folder()) / STAMP_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def status(folder=None):
    """``"ready"``, ``"missing"`` (never installed) or ``"outdated"`` (lock changed or broken).

    Checked from files only, without starting the interpreter, so it is cheap enough for
    every dialog.
    """
    folder = Path(folder or environment_folder())
    python = engine_python(folder)
    if not python.exists():
        return "missing"
    stamp = read_stamp(folder)
    if not stamp or stamp.get("requirements") != requirements_hash():
        return "outdated"
    return "ready"


def is_ready(folder=None):
    return status(folder) == "ready"


def not_ready_message(folder=None):
    """What the user reads when an engine algorithm runs before the environment is installed."""
    folder = Path(folder or environment_folder())
    state = status(folder)
    what = "is not installed yet" if state == "missing" else "is out of date (the plugin was updated)"
    return (
        "The DeepProspect engine (TensorFlow, rasterio, scikit-learn and shap in their own Python "
        "environment, about {size} MB to download) {what}. In QGIS use Plugins > DeepProspect > "
        "Install the engine…, or run\n  {command}"
    ).format(size=DOWNLOAD_MEGABYTES, what=what, command=" ".join(_quote(a) for a in setup_command(folder)))


def setup_command(folder=None, python=None, wheel_folder=None):
    """The command line that builds the environment (what ``make setup`` and the plugin run)."""
    command = [python or base_python(), str(PLUGIN_ROOT / "engine_environment.py"), "install",
               "--folder", str(folder or environment_folder())]
    if wheel_folder:
        command += ["--wheels", str(wheel_folder)]
    return command


def install_steps(folder=None, python=None, wheel_folder=None):
    """The commands that (re)build the environment, in order: create the venv, then pip.

    ``wheel_folder``: install offline from a folder of wheels (``pip download -r requirements.txt
    -d FOLDER`` on a connected machine of the same platform and Python).
    """
    folder = Path(folder or environment_folder())
    steps = []
    if not engine_python(folder).exists():
        steps.append([python or base_python(), "-m", "venv", "--clear", str(folder)])
    pip = [str(engine_python(folder)), "-m", "pip", "install", "--disable-pip-version-check",
           "--no-warn-script-location", "--progress-bar", "off", "-r", str(REQUIREMENTS)]
    if wheel_folder:
        pip += ["--no-index", "--find-links", str(wheel_folder)]
    steps.append(pip)
    return steps


def install(folder=None, python=None, wheel_folder=None, on_output=None, is_canceled=None, extra=()):
    """Create the venv and install the lock into it; returns 0 on success, else pip's exit code.

    ``on_output(line)`` receives every output line; ``is_canceled()`` returning True kills
    the running step (the half-built environment is then reported as ``outdated``).
    ``extra``: more requirement lines (the tests add pytest).
    """
    folder = Path(folder or environment_folder())
    folder.parent.mkdir(parents=True, exist_ok=True)
    stamp = folder / STAMP_NAME
    if stamp.exists():
        stamp.unlink()
    steps = install_steps(folder, python, wheel_folder)
    steps[-1] += list(extra)  # the last step is pip's
    for command in steps:
        code = _run_streaming(command, on_output, is_canceled)
        if code != 0:
            return code
    stamp.write_text(json.dumps({
        "requirements": requirements_hash(),
        "python": _interpreter_version(engine_python(folder)),
        "wheels": str(wheel_folder) if wheel_folder else None,
    }), encoding="utf-8")
    return 0


def remove(folder=None):
    """Delete the environment folder (the plugin's *Remove the engine* menu entry)."""
    folder = Path(folder or environment_folder())
    if folder.exists():
        shutil.rmtree(folder)


def child_environment():
    """Environment variables for the engine's child process.

    QGIS (notably on Windows and macOS) sets PYTHONHOME/PYTHONPATH and GDAL/PROJ data paths for
    its own Python and GDAL; the engine has its own Python and rasterio's GDAL, which must not
    pick those up.
    """
    environment = {key: value for key, value in os.environ.items() if key not in _QGIS_ONLY_VARIABLES}
    environment.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", TF_CPP_MIN_LOG_LEVEL="2",
                       PYTHONNOUSERSITE="1")
    return environment


_QGIS_ONLY_VARIABLES = {
    "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "GDAL_DATA", "GDAL_DRIVER_PATH",
    "PROJ_LIB", "PROJ_DATA", "GDAL_FILENAME_IS_UTF8", "QGIS_PREFIX_PATH", "VIRTUAL_ENV",
}


def _run_streaming(command, on_output, is_canceled):
    """Run ``command``, passing each output line to ``on_output``; kill it when ``is_canceled()``.

    Lines are read on a helper thread so that a cancel is honoured within a fraction of a
    second even while pip prints nothing (a large wheel downloading).
    """
    if on_output:
        on_output("$ " + " ".join(_quote(a) for a in command))
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, encoding="utf-8", errors="replace", env=child_environment(), **_no_window())
    lines = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            line = ""
        if line is None:  # end of output
            return process.wait()
        if line and on_output:
            on_output(line.rstrip())
        if is_canceled and is_canceled():
            process.kill()
            process.wait()
            return -1


def _pump(stream, lines):
    for line in stream:
        lines.put(line)
    lines.put(None)


def _interpreter_version(python):
    try:
        return subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                              capture_output=True, text=True, timeout=60, **_no_window()).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _no_window():
    # Without this, every child process flashes a console window on Windows.
    if sys.platform.startswith("win"):
        return {"creationflags": 0x08000000}  # CREATE_NO_WINDOW
    return {}


def _quote(argument):
    return '"{}"'.format(argument) if " " in argument else argument


def _main(argv):
    import argparse

    parser = argparse.ArgumentParser(description="Build or check DeepProspect's engine environment.")
    parser.add_argument("action", choices=["install", "status", "path", "python"])
    parser.add_argument("--folder", default=None)
    parser.add_argument("--python", default=None, help="interpreter to create the venv from")
    parser.add_argument("--wheels", default=None, help="install offline from this folder of wheels")
    parser.add_argument("--if-needed", action="store_true", help="install only when not ready")
    parser.add_argument("--extra", action="append", default=[], help="another requirement (tests)")
    options = parser.parse_args(argv)
    folder = Path(options.folder) if options.folder else environment_folder()
    if options.action == "status":
        print(status(folder))
        return 0
    if options.action == "path":
        print(folder)
        return 0
    if options.action == "python":
        print(engine_python(folder))
        return 0
    if options.if_needed and is_ready(folder):
        return 0
    return install(folder, options.python, options.wheels, on_output=print, extra=options.extra)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

"""The plugin's dependency folder: where TensorFlow and shap live, outside QGIS's Python.

DESIGN.md, "Platform": TensorFlow and shap are not in Debian, so they are installed with
``pip install --target <folder>`` into a folder that the plugin *appends* to ``sys.path``
(never prepends: QGIS's own numpy, scipy and pandas must win). Desktop QGIS,
``qgis_process``, the tests and ``make setup`` all go through this one module.

This module imports nothing from QGIS, so the Makefile, the tests and the plugin share it.
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: Modules the modelling and explanation algorithms need, with the pip name that provides each.
REQUIRED_MODULES = {"tensorflow": "tensorflow-cpu==2.15.1", "shap": "shap==0.49.1"}

#: Packages QGIS's Python already provides; pip must resolve against exactly these versions.
PINNED_FROM_RUNNING_PYTHON = (
    "numpy", "scipy", "pandas", "scikit-learn", "matplotlib", "packaging", "six",
    "joblib",
    "threadpoolctl", "setuptools", "wheel",
)

PLUGIN_ROOT = Path(__file__).resolve().parent


def default_profile_folder():
    """The default QGIS 3 profile folder on this platform (where QGIS keeps plugins)."""
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "QGIS" / "QGIS3" / "profiles" / "default"


def dependency_folder():
    """The folder holding tensorflow and shap: ``$DEEPPROSPECT_DEPS`` or the profile default."""
    override = os.environ.get("DEEPPROSPECT_DEPS")
    if override:
        return Path(override).expanduser()
    return default_profile_folder() / "python" / "deepprospect_deps"


def add_dependency_folder_to_path():
    """Append the dependency folder to ``sys.path`` once, so system packages keep precedence.

    Returns the folder (whether or not it exists yet).
    """
    folder = str(dependency_folder())
    if folder not in sys.path:
        sys.path.append(folder)
    return Path(folder)


def missing_modules(modules=None):
    """Names of required modules that cannot be imported (checked without importing them)."""
    add_dependency_folder_to_path()
    names = modules if modules is not None else REQUIRED_MODULES
    return [name for name in names if importlib.util.find_spec(name) is None]


def install_instructions(missing):
    """A message telling a user what is missing and the exact command that installs it."""
    folder = dependency_folder()
    return (
        "DeepProspect needs {missing}, which this QGIS's Python cannot import. "
        "Install it into the plugin's dependency folder {folder}: in QGIS use "
        "Plugins > DeepProspect > Install dependencies… and restart QGIS, or run\n"
        "  {command}"
    ).format(missing=", ".join(missing), folder=folder,
             command=" ".join(install_command(folder, PLUGIN_ROOT / "constraints.txt")))


def running_python_constraints():
    """``name==version`` pins of the packages the running Python already has."""
    from importlib import metadata

    lines = []
    for name in PINNED_FROM_RUNNING_PYTHON:
        try:
            lines.append("{}=={}".format(name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return lines


def install_command(folder, constraints_path, python=None):
    """The pip command line that fills the dependency folder (a list of arguments)."""
    return [
        python or _python_executable(), "-m", "pip", "install", "--disable-pip-version-check",
        "--no-warn-script-location", "--upgrade", "--target", str(folder),
        "-c", str(constraints_path), "-r", str(PLUGIN_ROOT / "requirements.txt"),
    ]


def install_dependencies(folder=None, on_output=None, is_canceled=None):
    """Run pip into the dependency folder, pinned to the running Python's versions.

    ``on_output(line)`` receives pip's output line by line; ``is_canceled()`` returning True
    stops pip. Returns pip's exit code (0 on success).
    """
    folder = Path(folder or dependency_folder())
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix="-constraints.txt", delete=False) as handle:
        handle.write("\n".join(running_python_constraints()) + "\n")
        constraints_path = handle.name
    try:
        process = subprocess.Popen(
            install_command(folder, constraints_path), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            if on_output:
                on_output(line.rstrip())
            if is_canceled and is_canceled():
                process.kill()
                break
        return process.wait()
    finally:
        os.unlink(constraints_path)


def _python_executable():
    """The Python that QGIS runs (inside QGIS, sys.executable is the qgis binary)."""
    executable = Path(sys.executable)
    if executable.name.startswith("python"):
        return str(executable)
    if sys.platform.startswith("win"):
        candidate = Path(sys.prefix) / "python.exe"
    else:
        candidate = Path(sys.prefix) / "bin" / "python3"
        if not candidate.exists():
            candidate = Path("/usr/bin/python3")
    return str(candidate)

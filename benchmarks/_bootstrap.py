"""Benchmarks import this checkout as ``deepprospect`` (as QGIS does); importing this module
sets that up. Engine benchmarks (everything but :data:`FRONT_BENCHMARKS`) must run in the
engine's environment: started with another Python, this module re-runs them with the engine's.

Run a benchmark with ``/usr/bin/python3 benchmarks/bench_<topic>.py`` from any folder.
"""
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
IMPORT_DIR = Path(tempfile.mkdtemp(prefix="deepprospect-bench-"))
(IMPORT_DIR / "deepprospect").symlink_to(ROOT, target_is_directory=True)
sys.path.insert(0, str(IMPORT_DIR))

import deepprospect.engine_environment as _environment  # noqa: E402

#: These drive QGIS (its Python) and reach the engine through the runner, like the plugin.
FRONT_BENCHMARKS = {"bench_inspector.py", "bench_runner.py"}


def _in_engine_environment():
    return Path(sys.prefix).resolve() == _environment.environment_folder().resolve()


if Path(sys.argv[0]).name not in FRONT_BENCHMARKS and not _in_engine_environment():
    _python = str(_environment.engine_python())
    os.execv(_python, [_python] + sys.argv)


def status_mb(key="VmHWM"):
    """A memory figure of this process from /proc/self/status, in MB: ``VmHWM`` (peak resident
    memory) or ``VmRSS`` (current). Not getrusage's ru_maxrss: it survives exec on Linux, so a
    benchmark's child process would report its parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    if key == "VmHWM":
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return float("nan")

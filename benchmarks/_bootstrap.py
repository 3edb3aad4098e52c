"""Benchmarks import this checkout as ``deepprospect`` (as QGIS does); importing this module
sets that up. Engine benchmarks (everything but :data:`FRONT_BENCHMARKS`) must run in the
engine's environment: started with another Python, this module re-runs them with the engine's.

Run a benchmark with ``/usr/bin/python3 benchmarks/bench_<topic>.py`` from any folder.

Sizes: ``make bench`` runs every benchmark at its quick default sizes (the whole run under
15 minutes on 2 cores); ``make bench-full`` sets ``DEEPPROSPECT_BENCH_FULL=1`` and the defaults
become the long sizes quoted in the issues' notes (about an hour). Arguments given on the
command line win over both.
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

#: ``make bench-full``: the long sizes (see the module's doc).
FULL = os.environ.get("DEEPPROSPECT_BENCH_FULL", "") not in ("", "0")

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


def province_folder(size_km=100):
    """Where the synthetic province of ``size_km`` (seed 1) is generated once for the benchmarks
    that use it (training, inspector)."""
    return ROOT / "benchmarks" / "output" / "province{:g}".format(size_km)


def hidden_arguments(parser, *names):
    """Command-line options a benchmark passes to its own child processes (not in its help)."""
    import argparse

    for name in names:
        parser.add_argument(name, help=argparse.SUPPRESS)


def sized(quick, full):
    """A size argument's default: ``quick`` for ``make bench``, ``full`` for ``make bench-full``."""
    return full if FULL else quick


def cores():
    """The CPU cores this process may use (its affinity), else the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def print_machine(title):
    """The benchmark's first line: what it measures, the cores, the load (the machine may be shared:
    every figure is a ratio to an anchor measured in the same run for that reason) and the sizes."""
    print("{} — {} CPU cores ({} usable here), load average {:.1f}, {} sizes".format(
        title, os.cpu_count(), cores(), os.getloadavg()[0], "full" if FULL else "quick (make bench-full: the long ones)"),
        flush=True)

"""Benchmarks import this checkout as ``deepprospect`` (as QGIS does), with the plugin's
dependency folder appended to ``sys.path``; importing this module sets that up.

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

import deepprospect.dependencies  # noqa: E402

deepprospect.dependencies.add_dependency_folder_to_path()

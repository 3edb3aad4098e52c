"""Resolve the engine's lock (requirements.txt) for a platform and Python other than this machine's.

Used by ``scripts/check_platforms.sh`` (``make check-platforms``) and to regenerate the lock.

Why not plain ``pip install --dry-run --platform … --python-version …``: those options choose which
*wheels* fit the target, but pip still evaluates environment markers (``sys_platform``,
``platform_machine``, ``python_version``) for the machine it runs on — both the lock's own markers
and the ones inside the packages' metadata (TensorFlow's Windows-only ``tensorflow-intel``, click's
Windows-only ``colorama``). On Linux with Python 3.11 it would check the Linux/3.11 lines of the lock
against Windows wheels. So this module runs pip in-process with the marker environment of pip's
vendored ``packaging`` replaced by the target's: every marker, in the lock and in the metadata, is
then evaluated for the target, exactly as pip on that machine would.

  python3 scripts/platforms.py check PLATFORM PYTHON    # one line: PASS / FAIL / GAP, exit 0/1/2
  python3 scripts/platforms.py lock [--caps FREEZE]     # regenerate requirements.txt (all targets)

``check`` resolves the lock (no download, only metadata) and also requires the resolved set to be
exactly the lock's pins for that target, so the lock stays complete (every dependency pinned).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.txt"
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def _manylinux(glibc_minor):
    # pip does not widen a manylinux_2_X --platform to older glibc tags as pip on such a host
    # would; list them all. 2.28 (RHEL 8 and newer; Debian 12 has 2.36): TensorFlow 2.21 needs 2.27.
    tags = ["manylinux_2_{}_x86_64".format(minor) for minor in range(glibc_minor, 4, -1)]
    return tags + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


#: Wheel tags (pip --platform; pip widens macOS tags to older macOS itself) and marker values.
PLATFORMS = {
    "linux-x86_64": {
        "tags": _manylinux(28),
        "marker": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                   "platform_machine": "x86_64", "platform_release": "6.1.0"},
        "lock_marker": 'sys_platform == "linux"',
    },
    "windows-x86_64": {
        "tags": ["win_amd64"],
        "marker": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                   "platform_machine": "AMD64", "platform_release": "10"},
        "lock_marker": 'sys_platform == "win32"',
    },
    # macOS 14: rasterio 1.4 and pyproj 3.7 ship arm64 wheels for macOS 14 only (TensorFlow needs 12).
    "macos-arm64": {
        "tags": ["macosx_14_0_arm64"],
        "marker": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                   "platform_machine": "arm64", "platform_release": "23.0.0"},
        "lock_marker": 'sys_platform == "darwin" and platform_machine == "arm64"',
    },
    # macOS 12: TensorFlow's last x86-64 wheels (2.16.2) need 10.15, pyogrio's need 12.
    "macos-x86_64": {
        "tags": ["macosx_12_0_x86_64"],
        "marker": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                   "platform_machine": "x86_64", "platform_release": "21.0.0"},
        "lock_marker": 'sys_platform == "darwin" and platform_machine == "x86_64"',
    },
}

#: Targets with no TensorFlow wheel at all: ``check`` reports them as GAP, not as failures, as long
#: as pip still finds no TensorFlow there (if one appears, the check fails so the lock gets it).
EXPECTED_GAPS = {
    ("macos-x86_64", "3.13"): "TensorFlow stopped macOS x86-64 wheels at 2.16.2 (Python <= 3.12)",
}

#: What the engine imports; the lock is these plus everything they pull in, resolved per target.
#: TensorFlow >= 2.16 is the Keras 3 generation the code is written for.
TOP_LEVEL = [
    'tensorflow-cpu>=2.16; sys_platform != "darwin"',
    'tensorflow>=2.16; sys_platform == "darwin"',
    "keras>=3", "h5py", "numpy", "scipy", "pandas", "scikit-learn", "matplotlib",
    "rasterio", "pyogrio", "geopandas", "shapely", "pyproj", "shap",
    "numba",  # core/continuum.py compiles the continuum removal with it (shap pulls it in too, but needs not)
    "distributed",  # core/pipeline_dask.py: map-wide steps on a Dask cluster (DASK_SCHEDULER)
]
#: Never pinned: the venv brings them, and nothing the engine imports needs a given version.
UNPINNED = {"pip", "setuptools"}


def marker_environment(platform, python):
    environment = {
        "implementation_name": "cpython", "implementation_version": python + ".0",
        "platform_python_implementation": "CPython", "python_version": python,
        "python_full_version": python + ".0", "platform_version": "",
    }
    environment.update(PLATFORMS[platform]["marker"])
    return environment


def run_pip(platform, python, arguments):
    """``pip install --dry-run`` for the target, in a child process whose markers are the target's."""
    options = ["install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
               "--python-version", python, "--implementation", "cp", "--disable-pip-version-check",
               "--target", os.path.join(tempfile.gettempdir(), "deepprospect-platform-check")]
    for tag in PLATFORMS[platform]["tags"]:
        options += ["--platform", tag]
    program = (
        "import json, sys\n"
        "from pip._vendor.packaging import markers\n"
        "target = json.loads(sys.argv[1])\n"
        "markers.default_environment = lambda: dict(target)\n"
        "from pip._internal.cli.main import main\n"
        "sys.exit(main(sys.argv[2:]))\n")
    command = [sys.executable, "-c", program, json.dumps(marker_environment(platform, python))]
    # A constraint file in the host's pip configuration is about this machine's own installs, not
    # the lock (an empty PIP_CONSTRAINT would not override it; the empty file does).
    environment = dict(os.environ, PIP_CONSTRAINT=os.devnull, PIP_NO_INPUT="1")
    return subprocess.run(command + options + list(arguments), capture_output=True, text=True,
                          env=environment)


def resolve(platform, python, requirements):
    """(pins {name: version}, pip's output) of resolving requirement lines for the target."""
    with tempfile.TemporaryDirectory() as folder:
        request, report = Path(folder, "requirements.txt"), Path(folder, "report.json")
        request.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        result = run_pip(platform, python, ["-r", str(request), "--report", str(report)])
        output = result.stdout + result.stderr
        if result.returncode != 0:
            return None, output
        data = json.loads(report.read_text(encoding="utf-8"))
    wanted = marker_environment(platform, python)
    seen = {key: data["environment"].get(key) for key in wanted}
    if seen != wanted:  # the marker replacement did not take: the result would be the host's
        raise RuntimeError("pip evaluated markers for {} instead of {}".format(seen, wanted))
    pins = {_canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in data["install"]}
    return {name: version for name, version in pins.items() if name not in UNPINNED}, output


def lock_pins(platform, python, path=LOCK):
    """The lock's pins that apply to the target, evaluated as pip there would: {name: version}."""
    sys.path.insert(0, str(_pip_vendor()))
    from packaging.requirements import Requirement

    pins = {}
    environment = marker_environment(platform, python)
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            pins[_canonical(requirement.name)] = str(requirement.specifier).lstrip("=")
    return pins


def check(platform, python):
    """Resolve the lock for one target: ``(status, detail)`` with status PASS, FAIL or GAP."""
    gap = EXPECTED_GAPS.get((platform, python))
    pins, output = resolve(platform, python, ["-r " + str(LOCK)])
    if gap:
        if pins is not None:
            return "FAIL", "expected gap resolved: update the lock and EXPECTED_GAPS"
        if "requirement {}==".format(_tensorflow(platform)) not in output:
            return "FAIL", "fails, but not on the tensorflow pin: " + _last_error(output)
        tensorflow, _ = resolve(platform, python, [_tensorflow(platform) + ">=2.16"])
        if tensorflow is not None:
            return "FAIL", "a TensorFlow wheel exists now ({}): lock it".format(tensorflow)
        return "GAP", "expected: " + gap
    if pins is None:
        return "FAIL", _last_error(output)
    expected = lock_pins(platform, python)
    if pins != expected:
        extra = sorted(set(pins.items()) - set(expected.items()))
        missing = sorted(set(expected.items()) - set(pins.items()))
        return "FAIL", "resolved set differs from the lock: not locked {}, unused {}".format(extra, missing)
    return "PASS", "{} packages, {} {}".format(len(pins), _tensorflow(platform), pins[_tensorflow(platform)])


def generate_lock(caps=None, jobs=4):
    """Resolve TOP_LEVEL for every target (newest wheels, at most the versions in ``caps``)."""
    targets = [(p, v) for p in PLATFORMS for v in PYTHONS if (p, v) not in EXPECTED_GAPS]
    cap_lines = []
    if caps:
        for line in Path(caps).read_text(encoding="utf-8").splitlines():
            name, _, version = line.strip().partition("==")
            if version and _canonical(name) not in UNPINNED:
                cap_lines.append("{}<={}".format(name, version))

    with tempfile.TemporaryDirectory() as folder:
        constraints = Path(folder, "caps.txt")  # constraints, not requirements: caps install nothing
        constraints.write_text("\n".join(cap_lines) + "\n", encoding="utf-8")

        def one(target):
            pins, output = resolve(target[0], target[1], TOP_LEVEL + ["-c " + str(constraints)])
            print(*target, "resolved" if pins is not None else output, file=sys.stderr)
            return target, pins

        with ThreadPoolExecutor(jobs) as pool:
            resolved = dict(pool.map(one, targets))
    failed = [target for target, pins in resolved.items() if pins is None]
    if failed:
        raise SystemExit("no resolution for {}".format(failed))
    for platform, python in EXPECTED_GAPS:  # keep the failing pin, so pip says what is missing
        nearest = max((v for p, v in resolved if p == platform), key=PYTHONS.index)
        name = _tensorflow(platform)
        resolved[(platform, python)] = {name: resolved[(platform, nearest)][name]}
    return resolved


def format_lock(resolved):
    versions = {}  # name -> version -> set of targets
    for target, pins in resolved.items():
        for name, version in pins.items():
            versions.setdefault(name, {}).setdefault(version, set()).add(target)
    lines = []
    # TensorFlow first: pip reports the first requirement it cannot satisfy, and on an expected
    # gap that must be TensorFlow, not a package whose marker merely covers the gap.
    for name in sorted(versions, key=lambda name: (not name.startswith("tensorflow"), name)):
        for version, targets in sorted(versions[name].items(), key=lambda item: _order(item[1])):
            marker = _marker(targets)
            lines.append("{}=={}{}".format(name, version, "; " + marker if marker else ""))
    return lines


def _order(targets):
    return min((list(PLATFORMS).index(p), PYTHONS.index(v)) for p, v in targets)


def _marker(targets):
    """A short marker that is true on exactly these targets, among all PLATFORMS x PYTHONS.

    On an expected gap anything may apply: pip stops there on the TensorFlow pin, which comes
    first in the lock. So a version that reaches the Python below the gap is extended over it.
    """
    by_pythons = {}
    for platform in PLATFORMS:
        pythons = [v for v in PYTHONS if (platform, v) in targets]
        gaps = [v for p, v in EXPECTED_GAPS if p == platform and v not in pythons]
        pythons += [v for v in gaps if PYTHONS[PYTHONS.index(v) - 1] in pythons]
        if pythons:
            by_pythons.setdefault(tuple(sorted(pythons, key=PYTHONS.index)), []).append(platform)
    clauses = [(platforms, pythons) for pythons, platforms in by_pythons.items()]
    if len(clauses) == 2:  # "A on every Python, the other platforms on some": A or <pythons>
        (first, first_pythons), (second, second_pythons) = sorted(clauses, key=lambda c: -len(c[1]))
        if len(first_pythons) == len(PYTHONS) and len(first) + len(second) == len(PLATFORMS):
            platform = _platform_marker(first)
            platform = "(" + platform + ")" if " and " in platform else platform
            return "{} or {}".format(platform, _python_marker(second_pythons))
    parts = [[part for part in (_platform_marker(platforms), _python_marker(pythons)) if part]
             for platforms, pythons in clauses]
    if len(parts) == 1:
        return " and ".join(parts[0])
    return " or ".join("(" + " and ".join(part) + ")" for part in parts)


#: Names for the platform sets that occur, given the four platforms the lock covers.
_PLATFORM_SETS = {
    ("linux-x86_64", "macos-arm64", "macos-x86_64", "windows-x86_64"): "",
    ("linux-x86_64", "macos-arm64", "windows-x86_64"):
        '(sys_platform != "darwin" or platform_machine == "arm64")',
    ("linux-x86_64", "windows-x86_64"): 'sys_platform != "darwin"',
    ("macos-arm64", "macos-x86_64"): 'sys_platform == "darwin"',
}


def _platform_marker(platforms):
    key = tuple(sorted(platforms))
    if key in _PLATFORM_SETS:
        return _PLATFORM_SETS[key]
    if len(platforms) == 1:
        return PLATFORMS[platforms[0]]["lock_marker"]
    return "(" + " or ".join("(" + PLATFORMS[p]["lock_marker"] + ")" for p in platforms) + ")"


def _python_marker(pythons):
    if len(pythons) == len(PYTHONS):
        return ""
    runs, run = [], [pythons[0]]
    for version in pythons[1:]:
        if PYTHONS.index(version) == PYTHONS.index(run[-1]) + 1:
            run.append(version)
        else:
            runs.append(run)
            run = [version]
    runs.append(run)
    ranges = [_python_range(PYTHONS.index(run[0]), PYTHONS.index(run[-1])) for run in runs]
    return ranges[0] if len(ranges) == 1 else "(" + " or ".join("(" + r + ")" for r in ranges) + ")"


def _python_range(low, high):
    last = len(PYTHONS) - 1
    if low == high and 0 < low < last:
        return 'python_version == "{}"'.format(PYTHONS[low])
    parts = []
    if low > 0:
        parts.append('python_version >= "{}"'.format(PYTHONS[low]))
    # The newest bucket stays open above, so a newer Python fails on a clear pin, not silently.
    if high < last:
        parts.append('python_version < "{}"'.format(PYTHONS[high + 1]))
    return " and ".join(parts)


def _tensorflow(platform):
    return "tensorflow" if platform.startswith("macos") else "tensorflow-cpu"


def _canonical(name):
    return name.lower().replace("_", "-").replace(".", "-")


def _pip_vendor():
    import pip._vendor

    return Path(pip._vendor.__file__).parent


def _first_pin(lines):
    return next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), len(lines))


def _last_error(output):
    lines = [line for line in output.splitlines() if line.startswith("ERROR")]
    return (lines[0] if lines else output.strip().splitlines()[-1] if output.strip() else "pip failed")[:300]


def _main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("check")
    one.add_argument("platform", choices=sorted(PLATFORMS))
    one.add_argument("python", choices=PYTHONS)
    commands.add_parser("targets")
    generate = commands.add_parser("lock")
    generate.add_argument("--caps", help="a pip freeze: resolve no package newer than in it")
    generate.add_argument("--output", default="-")
    options = parser.parse_args(argv)
    if options.command == "targets":
        print("\n".join("{} {}".format(p, v) for p in PLATFORMS for v in PYTHONS))
        return 0
    if options.command == "check":
        status, detail = check(options.platform, options.python)
        print("{:<15} {:<5} {:<4} {}".format(options.platform, options.python, status, detail))
        return {"PASS": 0, "FAIL": 1, "GAP": 2}[status]
    text = "\n".join(format_lock(generate_lock(options.caps))) + "\n"
    if options.output != "-" and Path(options.output).exists():  # keep the file's comment header
        lines = Path(options.output).read_text(encoding="utf-8").splitlines(keepends=True)
        header = "".join(line for line in lines[:_first_pin(lines)])
        text = header + text
    if options.output == "-":
        sys.stdout.write(text)
    else:
        Path(options.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

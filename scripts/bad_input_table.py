#!/usr/bin/env python3
"""Write docs/bad_input.md from the bad-input tests: run the tests that use the ``bad_input``
fixture in both suites with ``DEEPPROSPECT_BAD_INPUT_LOG`` set, then tabulate what they recorded
(case → what DeepProspect does → the message the user reads). ``make bad-input-table``."""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QGIS_PYTHON = "/usr/bin/python3"
HEADER = """# Bad input: what DeepProspect says

Written by `make bad-input-table` from the tests that check each case
(`scripts/bad_input_table.py`); `tests/qgis/test_bad_input_table.py` fails when a tested case is
missing here. *error*: the run stops before writing anything and the message says what to fix;
*warning*: the run goes on with the safe behaviour and the log says so; *handled*: the input is
accepted and the result is right, with a line in the log.

| case | DeepProspect | what the user reads | test |
|---|---|---|---|
"""


def main():
    engine = subprocess.run([QGIS_PYTHON, str(ROOT / "engine_environment.py"), "python"], capture_output=True,
                            text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "cases.jsonl"
        environment = dict(os.environ, DEEPPROSPECT_BAD_INPUT_LOG=str(log), QT_QPA_PLATFORM="offscreen")
        for python, suite in ((engine, "tests/engine"), (QGIS_PYTHON, "tests/qgis")):
            completed = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "bad_input",
                                        suite], cwd=ROOT, env=environment)
            if completed.returncode not in (0, 5):      # 5: no test selected
                sys.exit("{} failed: fix the tests before writing the table.".format(suite))
        rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    seen, lines = set(), []
    for row in rows:
        if row["case"] in seen:
            continue
        seen.add(row["case"])
        lines.append("| {} | {} | {} | `{}` |".format(_cell(row["case"]), row["behaviour"], _cell(row["message"]),
                                                     row["where"].split("::")[0]))
    target = ROOT / "docs" / "bad_input.md"
    target.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print("{}: {} cases".format(target, len(lines)))


def _cell(text):
    # the tests' temporary folders and this checkout say nothing to a reader
    text = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/\s]+/", "…/", str(text))
    text = re.sub(r"/tmp/[^/\s]*deepprospect[^/\s]*/", "…/", text).replace(str(ROOT) + "/", "")
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    main()

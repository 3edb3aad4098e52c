"""The bad-input table of docs/bad_input.md, written from what the tests observe.

A bad-input test calls the ``bad_input`` fixture (both suites' conftests provide it) with the
case, what DeepProspect does (``"error"``, ``"warning"`` or ``"handled"``) and the message the
test just asserted. With ``DEEPPROSPECT_BAD_INPUT_LOG`` set, every call appends one JSON line
there; ``scripts/bad_input_table.py`` runs the marked tests that way and writes the table, so
the table shows the messages the code really gives. ``tests/qgis/test_bad_input_table.py``
checks that the table lists every case the tests name. Standard library and pytest only: both test
suites (QGIS's Python and the engine's) import it, the fixture and the marker hooks with it.
"""
import json
import os

import pytest

BEHAVIOURS = ("error", "warning", "handled")


def record(case, behaviour, message, where=""):
    """Note that ``case`` gives ``behaviour`` with ``message`` (asserted by the calling test)."""
    if behaviour not in BEHAVIOURS:
        raise ValueError("behaviour must be one of {}".format(BEHAVIOURS))
    if not case or not message:
        raise ValueError("a bad-input case needs a name and the message the user sees")
    path = os.environ.get("DEEPPROSPECT_BAD_INPUT_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(dict(case=case, behaviour=behaviour, message=str(message), where=where)) + "\n")


class Recorder:
    """The ``bad_input`` fixture: ``bad_input(case, behaviour, message)``."""

    def __init__(self, where):
        self.where = where

    def __call__(self, case, behaviour, message):
        record(case, behaviour, message, self.where)


@pytest.fixture
def bad_input(request):
    """Record a bad-input case for docs/bad_input.md."""
    return Recorder(request.node.nodeid)


def pytest_collection_modifyitems(config, items):
    # ``-m bad_input`` selects the tests behind docs/bad_input.md (scripts/bad_input_table.py)
    for item in items:
        if "bad_input" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.bad_input)


def pytest_configure(config):
    config.addinivalue_line("markers", "bad_input: a bad-input case recorded for docs/bad_input.md")

"""The bad-input table of docs/bad_input.md, written from what the tests observe.

A bad-input test calls the ``bad_input`` fixture (both suites' conftests provide it) with the
case, what DeepProspect does (``"error"``, ``"warning"`` or ``"handled"``) and the message the
test just asserted. With ``DEEPPROSPECT_BAD_INPUT_LOG`` set, every call appends one JSON line
there; ``scripts/bad_input_table.py`` runs the marked tests that way and writes the table, so
the table shows the messages the code really gives. ``tests/qgis/test_bad_input_table.py``
checks that the table and the tests name the same cases. Standard library only: both test
suites (QGIS's Python and the engine's) import it.
"""
import json
import os

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

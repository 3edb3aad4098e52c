"""docs/bad_input.md lists every case the bad-input tests name (the table is written from the
tests by ``make bad-input-table``; this catches a case added or renamed without rewriting it)."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TABLE = ROOT / "docs" / "bad_input.md"


def cases_named_in_tests():
    cases = set()
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "bad_input" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                cases.add(" ".join(node.args[0].value.split()))
    return cases


def table_cases():
    rows = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if line.startswith("| ")][1:]
    return {re.split(r"(?<!\\)\|", row)[1].strip().replace("\\|", "|") for row in rows}


def test_the_table_lists_every_tested_case():
    """Every case named by a literal in a test is in the table (cases built in parametrized tests
    cannot be read statically; the table holds them because it is written from the runs)."""
    cases, table = cases_named_in_tests(), table_cases()
    assert len(cases) >= 10 and len(table) >= len(cases)
    assert sorted(cases - table) == [], "run `make bad-input-table`"

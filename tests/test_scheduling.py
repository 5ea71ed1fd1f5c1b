"""Slow suites run first, so that ``-n 2`` ends with both workers busy (harness/plugin.py)."""
import subprocess
import sys
from pathlib import Path

from harness.plugin import run_slow_first

ROOT = Path(__file__).resolve().parent.parent


class Item:
    def __init__(self, name: str, slow: bool):
        self.name, self.slow = name, slow

    def get_closest_marker(self, name: str):
        return object() if self.slow and name == "nnconform_slow" else None


def test_slow_items_move_to_the_front_and_every_other_order_is_kept():
    items = [Item("a", False), Item("s1", True), Item("b", False), Item("s2", True),
             Item("c", False)]
    run_slow_first(items)
    assert [i.name for i in items] == ["s1", "s2", "a", "b", "c"]


def test_the_training_scenarios_are_collected_before_the_layers():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "suites/test_linear.py", "suites/test_scenarios.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    files = [i.split("::")[0] for i in ids]
    n_scenarios = files.count("suites/test_scenarios.py")
    assert n_scenarios > 0 and files.count("suites/test_linear.py") > 0
    assert set(files[:n_scenarios]) == {"suites/test_scenarios.py"}

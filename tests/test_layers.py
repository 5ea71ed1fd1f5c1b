"""The one-way dependencies of docs/DESIGN: enforced with import-linter, plus a direct scan that
the reference imports nothing but NumPy and the standard library."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_IN_REFERENCE = {"numpy", "reference"} | set(sys.stdlib_module_names)


def _lint_imports() -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    return subprocess.run([exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True)


def test_import_linter_contracts_hold():
    proc = _lint_imports()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 4 kept, 0 broken" in proc.stdout, proc.stdout


def test_reference_imports_only_numpy_and_stdlib():
    offenders = []
    for path in (ROOT / "reference").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.split(".")[0] not in ALLOWED_IN_REFERENCE]
    assert not offenders, offenders


def test_the_linter_does_fail_on_a_broken_contract(tmp_path):
    """Guard against a check that cannot fail: a contract the code breaks must be reported."""
    cfg = tmp_path / "broken.toml"
    cfg.write_text('[tool.importlinter]\nroot_packages = ["harness", "reference"]\n'
                   '[[tool.importlinter.contracts]]\nname = "deliberately broken"\n'
                   'type = "forbidden"\nsource_modules = ["harness"]\n'
                   'forbidden_modules = ["reference"]\n')
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    proc = subprocess.run([exe, "--config", str(cfg), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "BROKEN" in proc.stdout

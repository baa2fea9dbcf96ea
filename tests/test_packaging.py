"""Import cost and installation from a wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from .conftest import DATA, ROOT


def test_import_is_light():
    code = (
        "import sys, shdata; heavy = [m for m in ('matplotlib', 'seaborn', 'papermill', 'pandas', "
        "'nbformat') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_wheel_ships_the_data_and_loads_outside_the_repository(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheel_dir),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(wheel_dir.glob("shdata-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for csv in DATA.glob("*.csv"):
        assert f"shdata/data/{csv.name}" in names
    assert "shdata/data/datapackage.json" in names
    # quotes and sentences travel with the wheel; the full report text need not
    assert "shdata/data/provenance.json" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import shdata; p = shdata._pkg(); assert 'site' in str(p.data_dir), p.data_dir; "
        "assert '4900' in shdata.trace('nsfc_projects_by_programme', 'Total', 'projects').quote; "
        "print(len(shdata.tables()), shdata.load('nsfc_projects_by_programme')['projects'].sum())"
    )
    env = {"PYTHONPATH": str(site), "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    n_tables, _ = out.stdout.split()
    assert int(n_tables) == len(list(DATA.glob("*.csv")))


def test_every_package_shdata_imports_is_declared():
    """Each third-party module that shdata/ imports belongs to a distribution pyproject.toml names
    (the core dependencies or an extra), not merely to one that another package happens to bring."""
    import ast
    import importlib.metadata
    import re
    import sys
    import tomllib

    imported: dict[str, str] = {}
    for path in sorted((ROOT / "shdata").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "shdata":
                    imported.setdefault(top, path.name)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    normal = lambda name: re.sub(r"[-_.]+", "-", name).lower()
    declared = {normal(re.match(r"[A-Za-z0-9_.-]+", r).group()) for r in requirements}  # type: ignore[union-attr]
    owners = importlib.metadata.packages_distributions()
    undeclared = {
        module: (where, owners.get(module))
        for module, where in imported.items()
        if not {normal(d) for d in owners.get(module, [module])} & declared
    }
    assert imported and not undeclared, f"imported by shdata but not declared in pyproject.toml: {undeclared}"

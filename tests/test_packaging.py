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

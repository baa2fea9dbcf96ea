"""`shdata diff`: figures that differ from a git revision, in a temporary git repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from shdata.cli import main

PIL = pytest.importorskip("PIL.Image")


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def _png(path: Path, box: tuple[int, int, int, int] | None = None) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (400, 200), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 20, 120, 180), fill=(0, 114, 178))
    if box:
        draw.rectangle(box, fill=(0, 114, 178))
    img.save(path)


def _figure(folder: Path, fid: str, data_sha: str = "a" * 64, box=None, csv: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _png(folder / f"{fid}.png", box)
    rec = {"id": fid, "title": f"Title of {fid}", "provenance": {"data_sha256": data_sha}}
    (folder / f"{fid}.json").write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
    if csv is not None:
        (folder / f"{fid}.csv").write_text(csv, encoding="utf-8")


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A project with four committed figures: a (to change), c (to remove), d (unchanged), e (csv changes)."""
    root = tmp_path / "proj"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    en = root / "figures" / "en"
    for fid in ("a", "c", "d"):
        _figure(en, fid)
    _figure(en, "e", csv="label,value\nx,1\ny,2\n")
    (root / "figures" / "manifest.json").write_text("{}\n", encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "figures")
    monkeypatch.chdir(root)
    return root


def test_diff_reports_changed_added_removed_and_writes_review_files(repo, capsys):
    en = repo / "figures" / "en"
    _figure(en, "a", data_sha="b" * 64, box=(200, 100, 260, 180))  # new bar, new data
    _figure(en, "b")  # added
    for f in en.glob("c.*"):
        f.unlink()  # removed
    _figure(en, "e", csv="label,value\nx,1\ny,3\n")  # only the values drawn change

    assert main(["diff"]) == 0
    out = capsys.readouterr().out
    assert "HEAD -> working tree: 2 changed, 1 added, 1 removed." in out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("  ")}
    assert set(lines) == {"en/a", "en/b", "en/c", "en/e"}, "the unchanged figure d is not listed"
    assert lines["en/a"].split()[0] == "changed" and "data changed" in lines["en/a"]
    assert lines["en/b"].split()[0] == "added" and lines["en/c"].split()[0] == "removed"
    assert "csv" in lines["en/e"] and "data changed" in lines["en/e"]

    diff = repo / "build" / "diff" / "en"
    img = PIL.open(diff / "a.png").convert("RGB")
    assert img.size[0] > 3 * 400 * 0.99 and img.size[1] > 200, "three panels side by side"
    third = img.crop((2 * img.size[0] // 3, 28, img.size[0], img.size[1]))
    assert (213, 94, 0) in {c for _, c in third.getcolors(1 << 20)}, "changed pixels are highlighted"
    data = (diff / "a.diff").read_text(encoding="utf-8")
    assert '-  "data_sha256": "' + "a" * 64 in data and '+  "data_sha256": "' + "b" * 64 in data
    assert "-y,2" in (diff / "e.diff").read_text(encoding="utf-8")
    assert (diff / "b.png").is_file() and (diff / "c.png").is_file()
    assert not (diff / "d.png").exists()
    assert "2 changed, 1 added, 1 removed" in (repo / "build" / "diff" / "summary.txt").read_text(encoding="utf-8")


def test_diff_against_an_older_revision_and_replaces_the_previous_comparison(repo, capsys):
    _figure(repo / "figures" / "en", "a", box=(200, 100, 260, 180))
    assert main(["diff"]) == 0
    assert (repo / "build" / "diff" / "en" / "a.png").exists()
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "new bar")
    capsys.readouterr()
    assert main(["diff"]) == 0
    out = capsys.readouterr().out
    assert "0 changed, 0 added, 0 removed" in out
    assert not (repo / "build" / "diff" / "en").exists(), "no stale images from the previous comparison"
    assert main(["diff", "HEAD~1"]) == 0
    assert "1 changed" in capsys.readouterr().out


def test_bad_revision_is_one_line_and_keeps_the_previous_comparison(repo, capsys):
    _figure(repo / "figures" / "en", "a", box=(200, 100, 260, 180))
    assert main(["diff"]) == 0
    capsys.readouterr()
    assert main(["diff", "no-such-branch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown revision 'no-such-branch'" in err
    assert (repo / "build" / "diff" / "en" / "a.png").exists()

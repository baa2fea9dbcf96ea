"""The disk cache of PDF subsetting's lean fonts (shdata._fontcache): same bytes, keyed by content, never an error."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from shdata import _fontcache, render

#: A long module: sent to the workers first, so that the session ends on short ones (tests/conftest.py).
pytestmark = pytest.mark.long

matplotlib = pytest.importorskip("matplotlib")

DEJAVU = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"

#: Writes the PDF, SVG and PNG of an English and a Chinese figure (DejaVu Sans through its
#: few-glyph copy, the bundled Noto CJK faces through their lean copies) and prints their sha256.
FIGURES = """
import hashlib
from matplotlib.figure import Figure
from shdata import render, style
style.register_fonts()
meta = render.Metadata(title="t", caption="c", provenance="{}")
for lang in ("en", "zh"):
    style.apply(lang)
    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.bar(["上海", "Beijing"], [1, 2])
    ax.set_title("科技 Science 1,234" if lang == "zh" else "Science – 1,234 (¥ bn)", fontweight="bold")
    for fmt, data in render.render_all(fig, ("pdf", "svg", "png"), meta, 150).items():
        print(lang, fmt, hashlib.sha256(data).hexdigest())
"""


def forget() -> None:
    """Empty render's in-process font caches: the next lookup reaches the disk cache."""
    for f in (render._lean_font, render._lean_font_of, render._common_gids, render._few_glyphs):
        f.cache_clear()


@pytest.fixture(autouse=True)
def empty_font_caches():
    """Every test starts and ends with render's in-process caches empty."""
    forget()
    yield
    forget()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A fresh cache root for this test; returns the folder its entries go to."""
    monkeypatch.setenv("SHDATA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "fonts"


def entries(folder: Path) -> dict[str, int]:
    """Entry file name → modification time (ns)."""
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("*.bin"))} if folder.is_dir() else {}


def figures_in_fresh_process(cache_root: str) -> str:
    env = {**os.environ, "SHDATA_CACHE_DIR": cache_root}
    done = subprocess.run([sys.executable, "-c", FIGURES], capture_output=True, text=True, env=env, check=True)
    assert done.stderr == ""  # no warning either
    return done.stdout


def test_files_are_the_same_bytes_with_an_empty_a_filled_and_an_unwritable_cache(tmp_path):
    folder = tmp_path / "cache" / "fonts"
    empty = figures_in_fresh_process(str(tmp_path / "cache"))
    written = entries(folder)
    assert sorted({name.split("-")[0] for name in written}) == ["few", "lean"]
    filled = figures_in_fresh_process(str(tmp_path / "cache"))
    assert entries(folder) == written  # read, not made and written again
    (tmp_path / "a-file").write_text("")  # its "fonts" folder can never be made
    unwritable = figures_in_fresh_process(str(tmp_path / "a-file"))
    assert len(empty.splitlines()) == 6
    assert filled == empty
    assert unwritable == empty


def test_a_value_read_from_the_cache_is_the_value_made(cache):
    made = render._lean_font(str(DEJAVU), 0), render._few_glyphs(str(DEJAVU), 0)
    assert len(entries(cache)) == 2
    forget()
    read = render._lean_font(str(DEJAVU), 0), render._few_glyphs(str(DEJAVU), 0)
    assert read == made
    assert read[1] is not None and made[1] is not None
    assert list(read[1][1].items()) == list(made[1][1].items())  # the glyph map in the same order too
    font = _fontcache.FontFile.read(DEJAVU)
    assert read[0] == render._make_lean_font(font.data, 0)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b[:-100] + bytes([b[-100] ^ 1]) + b[-99:],  # one bit of the font flipped
        lambda b: b + b"\0",  # longer than its header says
        lambda b: b"",
        lambda b: b"\x89PNG\r\n\x1a\n" + b"\0" * 64,  # some other file
        lambda b: b.replace(b'"format":1', b'"format":99', 1),
    ],
    ids=["truncated", "bit-flipped", "too-long", "empty", "foreign", "other-format"],
)
def test_a_damaged_entry_is_ignored_and_repaired(cache, damage):
    made = render._lean_font(str(DEJAVU), 0)
    (entry,) = cache.glob("lean-*.bin")
    good = entry.read_bytes()
    entry.write_bytes(damage(good))
    forget()
    assert render._lean_font(str(DEJAVU), 0) == made
    assert entry.read_bytes() == good


def test_a_whole_entry_of_the_wrong_shape_is_a_miss(cache):
    font = _fontcache.FontFile.read(DEJAVU)
    key = _fontcache.entry_key("few", font, 0, render._recipe())
    _fontcache.write_entry(cache, "few", key, {"type": "few", "gids": [[1, True]]}, b"not a font")
    made = render._few_glyphs(str(DEJAVU), 0)
    assert made is not None and made[0] != b"not a font"
    assert _fontcache.read_entry(cache, "few", key) == (
        {"type": "few", "gids": [[k, v] for k, v in made[1].items()]},
        made[0],
    )


def test_a_font_edited_in_place_gets_a_new_entry(cache, tmp_path):
    font = tmp_path / "font.ttf"
    font.write_bytes(DEJAVU.read_bytes())
    before = render._lean_font(str(font), 0)
    # Same path, same size, same modification time; one letter of the family name changed.
    stat = font.stat()
    data = font.read_bytes()
    edited = data.replace("DejaVu".encode("utf-16-be"), "FejaVu".encode("utf-16-be"), 1)
    assert edited != data and len(edited) == len(data)
    font.write_bytes(edited)
    os.utime(font, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    render._lean_font.cache_clear()
    after = render._lean_font(str(font), 0)
    assert after != before
    assert after == render._make_lean_font(edited, 0)
    assert len(list(cache.glob("lean-*.bin"))) == 2


def test_the_key_changes_with_every_input(monkeypatch):
    import fontTools

    font = _fontcache.FontFile.read(DEJAVU)
    recipe = render._recipe()
    key = _fontcache.entry_key("lean", font, 0, recipe)
    assert key == _fontcache.entry_key("lean", _fontcache.FontFile.read(DEJAVU), 0, render._recipe())
    others = {
        _fontcache.entry_key("few", font, 0, recipe),
        _fontcache.entry_key("lean", font, 1, recipe),
        _fontcache.entry_key("lean", _fontcache.FontFile(hashlib.sha256(b"x").hexdigest(), b"x"), 0, recipe),
        _fontcache.entry_key("lean", font, 0, recipe + " "),
    }
    monkeypatch.setattr(fontTools, "version", fontTools.version + ".post1")
    others.add(_fontcache.entry_key("lean", font, 0, recipe))
    assert key not in others and len(others) == 5


@pytest.mark.parametrize(
    "name, value",
    [
        ("_PDF_UNUSED_TABLES", (*render._PDF_UNUSED_TABLES, "kern")),
        ("LEAN_RANGES", ((0x20, 0x7E),)),
        ("LEAN_MIN_GLYPHS", 3000),
        ("LEAN_FONT_VERSION", render.LEAN_FONT_VERSION + 1),
    ],
)
def test_the_recipe_changes_with_each_subsetting_choice(monkeypatch, name, value):
    before = render._recipe()
    monkeypatch.setattr(render, name, value)
    assert render._recipe() != before


def test_the_recipe_changes_with_the_options_and_the_code(monkeypatch):
    before = render._recipe()
    options = render._subset_options

    def with_hinting_off():
        o = options()
        o.hinting = False
        return o

    monkeypatch.setattr(render, "_subset_options", with_hinting_off)
    assert render._recipe() != before
    monkeypatch.setattr(render, "_subset_options", options)
    assert render._recipe() == before
    monkeypatch.setattr(render, "_make_lean_font", lambda data, face_index: data)
    assert render._recipe() != before


def test_an_unwritable_cache_folder_still_renders_the_same_bytes_without_a_warning(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    meta = render.Metadata(title="t", caption="c", provenance="{}")

    def pdf() -> bytes:
        fig = Figure(figsize=(3, 2))
        fig.add_subplot().set_title("Science – 1,234")
        return render.render(fig, "pdf", meta, 150)

    monkeypatch.setenv("SHDATA_CACHE_DIR", "")  # no cache
    assert _fontcache.cache_dir() is None
    expected = pdf()
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("SHDATA_CACHE_DIR", str(tmp_path / "a-file"))
    forget()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pdf() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_none_and_the_glyph_map_order_come_back_as_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("SHDATA_CACHE_DIR", str(tmp_path))
    font = _fontcache.FontFile(hashlib.sha256(b"font").hexdigest(), b"font")

    def never():
        raise AssertionError("made again instead of read")

    assert _fontcache.few_glyphs(font, 0, lambda: "a", lambda: None) is None
    assert _fontcache.few_glyphs(font, 0, lambda: "a", never) is None
    made = (b"x\ny", {7: 0, 3: 1, 0: 2})
    assert _fontcache.few_glyphs(font, 0, lambda: "b", lambda: made) == made
    value = _fontcache.few_glyphs(font, 0, lambda: "b", never)
    assert value is not None and list(value[1].items()) == [(7, 0), (3, 1), (0, 2)] and value[0] == b"x\ny"


def test_an_error_making_the_value_is_the_callers_and_nothing_is_stored(cache):
    font = _fontcache.FontFile(hashlib.sha256(b"font").hexdigest(), b"font")

    def broken():
        raise ValueError("not a font")

    with pytest.raises(ValueError, match="not a font"):
        _fontcache.lean_font(font, 0, lambda: "r", broken)
    assert entries(cache) == {}


def test_a_recipe_that_fails_means_no_cache_not_an_error(cache):
    font = _fontcache.FontFile(hashlib.sha256(b"x").hexdigest(), b"x")

    def recipe() -> str:
        raise TypeError("a recipe that cannot be made")

    assert _fontcache.lean_font(font, 0, recipe, lambda: b"made") == b"made"
    assert entries(cache) == {}


def test_entries_written_at_once_are_read_whole_or_not_at_all(cache):
    data = os.urandom(1 << 20)
    key = "0" * 64
    seen: list[tuple | None] = []

    def write() -> None:
        for _ in range(20):
            _fontcache.write_entry(cache, "lean", key, {"n": 1}, data)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    while any(w.is_alive() for w in writers):
        seen.append(_fontcache.read_entry(cache, "lean", key))
    assert all(s is None or s == ({"n": 1}, data) for s in seen)
    # Once an entry is there it stays whole: a writer replaces it, never rewrites it in place.
    first = next((i for i, s in enumerate(seen) if s is not None), len(seen))
    assert all(s is not None for s in seen[first:]), "an entry was read half-written"
    assert _fontcache.read_entry(cache, "lean", key) == ({"n": 1}, data)
    assert [p.name for p in cache.iterdir()] == [f"lean-{key}.bin"]  # no temporary file left


def test_the_cache_goes_under_matplotlibs_cache_folder_unless_told(monkeypatch, tmp_path):
    monkeypatch.delenv("SHDATA_CACHE_DIR", raising=False)
    assert _fontcache.cache_dir() == Path(matplotlib.get_cachedir()) / "shdata" / "fonts"
    monkeypatch.setenv("SHDATA_CACHE_DIR", str(tmp_path))
    assert _fontcache.cache_dir() == tmp_path / "fonts"


def test_importing_shdata_does_nothing_of_the_cache(tmp_path):
    code = (
        "import sys, shdata, shdata.render, shdata.notebook; "
        "print(sorted(m for m in ('shdata._fontcache', 'fontTools', 'tempfile') if m in sys.modules))"
    )
    env = {**os.environ, "SHDATA_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(done.stdout.replace("'", '"')) == []
    assert not (tmp_path / "cache").exists()

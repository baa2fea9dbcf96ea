"""The figure manifest: ``figures/manifest.json`` and its CSV twin.

Built from the JSON sidecar that :func:`shdata.notebook.Params.publish` writes
beside every figure, so it always describes the files actually present. It is
rewritten deterministically (sorted, no timestamps) and only when its content
changes, so an unchanged build leaves it byte-identical.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from pathlib import Path, PurePosixPath

from . import __version__
from ._io import write_json, write_text

VARIANTS = ("journal", "standalone")

# Files under figures/ that the build itself writes (not a notebook run), as
# patterns relative to figures/. Steps that add such files register them here so
# that the build's clean-up keeps them and the consistency test accounts for them.
BUILD_OUTPUTS: list[str] = ["manifest.json", "manifest.csv", "contact-sheet-*.png", "datapackage.json"]


def register_build_output(pattern: str) -> None:
    """Declare a build-level file under ``figures/`` (a pattern relative to it, e.g. ``"index.html"``)."""
    if pattern not in BUILD_OUTPUTS:
        BUILD_OUTPUTS.append(pattern)


def is_build_output(rel: str) -> bool:
    """Whether ``rel`` (relative to ``figures/``) is a registered build-level output."""
    return any(fnmatch.fnmatchcase(rel, pat) for pat in BUILD_OUTPUTS)


def listed_files(m: dict) -> set[str]:
    """Every file (relative to ``figures/``) a manifest accounts for: figure files and their sidecars."""
    out = set()
    for e in m.get("figures", []):
        for f in e.get("files", []):
            out.add(f["path"])
            out.add(str(PurePosixPath(f["path"]).parent / f"{e['id']}.json"))  # its sidecar, beside it
    return out


def unaccounted(figures_dir: Path) -> tuple[list[str], list[str]]:
    """Compare ``figures/`` with its manifest.

    Returns
    -------
    (extra, missing) : tuple of lists
        Files under ``figures/`` that neither the manifest nor the build-level
        outputs account for, and files the manifest lists that are absent.
    """
    figures_dir = Path(figures_dir)
    m = load_manifest(figures_dir / "manifest.json")
    listed = listed_files(m)
    present = {p.relative_to(figures_dir).as_posix() for p in figures_dir.rglob("*") if not p.is_dir()}
    extra = sorted(p for p in present if p not in listed and not is_build_output(p))
    missing = sorted(p for p in listed if p not in present)
    return extra, missing


def collect(figures_dir: Path) -> list[dict]:
    """One entry per figure id, merging its languages and variants.

    Journal sidecars are ``<lang>/<id>.json``, standalone ones
    ``<lang>/standalone/<id>.json``; each file entry names its ``variant``, and
    ``variants`` lists the variants present. Ids, titles and sections come from
    the journal record when there is one, so citations of an id do not change.
    """
    by_id: dict[str, dict] = {}
    sides = sorted(figures_dir.glob("*/*.json")) + sorted(figures_dir.glob("*/standalone/*.json"))
    for side in sides:
        rec = json.loads(side.read_text(encoding="utf-8"))
        lang = rec["lang"]
        variant = rec.get("variant", "journal")
        e = by_id.setdefault(
            rec["id"],
            {
                "id": rec["id"],
                "notebook": rec["notebook"],
                "title": {},
                "caption": {},
                "notes": {},
                "headline": {},
                "alt": {},
                "params": {},
                "files": [],
                "sources": rec["provenance"]["sources"],
                "data_sha256": rec["provenance"]["data_sha256"],
                "shdata_version": rec["provenance"]["shdata_version"],
                "derived": rec.get("derived", False),
            },
        )
        e.setdefault("variants", [])
        if variant not in e["variants"]:
            e["variants"].append(variant)
        if rec.get("waivers"):
            e.setdefault("waivers", {})[lang] = rec["waivers"]
        if variant == "standalone":
            e.setdefault("standalone", {})[lang] = rec.get("standalone", {})
        if variant == "journal" or lang not in e["title"]:
            e["title"][lang] = rec["title"]
            e["caption"][lang] = rec["caption"]
            e["notes"][lang] = rec["notes"]
            e["params"][lang] = rec["params"]
            e["headline"][lang] = rec.get("headline", "")
            e["alt"][lang] = rec.get("alt", "")
        for fmt, f in sorted(rec["files"].items()):
            e["files"].append(
                {"lang": lang, "format": fmt, "path": f["path"], "sha256": f["sha256"], "variant": variant}
            )
    for e in by_id.values():
        e["variants"] = [v for v in VARIANTS if v in e["variants"]]
        e["files"].sort(key=lambda f: (f["lang"], VARIANTS.index(f["variant"]), f["format"]))
        e["sections"] = list(dict.fromkeys(s["section"] for s in e["sources"]))
    return [by_id[k] for k in sorted(by_id)]


def manifest(figures_dir: Path) -> dict:
    return {
        "description": "Figures built by shdata from the Shanghai Science and Technology Progress Report 2023 "
        "(2023上海科技进步报告). Cite with `shdata cite FIGURE_ID`.",
        "shdata_version": __version__,
        "figures": collect(figures_dir),
    }


def manifest_csv(m: dict) -> str:
    cols = [
        "id",
        "lang",
        "notebook",
        "title",
        "caption",
        "source_tables",
        "sections",
        "data_sha256",
        "shdata_version",
        "png",
        "png_sha256",
        "svg",
        "svg_sha256",
        "pdf",
        "pdf_sha256",
        "csv",
        "csv_sha256",
        "variant",
        "headline",
        "alt",
    ]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for e in m["figures"]:
        for lang in sorted(e["title"]):
            for variant in e.get("variants", ["journal"]):
                files = {
                    f["format"]: f for f in e["files"] if f["lang"] == lang and f.get("variant", "journal") == variant
                }
                if not files:
                    continue
                row = [
                    e["id"],
                    lang,
                    e["notebook"],
                    e["title"][lang],
                    e["caption"][lang],
                    ";".join(s["table"] for s in e["sources"]),
                    ";".join(e["sections"]),
                    e["data_sha256"],
                    e["shdata_version"],
                ]
                for fmt in ("png", "svg", "pdf", "csv"):
                    row += [files[fmt]["path"], files[fmt]["sha256"]] if fmt in files else ["", ""]
                w.writerow(row + [variant, e.get("headline", {}).get(lang, ""), e.get("alt", {}).get(lang, "")])
    return buf.getvalue()


def write_manifest(project) -> dict:
    """Write ``figures/manifest.json`` and ``figures/manifest.csv`` (atomically, only on change)."""
    figures = Path(project.figures)
    figures.mkdir(parents=True, exist_ok=True)
    m = manifest(figures)
    write_json(figures / "manifest.json", m, only_if_changed=True)
    from .figdata import write_package

    write_package(figures)  # figures/datapackage.json: every figure's data CSV
    write_text(figures / "manifest.csv", manifest_csv(m), only_if_changed=True)
    return m


def load_manifest(path: Path) -> dict:
    from .errors import ShdataError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShdataError(f"figure manifest not found: {path}; run `shdata build` first") from None
    except json.JSONDecodeError as exc:
        raise ShdataError(f"{path}: malformed JSON at line {exc.lineno}: {exc.msg}") from None

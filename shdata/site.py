"""The static site: a citable page per figure and per table, in English and Chinese.

``shdata site`` (and the last step of ``shdata build``) writes ``build/site/``::

    index.html                 gallery (English); zh/index.html in Chinese
    figures/<id>.html          one page per figure     (zh/figures/<id>.html)
    tables/index.html          every table             (zh/tables/...)
    tables/<id>.html           one page per table
    notebooks/<name>.html      the executed notebooks, rendered by nbconvert
    files/<lang>/...           figure files (PNG, SVG, PDF per variant), figure data CSV, thumbnails
    data/<table>.csv           the tables, byte for byte, and datapackage.json
    assets/site.css, site.js   the only style and script; nothing is fetched from the network

Pages are rendered with Jinja2 from the templates in ``shdata/site_templates/``;
every link is relative, so the folder works from ``file://`` and from any static
host. Output is deterministic (sorted, no timestamps).

Incremental
-----------
Each output has a fingerprint of exactly what it is made from (the site code and
templates, the sidecars of its figure, the descriptor entries and hashes of its
tables, the executed notebook...), kept in ``build/site/.state.json``. A rebuild
renders only outputs whose fingerprint changed or whose file is missing, and
removes outputs that are no longer produced; with nothing changed it reads a few
small files and writes nothing. Every file is written atomically, and a page
that fails to render keeps its previous version (the build then reports it).

Notebook narrative in two languages
-----------------------------------
A Markdown cell tagged ``lang-en`` is shown only in the English rendering, one
tagged ``lang-zh`` only in the Chinese; untagged cells show in both. The
injected-parameters cell is shown as a user passes the parameters (the build's
staging folder is replaced by the default ``output_dir``), and the project's
absolute path is removed from every rendering.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import __version__
from ._io import atomic_path, write_json
from .errors import ShdataError

if TYPE_CHECKING:  # annotations only: importing these at import time is what the lazy properties avoid
    import jinja2

    from .checks import CheckResult
    from .package import Package

LANGS = ("en", "zh")
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
TEMPLATES = Path(__file__).resolve().parent / "site_templates"
FONTS = Path(__file__).resolve().parent / "fonts"
WEB_FONTS = ("NotoSansCJKsc-Regular-subset.ttf", "OFL.txt")
STATE = ".state.json"
THUMB_WIDTH = 560
TOPIC_ORDER = ("funding", "talent", "rankings", "yangtze_delta", "outputs")
LANG_TAGS = {"en": "lang-en", "zh": "lang-zh"}
# Figure files offered for download, in this order.
DOWNLOAD_FORMATS = ("png", "svg", "pdf")


class SiteError(ShdataError):
    """The site cannot be built (no figures, a page that fails to render)."""


@dataclass
class Output:
    """One file of the site: where it goes, what it is made from, how to make it."""

    path: str  # relative to the site folder, posix
    inputs: list[Any]  # what the fingerprint covers (JSON-serialisable)
    make: Callable[[], bytes]


@dataclass
class SiteResult:
    folder: Path
    written: list[str] = field(default_factory=list)  # rendered, and different from the file in place
    rendered: int = 0  # outputs whose inputs changed (or missing files)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str:
    return _sha(path.read_bytes())


def _code_fingerprint() -> str:
    """The site's code and templates, and the package facts its citations print."""
    from .cite import package_info

    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for p in [here / "site.py", here / "cite.py", here / "figdata.py", *sorted(TEMPLATES.rglob("*"))]:
        if p.is_file():
            h.update(str(p.relative_to(here)).encode() + b"\0" + p.read_bytes() + b"\0")
    h.update(json.dumps(package_info(), sort_keys=True).encode())
    h.update(__version__.encode())
    return h.hexdigest()


def _png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise SiteError(f"{path}: not a PNG file")
    return struct.unpack(">II", head[16:24])


# -- inputs -------------------------------------------------------------------------


@dataclass
class Figure:
    id: str
    records: dict[str, dict]  # lang -> sidecar record
    sidecar_sha: dict[str, str]  # lang -> sha256 of the sidecar bytes

    def rec(self, lang: str) -> dict:
        return self.records.get(lang) or next(iter(self.records.values()))

    @property
    def sources(self) -> list[str]:
        return [s["table"] for s in self.rec("en")["provenance"]["sources"]]


def read_figures(figures_dir: Path) -> dict[str, Figure]:
    """Every figure of ``figures/<lang>/<id>.json`` (sidecars), by id."""
    out: dict[str, Figure] = {}
    for side in sorted(Path(figures_dir).glob("*/*.json")):
        data = side.read_bytes()
        try:
            rec = json.loads(data)
        except json.JSONDecodeError as exc:
            raise SiteError(f"{side}: malformed JSON at line {exc.lineno}: {exc.msg}; rebuild the figure") from None
        if not isinstance(rec, dict) or "id" not in rec or "provenance" not in rec:
            continue
        if rec.get("variant") not in (None, "", "default", "journal"):
            continue  # a variant's own sidecar: its files are offered on the figure's page (see _variants)
        fig = out.setdefault(rec["id"], Figure(rec["id"], {}, {}))
        fig.records[rec["lang"]] = rec
        fig.sidecar_sha[rec["lang"]] = _sha(data)
    return dict(sorted(out.items()))


def _variants(figures_dir: Path, rec: dict) -> list[dict]:
    """Downloadable variants of a figure in one language: [{name, files: {fmt: path}}].

    The journal figure comes from the sidecar's ``files``; a ``variants`` mapping
    in the sidecar (``{name: {fmt: {path, ...}}}``) adds named variants; files in
    ``figures/<lang>/standalone/<id>.<fmt>`` form the standalone variant.
    """
    lang = rec["lang"]
    found = {"default": {f: v["path"] for f, v in rec.get("files", {}).items() if f in DOWNLOAD_FORMATS}}
    for name, files in sorted((rec.get("variants") or {}).items()):
        if isinstance(files, dict):
            paths = {f: (v["path"] if isinstance(v, dict) else v) for f, v in files.items() if f in DOWNLOAD_FORMATS}
            if name in ("default", "journal"):
                found["default"].update(paths)
            elif paths:
                found[name] = paths
    standalone = {
        f: f"{lang}/standalone/{rec['id']}.{f}"
        for f in DOWNLOAD_FORMATS
        if (figures_dir / lang / "standalone" / f"{rec['id']}.{f}").is_file()
    }
    if standalone:
        found.setdefault("standalone", {}).update(standalone)
    return [
        {"name": n, "files": {f: p for f, p in sorted(v.items(), key=lambda kv: DOWNLOAD_FORMATS.index(kv[0]))}}
        for n, v in sorted(found.items(), key=lambda kv: (kv[0] != "default", kv[0]))
        if v
    ]


def _check_tables(check: Any) -> set[str]:
    """Table ids a check definition refers to (values of ``table`` keys, anywhere)."""
    found: set[str] = set()
    if isinstance(check, dict):
        for k, v in check.items():
            if k == "table" and isinstance(v, str):
                found.add(v)
            else:
                found |= _check_tables(v)
    elif isinstance(check, list):
        for v in check:
            found |= _check_tables(v)
    return found


# -- rendering helpers --------------------------------------------------------------


class _Renderer:
    """Jinja2 environment, UI strings and lazily computed shared results."""

    def __init__(self, project, figures: dict[str, Figure], descriptor: dict):
        self.project = project
        self.figures = figures
        self.descriptor = descriptor
        self._env: jinja2.Environment | None = None
        self._strings: dict | None = None
        self._pkg: Package | None = None
        self._checks: list[CheckResult] | None = None
        self._exporter: Any = None  # nbconvert.HTMLExporter (nbconvert ships no types)

    # Everything below is made on first use: a build with nothing to render imports none of it.
    @property
    def env(self) -> jinja2.Environment:
        if self._env is None:
            import jinja2

            self._env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                autoescape=True,
                keep_trailing_newline=True,
                undefined=jinja2.StrictUndefined,
            )
        return self._env

    @property
    def strings(self) -> dict:
        if self._strings is None:
            self._strings = json.loads((TEMPLATES / "strings.json").read_text(encoding="utf-8"))
        return self._strings

    @property
    def exporter(self):
        if self._exporter is None:
            from .sync import html_exporter

            self._exporter = html_exporter("shdata_lab")
        return self._exporter

    def s(self, lang: str) -> dict[str, str]:
        return {k: v[lang] for k, v in self.strings.items()}

    def warm(self) -> None:
        """Make now what each page-rendering process would otherwise make for itself after a fork."""
        from .cite import load_styles

        _ = self.env, self.strings, self.checks
        _ = self.exporter.template  # nbconvert compiles its templates on first use
        load_styles()

    @property
    def pkg(self) -> Package:
        if self._pkg is None:
            from .package import Package

            self._pkg = Package(self.project.data_dir)
        return self._pkg

    @property
    def checks(self) -> list[CheckResult]:
        if self._checks is None:
            from .checks import run_checks

            pkg = self.pkg
            for tid in pkg.ids():
                pkg.parsed(tid)
            self._checks = run_checks(pkg)
        return self._checks

    def page(self, template: str, lang: str, path: str, other_path: str, **ctx) -> bytes:
        root = _root(path)
        other = "zh" if lang == "en" else "en"
        html = self.env.get_template(template).render(
            s=self.s(lang),
            lang=lang,
            html_lang=HTML_LANG[lang],
            other_html_lang=HTML_LANG[other],
            root=root,
            home=_home(path, lang),
            other_href=root + other_path,
            version=__version__,
            **ctx,
        )
        return html.encode("utf-8")


def _root(path: str) -> str:
    """Relative prefix from a page to the site's top folder."""
    return "../" * path.count("/")


def _home(path: str, lang: str) -> str:
    """Relative prefix from a page to its language's top folder (English: the site top; Chinese: zh/)."""
    return _root(path) + ("zh/" if lang == "zh" else "")


def _site_path(lang: str, rel: str) -> str:
    return rel if lang == "en" else f"zh/{rel}"


def _markdown(text: str) -> str:
    import mistune

    # the default renderer returns HTML text; the declared type also covers the AST renderer's list
    return cast(str, mistune.html(text or ""))


def _topic(r: _Renderer, fig: Figure) -> str:
    """A figure's topic: that of its first source table (declared in the data package)."""
    for tid in fig.sources:
        res = r.descriptor.get(tid)
        if res:
            return res.get("topic", "")
    return ""


def _heading(rec: dict) -> str:
    return rec.get("headline") or rec["title"]


def _alt(rec: dict) -> str:
    return rec.get("alt") or f"{rec['title']}. {rec.get('caption', '')}".strip()


# -- the build ----------------------------------------------------------------------


def plan(project, out: Path) -> tuple[list[Output], _Renderer]:
    """Every output of the site with its inputs (cheap: reads sidecars, the descriptor and the executed notebooks)."""
    figures_dir = Path(project.figures)
    figures = read_figures(figures_dir)
    desc_path = Path(project.data_dir) / "datapackage.json"
    try:
        desc = json.loads(desc_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SiteError(f"data package descriptor not found: {desc_path}") from None
    resources = {res["name"]: res for res in desc["resources"]}
    r = _Renderer(project, figures, resources)
    code = _code_fingerprint()
    outputs: list[Output] = []

    def add(path: str, inputs: list, make: Callable[[], bytes]) -> None:
        outputs.append(Output(path, [code, *inputs], make))

    # Static assets, and the bundled CJK font with its licence.
    for name in ("site.css", "site.js"):
        src = TEMPLATES / "static" / name
        add(f"assets/{name}", [], src.read_bytes)
    for name in WEB_FONTS:
        src = FONTS / name
        add(f"assets/fonts/{name}", [src.stat().st_size, src.stat().st_mtime_ns], src.read_bytes)

    # Tables: CSV copies (checked against their recorded hash) and the descriptor.
    for res in resources.values():
        src = Path(project.data_dir) / res["path"]
        add(f"data/{res['path']}", [res.get("hash")], partial(_verified, src, res.get("hash")))
    add("data/datapackage.json", [_sha(desc_path.read_bytes())], lambda: desc_path.read_bytes())

    # Figure files: every variant's files, the data CSV, a thumbnail.
    fig_files: dict[tuple[str, str], dict] = {}
    for fid, fig in figures.items():
        for lang, rec in sorted(fig.records.items()):
            info: dict[str, Any] = {"variants": _variants(figures_dir, rec), "csv": None, "png": None}
            for v in info["variants"]:
                for fmt, rel in v["files"].items():
                    src = figures_dir / rel
                    if not src.is_file():
                        raise SiteError(f"{src}: listed in {lang}/{fid}.json but missing; run `shdata build`")
                    add(f"files/{rel}", [fig.sidecar_sha[lang], rel], src.read_bytes)
                    if fmt == "png" and v["name"] == "default":
                        info["png"] = rel
            csv = rec.get("files", {}).get("csv")
            if csv and (figures_dir / csv["path"]).is_file():
                src = figures_dir / csv["path"]
                add(f"files/{csv['path']}", [csv["sha256"]], src.read_bytes)
                info["csv"] = csv["path"]
            if info["png"]:
                src = figures_dir / info["png"]
                add(
                    f"files/{lang}/thumbs/{fid}.png",
                    [fig.sidecar_sha[lang], THUMB_WIDTH],
                    partial(_thumbnail, src),
                )
            fig_files[(fid, lang)] = info

    notebooks_built = {p.stem: p for p in sorted((Path(project.build) / "notebooks").glob("*.ipynb"))}

    def nb_page(name: str, lang: str) -> str | None:
        return f"notebooks/{name}.html" if f"{name}-{lang}" in notebooks_built else None

    def figure_page(fid: str, lang: str, other: str) -> bytes:
        return _figure_page(
            r,
            figures_dir,
            figures[fid],
            lang,
            fig_files[(fid, lang)],
            nb_page(figures[fid].rec(lang).get("notebook", ""), lang),
            _site_path(other, f"figures/{fid}.html"),
        )

    # Figure pages.
    table_figs: dict[str, list[str]] = {}
    for fid, fig in figures.items():
        for tid in fig.sources:
            table_figs.setdefault(tid, []).append(fid)
        for lang in LANGS:
            if lang not in fig.records:
                continue
            rec = fig.records[lang]
            path = _site_path(lang, f"figures/{fid}.html")
            other = "zh" if lang == "en" else "en"
            inputs: list[Any] = [
                sorted(fig.sidecar_sha.items()),
                fig_files[(fid, lang)],
                [
                    (
                        t,
                        resources.get(t, {}).get("title"),
                        resources.get(t, {}).get("title_zh"),
                        resources.get(t, {}).get("section"),
                    )
                    for t in fig.sources
                ],
                nb_page(rec.get("notebook", ""), lang),
            ]
            add(
                path,
                inputs,
                partial(figure_page, fid, lang, other),
            )

    # Galleries.
    gallery_inputs = [
        sorted((fid, sorted(f.sidecar_sha.items())) for fid, f in figures.items()),
        sorted((k[0], k[1], v["png"]) for k, v in fig_files.items()),
    ]
    for lang in LANGS:
        other = "zh" if lang == "en" else "en"
        add(
            _site_path(lang, "index.html"),
            gallery_inputs,
            partial(_gallery, r, lang, fig_files, _site_path(other, "index.html")),
        )

    # Table pages: a table's page depends on its own entry, on the tables its
    # checks share, and on the figures that draw on it.
    related: dict[str, set[str]] = {tid: {tid} for tid in resources}
    for tid, res in resources.items():
        for check in res.get("shdata:checks", []):
            involved = _check_tables(check) | {tid}
            for t in involved:
                related.setdefault(t, {t}).update(involved)
    for tid in resources:
        figs = sorted(
            (fid, sorted((lang, figures[fid].rec(lang)["title"]) for lang in figures[fid].records))
            for fid in table_figs.get(tid, [])
        )
        inputs = [[resources[t] for t in sorted(related[tid]) if t in resources], figs]
        for lang in LANGS:
            other = "zh" if lang == "en" else "en"
            add(
                _site_path(lang, f"tables/{tid}.html"),
                inputs,
                partial(_table_page, r, tid, lang, table_figs.get(tid, []), _site_path(other, f"tables/{tid}.html")),
            )
    index_inputs = [
        [
            (t, res.get("title"), res.get("title_zh"), res.get("topic"), res.get("section"))
            for t, res in resources.items()
        ]
    ]
    for lang in LANGS:
        other = "zh" if lang == "en" else "en"
        add(
            _site_path(lang, "tables/index.html"),
            index_inputs,
            partial(_tables_index, r, lang, _site_path(other, "tables/index.html")),
        )

    # Notebook renderings.
    for key, src in notebooks_built.items():
        name, _, lang = key.rpartition("-")
        if lang not in LANGS:
            continue
        other = "zh" if lang == "en" else "en"
        path = _site_path(lang, f"notebooks/{name}.html")
        nb_source = _page_notebook(Path(project.root), src, out, path, lang)
        add(
            path,
            # What the page is made from, with the project's own path taken out: a rebuild with the
            # same results (new timings, staging folder and random id of the injected cell), or the
            # same project in another folder, does not render it again.
            [_sha(json.dumps(nb_source, sort_keys=True, ensure_ascii=False).encode())],
            partial(_notebook_page, r, nb_source, path, name, lang, _site_path(other, f"notebooks/{name}.html")),
        )
    return outputs, r


def _verified(src: Path, recorded: str | None) -> bytes:
    data = src.read_bytes()
    if recorded and recorded.removeprefix("sha256:") != _sha(data):
        raise SiteError(
            f"{src.name}: content differs from the sha256 recorded in datapackage.json; "
            "if the edit is intended, run `shdata rehash`"
        )
    return data


def _fingerprint(o: Output) -> str:
    return _sha(json.dumps(o.inputs, sort_keys=True, ensure_ascii=False, default=str).encode())


def build_site(
    project,
    out: Path | None = None,
    echo: Callable[[str], None] | None = None,
    force: bool = False,
    jobs: int = 1,
) -> SiteResult:
    """Build (or bring up to date) the static site.

    Parameters
    ----------
    project : shdata.build.Project
        The project checkout (figures, data, build folders).
    out : pathlib.Path, optional
        Site folder; default ``build/site``.
    echo : callable, optional
        Receives one line per written page when given.
    force : bool
        Render every page even if its fingerprint is unchanged.
    jobs : int
        Processes that render pages in parallel (see :func:`_render`); the files
        written are the same whatever the number.

    Returns
    -------
    SiteResult
        What was written, removed, left unchanged, and what failed.

    Raises
    ------
    SiteError
        When a page fails to render (the other pages are still written, and the
        failed page keeps its previous version).
    """
    out = Path(out) if out is not None else Path(project.build) / "site"
    outputs, renderer = plan(project, out)
    state_path = out / STATE
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        state = {}
    old = state.get("outputs", {})
    result = SiteResult(out)
    new_state: dict[str, str] = {}
    errors: list[str] = []
    todo = []
    for o in sorted(outputs, key=lambda o: o.path):
        fp = _fingerprint(o)
        if not force and old.get(o.path) == fp and (out / o.path).is_file():
            new_state[o.path] = fp
            result.unchanged += 1
        else:
            todo.append((o, fp))
    made = _render([o for o, _ in todo], jobs, renderer)
    for (o, fp), (ok, data) in zip(todo, made, strict=True):
        dest = out / o.path
        result.rendered += 1
        if not ok:  # one broken page must not cost the others
            errors.append(f"{o.path}: {data.decode()}")
            if o.path in old:
                new_state[o.path] = "failed"  # keep the previous file, re-render next time
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not (dest.is_file() and dest.read_bytes() == data):
            with atomic_path(dest) as tmp:
                tmp.write_bytes(data)
            result.written.append(o.path)
            if echo:
                echo(f"  site  {o.path}")
        new_state[o.path] = fp
    for rel in sorted(set(old) - set(new_state)):
        (out / rel).unlink(missing_ok=True)
        result.removed.append(rel)
    _prune_empty_dirs(out)
    new = {"outputs": new_state}
    if new != state:
        out.mkdir(parents=True, exist_ok=True)
        write_json(state_path, new)
    result.failed = errors
    if errors:
        raise SiteError(
            f"{len(errors)} site page(s) failed, previous versions kept: {errors[0]}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        )
    return result


def _make(o: Output) -> tuple[bool, bytes]:
    """Render one output: ``(True, bytes)``, or ``(False, b"<error type>: <first line>")``."""
    try:
        return True, o.make()
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return False, f"{type(exc).__name__}: {msg}".encode()


#: The outputs a pool of forked processes renders (inherited by fork, never pickled:
#: an output's ``make`` is a closure over the plan).
_FORKED: list[Output] = []
#: Below this many outputs a pool costs more than it saves.
MIN_PARALLEL = 16


def _make_forked(i: int) -> tuple[bool, bytes]:
    return _make(_FORKED[i])


def _pool_worker_signals() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the pool, the workers stay quiet.
    # SIGTERM (the pool's own way of stopping its workers) must not run the build's handler.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _render(todo: list[Output], jobs: int, renderer: _Renderer | None = None) -> list[tuple[bool, bytes]]:
    """Every output of ``todo`` rendered, in order: in ``jobs`` forked processes when that pays.

    Pages are independent and pure (bytes from inputs), so they render in any
    process; the parent writes them in a fixed order. Fork is used only where the
    platform offers it and no other thread runs (forking a threaded process can
    copy a held lock); otherwise pages render one after another, with the same result.
    """
    import multiprocessing
    import threading

    global _FORKED
    if (
        jobs <= 1
        or len(todo) < MIN_PARALLEL
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
    ):
        return [_make(o) for o in todo]
    if renderer is not None:
        renderer.warm()
    # The slowest pages (notebook renderings) first, so that no worker is left with one at the end.
    order = sorted(range(len(todo)), key=lambda i: ("notebooks/" not in todo[i].path, i))
    _FORKED = todo
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_pool_worker_signals) as pool:
            made = pool.map(_make_forked, order, chunksize=1)
    finally:
        _FORKED = []
    out: list[tuple[bool, bytes]] = [(False, b"")] * len(todo)
    for i, r in zip(order, made, strict=True):
        out[i] = r
    return out


def _prune_empty_dirs(out: Path) -> None:
    if not out.is_dir():
        return
    for d in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()


# -- pages --------------------------------------------------------------------------


def _thumbnail(src: Path) -> bytes:
    """A small PNG for the gallery (deterministic: no timestamps, fixed filter).

    Halved by box averaging before the Lanczos filter (Pillow's ``reducing_gap``) and saved
    at zlib's default level: a third of the time of a full Lanczos pass and an optimised
    save, for a file 1 % larger.
    """
    import io

    from PIL import Image

    with Image.open(src) as opened:
        im = opened.convert("RGBA") if opened.mode not in ("RGB", "RGBA") else opened.copy()
        w, h = im.size
        if w > THUMB_WIDTH:
            im = im.resize((THUMB_WIDTH, round(h * THUMB_WIDTH / w)), Image.Resampling.LANCZOS, reducing_gap=1.5)
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        return buf.getvalue()


def _cites(kind: str, ident: str, lang: str, texts: Callable[[str], str]) -> list[dict]:
    from .cite import FORMAT_LABELS, FORMATS

    out = []
    for fmt in FORMATS:
        if kind == "figure":
            cmd = f"shdata cite {ident} --format {fmt} --lang {lang}"
        elif kind == "table":
            cmd = f"shdata cite --table {ident} --format {fmt} --lang {lang}"
        else:
            cmd = f"shdata cite --report --format {fmt} --lang {lang}"
        # What the command prints: the citation and print()'s newline.
        out.append({"fmt": fmt, "label": FORMAT_LABELS[fmt], "text": texts(fmt) + "\n", "command": cmd})
    return out


def _manifest_entry(fig: Figure) -> dict:
    """The fields of the figure's manifest entry that `shdata cite` reads, from its sidecars."""
    entry = {
        "id": fig.id,
        "title": {lang: rec["title"] for lang, rec in fig.records.items()},
        "sources": fig.rec("en")["provenance"]["sources"],
    }
    entry["sections"] = list(dict.fromkeys(s["section"] for s in entry["sources"]))
    return entry


def _figure_page(
    r: _Renderer, figures_dir: Path, fig: Figure, lang: str, files: dict, nb_href: str | None, other_path: str
) -> bytes:
    from .cite import cite_figure

    rec = fig.records[lang]
    s = r.s(lang)
    pkg = r.pkg
    root = _root(_site_path(lang, f"figures/{fig.id}.html"))
    png = files["png"]
    img_w, img_h = _png_size(figures_dir / png) if png else (0, 0)
    thumb = f"{root}files/{lang}/thumbs/{fig.id}.png"
    variants = []
    for v in files["variants"]:
        label = s.get(f"variant_{v['name']}", v["name"].replace("-", " ").capitalize())
        variants.append(
            {"label": label, "files": [{"fmt": f, "href": f"{root}files/{p}"} for f, p in v["files"].items()]}
        )
    sources = []
    for src in rec["provenance"]["sources"]:
        meta = pkg.metadata(src["table"])
        sources.append(
            {
                "id": meta.id,
                "title": meta.title_zh if lang == "zh" and meta.title_zh else meta.title,
                "section": src["section"],
                "sha256": src["sha256"],
            }
        )
    csv_rows = ""
    if files["csv"]:
        n = (figures_dir / files["csv"]).read_text(encoding="utf-8").count("\n") - 1
        csv_rows = f"{n} values" if lang == "en" else f"{n} 个数值"
    entry = _manifest_entry(fig)
    src_meta = pkg.source
    ctx = {
        "id": fig.id,
        "heading": _heading(rec),
        "headline": rec.get("headline", ""),
        "title": rec["title"],
        "caption": rec.get("caption", ""),
        "alt": _alt(rec),
        "derived": rec.get("derived", False),
        "commentary_html": _markdown(rec.get("commentary", "")),
        "notes": rec.get("notes", []),
        "img": f"{root}files/{png}" if png else "",
        "img_w": img_w,
        "img_h": img_h,
        "srcset": f"{thumb} {min(THUMB_WIDTH, img_w)}w, {root}files/{png} {img_w}w" if png else "",
        "variants": variants,
        "csv": f"{root}files/{files['csv']}" if files["csv"] else "",
        "csv_rows": csv_rows,
        "sources": sources,
        "data_sha256": rec["provenance"]["data_sha256"],
        "version": rec["provenance"].get("shdata_version", ""),
        "notebook": rec.get("notebook", ""),
        "notebook_href": f"../{nb_href}" if nb_href else "",
        "topic_label": s.get(f"topic_{_topic(r, fig)}", ""),
    }
    cites = _cites("figure", fig.id, lang, lambda fmt: cite_figure(entry, fmt, lang=lang, source=src_meta))
    return r.page(
        "figure.html",
        lang,
        _site_path(lang, f"figures/{fig.id}.html"),
        other_path,
        page_title=ctx["heading"],
        section="figures",
        f=ctx,
        cites=cites,
    )


def _gallery(r: _Renderer, lang: str, fig_files: dict, other_path: str) -> bytes:
    s = r.s(lang)
    cards = []
    for fid, fig in r.figures.items():
        if lang not in fig.records:
            continue
        rec = fig.records[lang]
        info = fig_files[(fid, lang)]
        topic = _topic(r, fig)
        thumb_w = thumb_h = 0
        if info["png"]:
            w, h = _png_size(Path(r.project.figures) / info["png"])
            thumb_w, thumb_h = (min(w, THUMB_WIDTH), round(h * min(w, THUMB_WIDTH) / w))
        sections = ", ".join(dict.fromkeys(x["section"] for x in rec["provenance"]["sources"]))
        search = " ".join(
            [
                fid,
                rec["title"],
                rec.get("headline", ""),
                rec.get("caption", ""),
                sections,
                s.get(f"topic_{topic}", ""),
                *fig.sources,
            ]
        ).lower()
        cards.append(
            {
                "id": fid,
                "topic": topic,
                "topic_label": s.get(f"topic_{topic}", ""),
                "heading": _heading(rec),
                "alt": _alt(rec),
                "thumb": f"{_root(_site_path(lang, 'index.html'))}files/{lang}/thumbs/{fid}.png" if info["png"] else "",
                "thumb_w": thumb_w,
                "thumb_h": thumb_h,
                "sections": sections,
                "search": search,
            }
        )
    present = {c["topic"] for c in cards}
    topics = [{"id": t, "label": s[f"topic_{t}"]} for t in TOPIC_ORDER if t in present]
    return r.page(
        "index.html",
        lang,
        _site_path(lang, "index.html"),
        other_path,
        page_title=s["nav_figures"],
        section="figures",
        figures=cards,
        topics=topics,
    )


def _table_page(r: _Renderer, tid: str, lang: str, fig_ids: list[str], other_path: str) -> bytes:
    from .checks import derived
    from .cite import cite_table

    s = r.s(lang)
    pkg = r.pkg
    meta = pkg.metadata(tid)
    parsed = pkg.parsed(tid)
    numeric = set(meta.value_fields)
    columns = []
    for f in meta.fields:
        unit = f.get("unit", "")
        if isinstance(unit, dict):
            unit = s["unit_per_row"].replace("{c}", unit.get("field", ""))
        columns.append(
            {
                "name": f["name"],
                "title": f.get("title", ""),
                "type": f.get("type", "string"),
                "unit": unit or "",
                "kind": f.get("shdata:kind", ""),
            }
        )
    rows = [[{"text": raw.get(c["name"], ""), "num": c["name"] in numeric} for c in columns] for raw in parsed.raw]
    d = derived(pkg, tid)
    derived_rows = [
        {
            "indicator": x["indicator"],
            "label": x["indicator_en"],
            "value": repr(float(x["value"])),
            "unit": x["unit"],
            "period": x["period"],
            "method": x["method"],
        }
        for x in d.to_dict("records")
    ]
    involved = []
    for c in r.checks:
        check_def: dict = next((x for x in pkg.metadata(c.table).checks if x.get("id") == c.id), {})
        if c.table == tid or tid in _check_tables(check_def):
            involved.append(
                {
                    "where": f"{c.table}/{c.id}",
                    "description": c.description,
                    "detail": c.detail,
                    "status": c.status,
                    "outcome": s.get(f"status_{c.status}", c.status),
                }
            )
    notes = [{"kind": n.kind, "text": n.render(lang)} for n in meta.notes]
    figs = [{"id": fid, "title": r.figures[fid].rec(lang)["title"]} for fid in sorted(fig_ids)]
    heading = meta.title_zh if lang == "zh" and meta.title_zh else meta.title
    ctx = {
        "id": tid,
        "heading": heading,
        "title": meta.title,
        "title_zh": meta.title_zh,
        "description": meta.description,
        "section": meta.section,
        "period": meta.period,
        "sha256": meta.sha256,
        "csv": f"{_root(_site_path(lang, f'tables/{tid}.html'))}data/{meta.path}",
        "columns": columns,
        "rows": rows,
        "derived": derived_rows,
        "checks": involved,
        "notes": notes,
        "figures": figs,
        "topic_label": s.get(f"topic_{meta.topic}", meta.topic),
    }
    cites = _cites("table", tid, lang, lambda fmt: cite_table(meta, fmt, lang=lang, source=pkg.source))
    return r.page(
        "table.html",
        lang,
        _site_path(lang, f"tables/{tid}.html"),
        other_path,
        page_title=heading,
        section="tables",
        t=ctx,
        cites=cites,
    )


def _tables_index(r: _Renderer, lang: str, other_path: str) -> bytes:
    s = r.s(lang)
    groups = []
    for topic in TOPIC_ORDER:
        tables = [
            {
                "id": tid,
                "section": res.get("section", ""),
                "heading": res.get("title_zh") if lang == "zh" and res.get("title_zh") else res.get("title", tid),
            }
            for tid, res in r.descriptor.items()
            if res.get("topic") == topic
        ]
        if tables:
            groups.append({"id": topic, "label": s[f"topic_{topic}"], "tables": tables})
    return r.page(
        "tables.html",
        lang,
        _site_path(lang, "tables/index.html"),
        other_path,
        page_title=s["nav_tables"],
        section="tables",
        groups=groups,
    )


# -- notebooks ----------------------------------------------------------------------


def clean_notebook(nb: dict, lang: str, roots: list[str], default_output_dir: str = "figures") -> dict:
    """The executed notebook as a reader should see it in ``lang``.

    Drops Markdown cells tagged for the other language (``lang-en``/``lang-zh``),
    shows the injected parameters as a user passes them (``output_dir`` is the
    build's staging folder: shown as its default), and removes the project's
    absolute path from every source and output.
    """
    from .sync import with_output_dir_shown_as

    drop = {t for other, t in LANG_TAGS.items() if other != lang}
    cells = []
    for cell in nb.get("cells", []):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.get("cell_type") == "markdown" and tags & drop:
            continue
        cells.append(cell)
    text = json.dumps(with_output_dir_shown_as({**nb, "cells": cells}, default_output_dir), ensure_ascii=False)
    prefixes = {p for r in roots for p in (r, r.replace("\\", "\\\\"))}  # as written, and JSON-escaped
    for prefix in sorted(prefixes, key=len, reverse=True):
        text = text.replace(prefix + "/", "").replace(prefix, ".")
    return json.loads(text)


def _page_notebook(root: Path, src: Path, out: Path, path: str, lang: str) -> dict:
    """The executed notebook ``src`` as the page at ``path`` shows it (what the page is made from)."""
    from .preview import rebase
    from .sync import run_invariant

    nb = clean_notebook(
        run_invariant(json.loads(src.read_text(encoding="utf-8"))), lang, [str(root), str(root.resolve())]
    )
    # The executed notebook shows its figures from the build's staging folder, gone by now:
    # point them at the site's own copies, files/<lang>/<id>.png.
    rebase(nb, Path(out) / "files", (Path(out) / path).parent)
    return nb


def _notebook_page(r: _Renderer, nb: dict, path: str, name: str, lang: str, other_path: str) -> bytes:
    """The page at ``path`` for the notebook ``nb`` as :func:`_page_notebook` made it in the plan."""
    import nbformat

    node = nbformat.reads(json.dumps(nb, ensure_ascii=False), as_version=4)  # joins multi-line sources
    header = r.env.get_template("header.html").render(
        s=r.s(lang),
        home=_home(path, lang),
        section="notebooks",
        other_href=_root(path) + other_path,
        other_html_lang=HTML_LANG["zh" if lang == "en" else "en"],
    )
    header += f'<p class="nb-note">{r.s(lang)["notebook_note"]}</p>'
    body, _ = r.exporter.from_notebook_node(node, resources={"shdata": {"root": _root(path), "header": header}})
    body = re.sub(r"<html[^>]*>", f'<html lang="{HTML_LANG[lang]}">', body, count=1)
    body = re.sub(r"<title>[^<]*</title>", f"<title>{name} ({lang}) · shdata</title>", body, count=1)
    return body.encode("utf-8")

"""A persistent, content-addressed cache of the lean fonts that PDF font subsetting reads.

:mod:`shdata.render` subsets each font a PDF embeds from a lean copy of it
(:func:`shdata.render._lean_font`, :func:`shdata.render._few_glyphs`). Making
those copies for the house fonts costs about a second of CPU per process
(``benchmarks/bench_fontcache.py``), and every ``shdata build`` and every cold
notebook kernel made the very same copies again. They are pure
functions of the font file's bytes, fontTools' version and shdata's subsetting
choices, so they are kept on disk under a key made of exactly those, and a new
process reads them instead of making them.

Where
    ``$SHDATA_CACHE_DIR/fonts/`` when ``SHDATA_CACHE_DIR`` is set (an empty
    value turns the cache off), else ``<matplotlib cache dir>/shdata/fonts/``
    (:func:`matplotlib.get_cachedir`, which already copes with an unwritable home).
Key
    sha256 of the font file's bytes, the face index, fontTools' version, a
    digest of shdata's recipe (given by :mod:`shdata.render`: the tables dropped,
    the subsetting options, the glyph ranges, the size threshold, a version
    constant and the bytecode of the functions that make the copies) and
    :data:`FORMAT`. A font edited in place, a fontTools upgrade or changed code
    gives another key; nothing is ever looked up by path or time.
Entry
    One file per key: a JSON header line (:data:`MAGIC`, :data:`FORMAT`, the key,
    the size and sha256 of the rest), then a JSON line of the value's metadata,
    then the value's raw bytes. No pickle: an entry is data read from disk, and is
    checked against its header before use.

The cache only ever saves time. Any failure in it (a folder that is missing or
read-only, an entry that is truncated, corrupt or foreign, a race between two
processes writing the same entry) makes the value be computed exactly as without
a cache, with no exception and no warning; a bad entry is then written anew.
Writes are atomic (a temporary file in the same folder, then :func:`os.replace`),
so a reader sees a whole entry or none. Entries are never stale, only unused:
the folder is safe to delete at any time.

Nothing happens at import: the folder is found, and matplotlib imported, on the
first lookup.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: The environment variable naming the cache's root folder (empty: no cache).
ENV = "SHDATA_CACHE_DIR"
#: First field of every entry's header: a file that lacks it is not an entry of this cache.
MAGIC = "shdata-font-cache"
#: The layout of an entry and of its key; bump it when either changes (old entries are then
#: simply never read again).
FORMAT = 1
#: The longest header line read: a file whose first line is longer is not an entry.
_HEADER_MAX = 4096


@dataclass(frozen=True)
class FontFile:
    """The bytes of a font file and their sha256, which alone make its identity.

    Equal (and hashing equal) when the sha256 is, whatever the path: so a value
    cached in memory by ``FontFile`` belongs to the exact bytes it was made from.

    Attributes
    ----------
    sha256 : str
        Hex digest of ``data``.
    data : bytes
        The whole file, as read once; values are made from these bytes, never from
        the path again (the file could change in between).
    """

    sha256: str
    data: bytes = field(compare=False, repr=False)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> FontFile:
        """Read the font file at ``path`` (errors are the caller's, as when reading it otherwise).

        Parameters
        ----------
        path : str or os.PathLike
            The font file.

        Returns
        -------
        FontFile
            Its bytes and their sha256.
        """
        data = Path(path).read_bytes()
        return cls(hashlib.sha256(data).hexdigest(), data)


def code_digest(*functions: Callable[..., Any]) -> str:
    """A digest of what ``functions`` do: their bytecode, names and constants, nested code included.

    A version constant is easy to forget to bump; with this digest in the key, a
    changed function gets new entries by itself. File names and line numbers are
    left out, so a checkout in another folder, or an edit elsewhere in the module,
    keeps its entries. It is the code actually running that is hashed, not the
    source file, which may have changed since it was imported.

    Parameters
    ----------
    *functions : callable
        Plain Python functions.

    Returns
    -------
    str
        Hex sha256.
    """
    h = hashlib.sha256()

    def add(code: types.CodeType) -> None:
        h.update(code.co_code)  # the unspecialised bytecode (Python 3.11+ hides its inline caches)
        h.update(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)).encode())
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                add(const)
            elif isinstance(const, frozenset):  # `x in {...}`: repr order would follow string hashing
                h.update(repr(sorted(const, key=repr)).encode())
            else:
                h.update(repr(const).encode())

    for fn in functions:
        add(fn.__code__)
    return h.hexdigest()


def cache_dir() -> Path | None:
    """The folder of the font cache's entries, or None when the cache is off.

    Returns
    -------
    pathlib.Path or None
        ``$SHDATA_CACHE_DIR/fonts`` if the variable is set and not empty, None if
        it is set and empty, else ``<matplotlib.get_cachedir()>/shdata/fonts``
        (None if matplotlib cannot name one). The folder may not exist yet.
    """
    root = os.environ.get(ENV)
    if root is not None:
        return Path(root) / "fonts" if root else None
    try:
        import matplotlib

        return Path(matplotlib.get_cachedir()) / "shdata" / "fonts"
    except Exception:  # the cache is optional: without a folder there is simply no cache
        return None


def entry_key(kind: str, font: FontFile, face_index: int, recipe: str) -> str:
    """The key of one value: hex sha256 of everything the value depends on.

    Parameters
    ----------
    kind : str
        Which value (``"lean"``, ``"few"``).
    font : FontFile
        The font file it is made from.
    face_index : int
        The face in the file.
    recipe : str
        Everything of shdata's that the value depends on (see :func:`shdata.render._recipe`).

    Returns
    -------
    str
        64 hex digits, also the entry's file name (with ``kind``).
    """
    from fontTools import version as fonttools_version

    parts = {
        "format": FORMAT,
        "kind": kind,
        "font_sha256": font.sha256,
        "face_index": face_index,
        "fonttools": fonttools_version,
        "recipe": hashlib.sha256(recipe.encode()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def read_entry(folder: Path, kind: str, key: str) -> tuple[Any, bytes] | None:
    """The metadata and bytes stored under ``key``, or None if there is no whole, valid entry.

    Parameters
    ----------
    folder : pathlib.Path
        The cache folder.
    kind, key : str
        As given to :func:`write_entry`.

    Returns
    -------
    tuple or None
        ``(metadata, data)``; None for a missing, unreadable, truncated, corrupt or
        foreign file (never an exception).
    """
    try:
        with open(folder / f"{kind}-{key}.bin", "rb") as f:
            header = json.loads(f.readline(_HEADER_MAX))
            if not (
                isinstance(header, dict)
                and header.get("magic") == MAGIC
                and header.get("format") == FORMAT
                and header.get("key") == key
                and isinstance(header.get("size"), int)
                and isinstance(header.get("sha256"), str)
            ):
                return None
            # One byte more than announced: a longer file is as wrong as a shorter one.
            body = f.read(header["size"] + 1)
        if len(body) != header["size"] or hashlib.sha256(body).hexdigest() != header["sha256"]:
            return None
        meta_line, sep, data = body.partition(b"\n")
        if not sep:
            return None
        return json.loads(meta_line), data
    except Exception:  # OSError, ValueError (JSON, UTF-8), MemoryError…: a miss, never the user's problem
        return None


def write_entry(folder: Path, kind: str, key: str, meta: Any, data: bytes) -> None:
    """Store ``meta`` (JSON-able) and ``data`` under ``key``, atomically; do nothing on any failure.

    Parameters
    ----------
    folder : pathlib.Path
        The cache folder (made if missing).
    kind, key : str
        Name the entry (see :func:`entry_key`).
    meta : object
        Small JSON-able metadata of the value.
    data : bytes
        The value's bytes.
    """
    import tempfile

    tmp = None
    try:
        body = json.dumps(meta, separators=(",", ":")).encode() + b"\n" + data
        header = {"magic": MAGIC, "format": FORMAT, "key": key, "size": len(body)}
        header["sha256"] = hashlib.sha256(body).hexdigest()
        folder.mkdir(parents=True, exist_ok=True)
        # A temporary file in the same folder, renamed over the entry: readers see the old
        # entry, the new one or none, never part of one. Two processes writing the same
        # entry both write whole files; the last rename wins and both hold the same bytes.
        # No fsync: an entry lost or cut short by a crash fails its check and is made again.
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(header, separators=(",", ":")).encode() + b"\n" + body)
        os.replace(tmp, folder / f"{kind}-{key}.bin")
        tmp = None
    except Exception:  # read-only or missing folder, full disk…: the value was computed anyway
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _cached(
    kind: str,
    font: FontFile,
    face_index: int,
    recipe: Callable[[], str],
    make: Callable[[], T],
    encode: Callable[[T], tuple[Any, bytes]],
    decode: Callable[[Any, bytes], T],
) -> T:
    """``make()``, or the value stored for its key; stores what it makes (errors of ``make`` propagate)."""
    folder = cache_dir()
    if folder is None:
        return make()
    try:
        key = entry_key(kind, font, face_index, recipe())
    except Exception:  # a recipe that cannot be made or hashed: no cache rather than an error or a wrong one
        return make()
    entry = read_entry(folder, kind, key)
    if entry is not None:
        try:
            return decode(*entry)
        except (TypeError, ValueError, KeyError):  # a well-formed entry of the wrong shape: a miss
            pass
    value = make()
    try:
        meta, data = encode(value)
    except Exception:  # a value the entry format cannot hold is returned, just not kept
        return value
    write_entry(folder, kind, key, meta, data)
    return value


def lean_font(font: FontFile, face_index: int, recipe: Callable[[], str], make: Callable[[], bytes]) -> bytes:
    """The lean copy of a font (:func:`shdata.render._lean_font`): from the cache, or ``make()`` and stored.

    Parameters
    ----------
    font : FontFile
        The font file the copy is made from.
    face_index : int
        The face in the file.
    recipe : callable
        Gives shdata's side of the key (:func:`shdata.render._recipe`); called inside the
        cache's guard, so that nothing it raises reaches the caller.
    make : callable
        Makes the copy from ``font`` when the cache has no valid entry.

    Returns
    -------
    bytes
        Exactly what ``make()`` returns (or returned, in the process that stored it).
    """

    def decode(meta: Any, data: bytes) -> bytes:
        if meta != {"type": "bytes"}:
            raise ValueError("not a lean font entry")
        return data

    return _cached("lean", font, face_index, recipe, make, lambda v: ({"type": "bytes"}, v), decode)


def few_glyphs(
    font: FontFile,
    face_index: int,
    recipe: Callable[[], str],
    make: Callable[[], tuple[bytes, dict[int, int]] | None],
) -> tuple[bytes, dict[int, int]] | None:
    """The few-glyph copy of a font and its glyph id map (:func:`shdata.render._few_glyphs`), cached.

    ``None`` (a font too small for a few-glyph copy) is stored too: finding it out
    means parsing the whole lean font, and it is as much a function of the key.
    The map is stored as a list of pairs, so it comes back in the same order.

    Parameters
    ----------
    font : FontFile
        The font file the copy is made from.
    face_index : int
        The face in the file.
    recipe : callable
        Gives shdata's side of the key (:func:`shdata.render._recipe`); called inside the
        cache's guard, so that nothing it raises reaches the caller.
    make : callable
        Makes the value from ``font`` when the cache has no valid entry.

    Returns
    -------
    tuple of (bytes, dict of int to int), or None
        Exactly what ``make()`` returns (or returned, in the process that stored it).
    """

    def encode(value: tuple[bytes, dict[int, int]] | None) -> tuple[Any, bytes]:
        if value is None:
            return {"type": "none"}, b""
        data, gids = value
        return {"type": "few", "gids": [[int(k), int(v)] for k, v in gids.items()]}, data

    def decode(meta: Any, data: bytes) -> tuple[bytes, dict[int, int]] | None:
        if meta == {"type": "none"} and not data:
            return None
        if not (isinstance(meta, dict) and meta.get("type") == "few" and isinstance(meta.get("gids"), list)):
            raise ValueError("not a few-glyph entry")
        gids: dict[int, int] = {}
        for pair in meta["gids"]:
            # bool is an int to Python, not to a glyph id map
            if not (isinstance(pair, list) and len(pair) == 2 and all(type(g) is int for g in pair)):
                raise ValueError("bad glyph id pair")
            gids[pair[0]] = pair[1]
        if len(gids) != len(meta["gids"]):
            raise ValueError("repeated glyph id")
        return data, gids

    return _cached("few", font, face_index, recipe, make, encode, decode)

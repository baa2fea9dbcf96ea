"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

TMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds.

    The temporary name is unique per call (``.<name>.<pid>.<random>.tmp``), so
    two writers of the same file, in one process or in two, never write into
    each other's temporary file. (Not ``mkstemp``: its 0600 mode would end up
    on the published file.)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}{TMP_SUFFIX}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(path: Path, text: str, only_if_changed: bool = False) -> bool:
    """Write UTF-8 text atomically; with ``only_if_changed``, leave an identical file alone.

    Returns
    -------
    bool
        Whether the file was written.
    """
    path = Path(path)
    if only_if_changed and path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return True


def write_json(path: Path, obj, indent: int = 1, sort_keys: bool = True, only_if_changed: bool = False) -> bool:
    """Write JSON deterministically (fixed key order and indent, trailing newline) and atomically."""
    text = json.dumps(obj, ensure_ascii=False, sort_keys=sort_keys, indent=indent) + "\n"
    return write_text(path, text, only_if_changed=only_if_changed)

"""Integrity of the data folder beyond what each table's schema says.

``shdata check`` reports CSV files that no resource of the descriptor
describes (a resource removed from ``datapackage.json`` while its file stays
would otherwise go unnoticed), and ``shdata rehash`` records new hashes only
for files that validate, so a hash can never vouch for a broken file.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from .errors import ShdataError


def undescribed_files(pkg) -> list[str]:
    """CSV files under the data folder that no resource's ``path`` names (relative, sorted)."""
    described = {
        PurePosixPath(r["path"]).as_posix() for r in pkg.descriptor["resources"] if isinstance(r.get("path"), str)
    }
    root = Path(pkg.data_dir)
    found = (p.relative_to(root).as_posix() for p in root.rglob("*.csv") if p.is_file())
    return sorted(p for p in found if p not in described)


def checked_rehash(data_dir: Path | None = None) -> list[str]:
    """Validate every data file, then record its sha256; refuse (change nothing) if one does not validate.

    Returns
    -------
    list of str
        Ids whose hash changed.

    Raises
    ------
    ShdataError
        The descriptor is broken, or a file is missing or does not match its
        schema; the message names it and nothing was recorded.
    """
    from .package import Package

    pkg = Package(data_dir, verify_hashes=False)
    try:
        for tid in pkg.ids():
            pkg.parsed(tid)
    except ShdataError as exc:
        raise type(exc)(f"{exc}; nothing was rehashed: fix the file, then run `shdata rehash` again") from None
    return pkg.rehash()

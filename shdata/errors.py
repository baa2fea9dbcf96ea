"""Exception hierarchy of shdata.

Every error a user can trigger with bad input derives from :class:`ShdataError`
and carries a one-line message that names the offending thing and, where it
makes sense, what is allowed. The command line prints that line, not a
traceback.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class ShdataError(Exception):
    """Base class of every error raised on purpose by shdata."""


class UnknownTableError(ShdataError, KeyError):
    """A table id that is not in the data package."""

    def __init__(self, table_id: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(str(table_id), known, n=3, cutoff=0.5)
        if not close:  # substring matches help with partial ids such as "nsfc"
            close = [k for k in known if str(table_id).lower() in k][:3]
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        msg = (f"unknown table id {table_id!r}{hint} "
               f"(`shdata list` shows all {len(known)} tables)")
        super().__init__(msg)
        self.table_id = table_id
        self.suggestions = close

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class DescriptorError(ShdataError):
    """The data package descriptor (datapackage.json) is missing or malformed."""


class DataFileError(ShdataError):
    """A data file is missing, unreadable, altered, or does not match its schema."""


class UnitError(ShdataError, ValueError):
    """A unit or a units mode that shdata cannot handle."""


class CheckError(ShdataError):
    """A consistency check is malformed (not: a check that fails on the data)."""


class ParameterError(ShdataError, ValueError):
    """A notebook or command parameter with a value that is not allowed."""

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

    def _render_traceback_(self) -> list[str]:
        """One line in IPython and Jupyter (and so in papermill's error report), not a traceback.

        The message already names the offending thing and what to do; the
        frames inside shdata would only bury it.
        """
        return [f"{type(self).__name__}: {self}"]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'a', 'b'?"`` for the known names closest to ``name``, or ``""``.

    Close spellings first; failing those, names containing ``name`` (a partial id such as "nsfc").
    """
    known = sorted(known)
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    if not close:
        close = [k for k in known if str(name).lower() in k][:3]
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


class UnknownTableError(ShdataError, KeyError):
    """A table id that is not in the data package."""

    def __init__(self, table_id: str, known: Iterable[str]):
        known = list(known)
        msg = (
            f"unknown table id {table_id!r}{did_you_mean(table_id, known)} "
            f"(`shdata list` shows all {len(known)} tables)"
        )
        super().__init__(msg)
        self.table_id = table_id

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


class FigureLintError(ShdataError):
    """A figure has layout or typography defects (see :mod:`shdata.lint`); nothing was written.

    The message has one line per defect: figure id, rule, the artist's text, detail.
    ``defects`` holds the :class:`shdata.lint.Defect` objects.
    """

    def __init__(self, defects):
        self.defects = list(defects)
        n = len(self.defects)
        head = (
            f"{n} figure defect{'s' if n != 1 else ''} (fix them, or waive one rule for one artist "
            "with publish(..., waive={rule: text}))"
        )
        super().__init__("\n".join([head, *map(str, self.defects)]))

"""Exceptions raised by the ecograph library.

The library raises these; :mod:`ecograph.cli` turns each into one ``Error: ...`` line and a
non-zero exit code (``ECOGRAPH_DEBUG=1`` shows the traceback instead).
"""

from __future__ import annotations


class EcographError(Exception):
    """Base class of every error ecograph raises on purpose."""

    exit_code = 1


class UsageError(EcographError, ValueError):
    """An argument the library cannot use: an unknown format, layout or plot kind, a file
    suffix that names no format.

    Still a :class:`ValueError` (what Python raises for a bad argument value), and exit
    code 2 on the command line, like click's own usage errors.
    """

    exit_code = 2


class InvalidModelIdError(EcographError, ValueError):
    """A string that cannot be a Hub model id (``org/name``)."""


class UnknownModelError(EcographError, LookupError):
    """A model id that is not in the store or on the Hub.

    ``suggestions`` holds close matches (case-insensitive / fuzzy) for the error message.
    """

    def __init__(self, model_id: str, suggestions: list[str] | None = None) -> None:
        self.model_id = model_id
        self.suggestions = list(suggestions or [])
        msg = f"unknown model {model_id!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(msg)


class StoreError(EcographError):
    """The store file cannot be opened, is not an ecograph store, or has a newer schema."""


class HubError(EcographError):
    """The Hub (or the endpoint given) could not be reached or answered badly."""


class SnapshotError(EcographError):
    """A snapshot file (JSONL / parquet) is missing or malformed."""


class InputError(EcographError, ValueError):
    """Input ecograph cannot use: an unknown choice (``by``, ``period``), an empty date range,
    data that lacks what a computation needs (creation dates), or a malformed user file (the
    message names the file and the line)."""

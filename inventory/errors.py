"""One exception family. The CLI and the web app turn these into one readable line."""

from __future__ import annotations

from typing import Any


class InventoryError(Exception):
    """Anything the user can act on: bad input, a missing element, an unreachable store."""


class NotFound(InventoryError):
    def __init__(self, label: str, element_id: str):
        super().__init__(f"{label} {element_id!r} not found")
        self.label = label
        self.element_id = element_id


class NoRoute(InventoryError):
    """The data cannot connect two ends."""


class StoreUnavailable(InventoryError):
    """The database cannot be reached or refused our credentials.

    ``commit_unknown``: a write's commit was sent and not confirmed (the connection went,
    or the server answered with an error), so that write may have been committed or not;
    otherwise a write that did not finish was not committed.
    """

    def __init__(self, message: str, commit_unknown: bool = False):
        super().__init__(message)
        self.commit_unknown = commit_unknown


class ValidationError(InventoryError):
    """A value that does not fit its field."""

    def __init__(self, field: str, value: Any, message: str):
        super().__init__(f"{field}={value!r}: {message}")
        self.field = field
        self.value = value
        self.message = message


class ImportRowError(InventoryError):
    """A problem at one place of one input file."""

    def __init__(self, file: str, row: int | None, field: str | None, value: Any, message: str):
        where = file + (f", row {row}" if row is not None else "")
        where += f", column {field}" if field else ""
        shown = "" if value is None else f" (value {value!r})"
        super().__init__(f"{where}: {message}{shown}")
        self.file, self.row, self.field, self.value, self.message = file, row, field, value, message

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "column": self.field,
                "value": None if self.value is None else str(self.value),
                "message": self.message}


class PartlyWritten(InventoryError):
    """A write committed in parts (``upsert(commit_every=…)``) stopped after some of them.

    What was committed stays. Writing the same records again finishes the job: the records
    already written are then reported unchanged. ``perhaps`` counts the records of the part
    whose commit the store did not confirm: that commit may have happened or not.
    """

    def __init__(self, written: int, total: int, parts: int, cause: Exception,
                 perhaps: int = 0):
        maybe = (f" (and perhaps the next {perhaps:,}: the store did not confirm their "
                 "commit)") if perhaps else ""
        super().__init__(
            f"{cause} — the write stopped after {written:,} of {total:,} records, committed "
            f"in {parts} part(s){maybe}; they stay written: run the same import again to "
            "finish it (what is already written is reported unchanged)")
        self.written, self.total, self.parts, self.cause = written, total, parts, cause
        self.perhaps = perhaps

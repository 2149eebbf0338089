"""One error hierarchy for the whole registry.

Every error carries the HTTP status the web layer answers with, so the mapping
lives in one place (``web/app.py`` reads ``status``) and the CLI can print the
same message without a traceback.

    RegistryError (500)
    +-- InvalidInput (422)            bad data from outside: names field, line, value
    |   +-- InvalidIdentifier (422)   resident ID / credit code fails GB 11643 / GB 32100
    |   +-- InvalidRulePack (422)     the YAML rule pack breaks its schema or invariants
    |   +-- BatchRejected (422)       an all-or-nothing batch had bad lines
    +-- NotFound (404)
    +-- Conflict (409)                e.g. a case number re-sent with different content
    +-- Forbidden (403)               e.g. an authority submitting outside its categories
    +-- CalendarMissing (409)         a working-day question about a year with no data
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input: where (line, field), the value, and why."""

    field: str
    reason: str
    value: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        shown = "" if self.value is None else f" (got {self.value!r})"
        return f"{where}{self.field}: {self.reason}{shown}"


class RegistryError(Exception):
    status = 500
    code = "registry_error"

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems

    def to_dict(self) -> dict[str, object]:
        # One shape for every error the API answers: the three keys, always (an empty list
        # when there is nothing more specific to say).
        return {
            "error": self.code,
            "message": self.message,
            "problems": [
                {"line": p.line, "field": p.field, "value": p.value, "reason": p.reason}
                for p in self.problems
            ],
        }


class InvalidInput(RegistryError):
    status = 422
    code = "invalid_input"

    @classmethod
    def one(
        cls, field: str, reason: str, value: str | None = None, line: int | None = None
    ) -> Self:
        p = Problem(field=field, reason=reason, value=value, line=line)
        return cls(str(p), (p,))


class InvalidIdentifier(InvalidInput):
    code = "invalid_identifier"


class InvalidRulePack(InvalidInput):
    code = "invalid_rulepack"


class BatchRejected(InvalidInput):
    code = "batch_rejected"


class NotFound(RegistryError):
    status = 404
    code = "not_found"


class Conflict(RegistryError):
    status = 409
    code = "conflict"


class Forbidden(RegistryError):
    status = 403
    code = "forbidden"


class CalendarMissing(RegistryError):
    status = 409
    code = "calendar_missing"

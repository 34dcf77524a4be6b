"""Exceptions raised by skillrl.

Every error a user can trigger with bad input derives from :class:`SkillRLError`, so
``except skillrl.SkillRLError`` catches them all.
"""

from __future__ import annotations

from pathlib import Path


class SkillRLError(Exception):
    """Base class of every error skillrl raises on purpose."""


class BankFormatError(SkillRLError, ValueError):
    """A skill bank file or dict does not have the expected shape.

    Attributes:
        file: the file that was read (``None`` for in-memory data).
        json_path: where in the document the problem is, as a JSONPath (``$.general_skills[3].title``).
        expected: what was expected there, in words.
        got: a short repr of what was found (may be empty).
    """

    def __init__(self, file: str | Path | None, json_path: str, expected: str, got: str = ""):
        self.file = str(file) if file is not None else None
        self.json_path = json_path
        self.expected = expected
        self.got = got
        where = f"{self.file}: " if self.file else ""
        found = f", got {got}" if got else ""
        super().__init__(f"{where}{json_path}: expected {expected}{found}")


class BankConflictError(SkillRLError, ValueError):
    """An edit conflicts with the bank's contents (duplicate id, unknown id, unknown version)."""


class TeacherError(SkillRLError, RuntimeError):
    """A teacher call failed (transport, timeout, rate limit, or an unusable answer).

    Evolution catches this and reports it; it never propagates into a training loop.
    """


class TeacherSpecError(SkillRLError, ValueError):
    """A teacher spec (``"offline"``, ``"openai:MODEL"``, ...) names no registered backend or lacks its argument."""


class ProfileError(SkillRLError, ValueError):
    """A category detection profile is unknown or its rules are invalid."""


class ConfigError(SkillRLError, ValueError):
    """An argument or setting has a value skillrl cannot use (the message says which and what is allowed)."""


class InputTypeError(SkillRLError, TypeError):
    """An argument has a type skillrl cannot use (the message says which type was expected)."""


class MissingDependencyError(SkillRLError, ImportError):
    """An optional dependency (an extra) is needed for the feature that was used."""

    def __init__(self, package: str, extra: str, feature: str):
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs the '{package}' package. Install it with: pip install -e '.[{extra}]' "
            f"(from a skillrl checkout) or pip install {package}"
        )


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class EpisodeFormatError(SkillRLError, ValueError):
    """An episode file or record does not have the expected shape.

    Attributes:
        file: the file that was read (``None`` for in-memory data).
        line: 1-based line number for JSONL files (``None`` for whole-file JSON).
        json_path: where in the record the problem is, as a JSONPath (``$.conversations[3].from``).
        expected: what was expected there, in words.
        got: a short repr of what was found (may be empty).
    """

    def __init__(self, file: str | Path | None, json_path: str, expected: str, got: str = "",
                 line: int | None = None):
        self.file = str(file) if file is not None else None
        self.line = line
        self.json_path = json_path
        self.expected = expected
        self.got = got
        where = f"{self.file}" if self.file else ""
        if line is not None:
            where += f"{', ' if where else ''}line {line}"
        found = f", got {got}" if got else ""
        super().__init__(f"{where + ': ' if where else ''}{json_path}: expected {expected}{found}")

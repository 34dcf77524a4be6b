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


class BankNotFoundError(BankFormatError, FileNotFoundError):
    """A bank (or state) file does not exist. A :class:`BankFormatError` (one error type for every read failure)
    and a ``FileNotFoundError`` (what callers caught before)."""

    def __init__(self, file: str | Path):
        BankFormatError.__init__(self, file, "$", "an existing file", "no such file")


class BankConflictError(SkillRLError, ValueError):
    """An edit conflicts with the bank's contents (duplicate id, unknown id, unknown version)."""


class StaleBankError(BankConflictError):
    """:meth:`SkillBank.save` found the file on disk is not the one this bank was loaded from (another writer saved
    in between): nothing was written.

    Attributes:
        file: the file.
        loaded_version, loaded_sha256: what this bank was loaded from (or last saved).
        disk_version, disk_sha256: what is on disk now (``disk_version`` ``None`` when it has none / is unreadable).
        unsaved: how many of this bank's changes are not on disk.

    Merge with ``bank.rebase(file)`` (re-applies the unsaved changes onto the disk version) and save again, or do
    load-edit-save under the file lock with ``SkillBank.edit(file)``.
    """

    def __init__(self, file: str | Path, loaded_version: int, loaded_sha256: str, disk_version: int | None,
                 disk_sha256: str, unsaved: int):
        self.file = str(file)
        self.loaded_version, self.loaded_sha256 = loaded_version, loaded_sha256
        self.disk_version, self.disk_sha256 = disk_version, disk_sha256
        self.unsaved = unsaved
        disk = f"v{disk_version}" if disk_version is not None else "an unversioned file"
        super().__init__(
            f"{self.file}: changed on disk since this bank was loaded (loaded v{loaded_version} sha256 "
            f"{loaded_sha256[:12]}, on disk {disk} sha256 {disk_sha256[:12]}); nothing written. Merge with "
            f"bank.rebase(path) ({unsaved} unsaved change(s)) and save again, or edit under the lock with "
            f"SkillBank.edit(path)")


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
    """An argument has the wrong type (the message says what was expected and what came)."""


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

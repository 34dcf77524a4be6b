"""Bank files on disk: strict reading, format detection, atomic writes, file locks, state directories.

:mod:`skillrl.bank` keeps the in-memory :class:`~skillrl.bank.SkillBank`; everything that touches a file lives here.

Reading (:func:`read_bytes`, :func:`parse_json`, :func:`document_format`, :func:`check_native_header`) is strict and
has ONE error type: any failure is a one-line :class:`~skillrl.errors.BankFormatError` naming the file and the JSON
path. Rejected: files larger than :data:`MAX_BANK_BYTES`, directories, FIFOs and devices, unreadable files
(``FileNotFoundError`` comes as :class:`~skillrl.errors.BankNotFoundError`, which is both), byte-order marks and
UTF-16/32 text, invalid UTF-8, invalid JSON, nesting deeper than :data:`MAX_DEPTH`, ``NaN`` / ``Infinity`` (and
floats that overflow to infinity), duplicate keys in an object, unpaired UTF-16 surrogates, documents that are not a
skill bank (no known key), misspelt known keys, a misspelt ``format`` and malformed native headers.

Writing (:func:`atomic_write_bytes`, :func:`atomic_write_json`): a temporary file ``.NAME.<pid>-<hex>.tmp`` beside
the target, flushed and fsynced, then ``os.replace`` and an fsync of the folder, all under the target's file lock
(:func:`file_lock`, ``.NAME.lock`` from the ``filelock`` package). Writing through a symlink writes the link's
target (the link stays); a new file gets ``0o666 & ~umask`` (the mode ``open(2)`` gives), a replaced file keeps its
mode; temporary files of our own pattern left by a killed writer are removed on the next write of that file.

State directories (:func:`write_state_dir`, :func:`read_state_dir`): several files (a runtime's bank and state)
written as one atomic unit, see :func:`write_state_dir`.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import stat
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Mapping

from skillrl.errors import BankConflictError, BankFormatError, BankNotFoundError, short_repr

MAX_BANK_BYTES = 64 * 1024 * 1024
"""Largest bank file (and state file) read, in bytes (64 MiB; the official banks are 15-25 KB). Larger files are
rejected before they are read; :meth:`skillrl.bank.SkillBank.load` takes ``max_bytes`` to change it per call."""
MAX_DEPTH = 64
"""Deepest nesting of JSON arrays/objects accepted (a native bank needs 8: ``$.history[i].edits[j].after.provenance
.episode_ids[k]``; metadata may use the rest)."""
LOCK_TIMEOUT = 120.0
"""Seconds to wait for a bank file's lock before :class:`~skillrl.errors.BankConflictError` (a lock holder that dies
releases it at once: the lock is ``flock(2)``)."""

NATIVE_FORMAT = "skillrl-bank"
NATIVE_FORMAT_VERSION = 1
TASK_KEYS = ("task_specific_skills", "query_type_skills")
"""Keys under which official banks keep task-specific skills (the Search bank uses ``query_type_skills``)."""
CONTENT_KEYS = ("general_skills", *TASK_KEYS, "common_mistakes")
"""Keys that hold records; a document needs at least one of them to be a skill bank."""
OFFICIAL_KEYS = (*CONTENT_KEYS, "metadata")
NATIVE_KEYS = ("format", "format_version", "version", "task_key", "key_order", "extra", "history")
"""Top-level keys only the native format has (with :data:`OFFICIAL_KEYS`)."""
OPTIONAL_NATIVE_KEYS = ("quarantine", "stats")
"""Native keys written only when they hold something, so a native file without them is read as having none:
``quarantine`` (records screening flagged, issue 12) and ``stats`` (the usage per skill, issue 15:
:class:`skillrl.utility.UsageStats`, checked by :meth:`~skillrl.utility.UsageStats.from_native`)."""

Format = Literal["native", "official"]


# ====================================================================================== reading


def read_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_BANK_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), at most ``max_bytes`` of them.

    Raises:
        BankNotFoundError: no such file (also a ``FileNotFoundError``).
        BankFormatError: a directory, FIFO, socket or device; larger than ``max_bytes``; any other ``OSError``
            (permission, symlink loop, I/O error), each as one line naming the file.
    """
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise BankFormatError(path, "$", "a regular file", "a directory")
        if not stat.S_ISREG(st.st_mode):
            raise BankFormatError(path, "$", "a regular file", _file_kind(st.st_mode))
        if st.st_size > max_bytes:
            raise BankFormatError(path, "$", f"at most {max_bytes} bytes (skillrl.storage.MAX_BANK_BYTES)",
                                  f"{st.st_size} bytes")
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise BankNotFoundError(path) from None
    except BankFormatError:
        raise
    except OSError as err:
        raise BankFormatError(path, "$", "a readable file", f"{type(err).__name__}: {err.strerror or err}") from None
    if len(data) > max_bytes:
        raise BankFormatError(path, "$", f"at most {max_bytes} bytes (skillrl.storage.MAX_BANK_BYTES)",
                              "a file that grew past it while read")
    return data


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32 LE"), (codecs.BOM_UTF32_BE, "UTF-32 BE"), (codecs.BOM_UTF8, "UTF-8"),
         (codecs.BOM_UTF16_LE, "UTF-16 LE"), (codecs.BOM_UTF16_BE, "UTF-16 BE"))


def decode(data: bytes, file: str | os.PathLike[str] | None = None) -> str:
    """``data`` as UTF-8 text without a byte-order mark (RFC 8259 Sec. 8.1: JSON is UTF-8, no BOM).

    Raises:
        BankFormatError: a byte-order mark, UTF-16/32 text (NUL bytes), or bytes that are not UTF-8 (with the
            line and byte offset of the first bad byte).
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise BankFormatError(file, "$", "UTF-8 JSON without a byte-order mark", f"a {name} byte-order mark")
    if b"\x00" in data[:4]:
        raise BankFormatError(file, "$", "UTF-8 JSON", "NUL bytes at the start (UTF-16 or UTF-32 text?)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise BankFormatError(file, f"$ (line {line}, byte {err.start})", "UTF-8 text",
                              f"byte 0x{data[err.start]:02x} ({err.reason})") from None


class _NonFinite:
    """What ``NaN``, ``Infinity``, ``-Infinity`` and overflowing floats parse to, so the walk can name their path."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _DupDict(dict):  # type: ignore[type-arg]
    """An object that had a duplicate key (``dup`` names the first), kept so the walk can name its path."""

    dup: str = ""


def parse_json(data: bytes | str, file: str | os.PathLike[str] | None = None) -> Any:
    """Parse one JSON document strictly (see :func:`decode` for bytes, then :func:`check_tree`).

    Raises:
        BankFormatError: invalid JSON (line and column), nesting deeper than :data:`MAX_DEPTH`, NaN/Infinity,
            duplicate keys, integers too long to convert, unpaired surrogates (with the JSON path).
    """
    text = decode(data, file) if isinstance(data, (bytes, bytearray)) else data
    flagged: list[bool] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) != len(items):
            seen: set[str] = set()
            bad = _DupDict(out)
            bad.dup = next(k for k, _ in items if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            flagged.append(True)
            return bad
        return out

    def constant(text: str) -> Any:
        flagged.append(True)
        return _NonFinite(text)

    def number(text: str) -> Any:
        value = float(text)
        return value if math.isfinite(value) else constant(text)

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_float=number)
    except json.JSONDecodeError as err:
        raise BankFormatError(file, f"$ (line {err.lineno}, column {err.colno})", "valid JSON", err.msg) from None
    except RecursionError:
        raise BankFormatError(file, "$", f"JSON nested at most {MAX_DEPTH} levels deep",
                              "nesting too deep to parse") from None
    except ValueError as err:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise BankFormatError(file, "$", "valid JSON", short_repr(str(err).split(";")[0], 90)) from None
    check_tree(doc, file, scalars=bool(flagged) or _SURROGATE_ESCAPE.search(text) is not None)
    return doc


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def check_tree(doc: Any, file: str | os.PathLike[str] | None = None, max_depth: int = MAX_DEPTH, *,
               scalars: bool = True) -> None:
    """Walk a parsed (or in-memory) document without recursion and reject what JSON cannot hold faithfully:
    NaN/Infinity, duplicate keys, nesting deeper than ``max_depth``, strings or keys with unpaired surrogates.
    ``scalars=False`` checks only nesting and duplicate keys (what :func:`parse_json` does when the text has no
    NaN/Infinity and no surrogate escape).

    Raises:
        BankFormatError: with the JSON path of the first offending value.
    """
    if not isinstance(doc, (dict, list)):
        if scalars:
            _check_scalar(doc, file, None)
        return
    stack: list[tuple[Any, int, Any]] = [(doc, 0, None)]
    while stack:
        value, depth, where = stack.pop()
        if depth >= max_depth:
            raise BankFormatError(file, _path(where), f"JSON nested at most {max_depth} levels deep", "deeper nesting")
        if isinstance(value, _DupDict):
            raise BankFormatError(file, _path(where), "each key once in an object", f"{value.dup!r} twice")
        is_dict = isinstance(value, dict)
        for k, v in (value.items() if is_dict else enumerate(value)):
            if isinstance(v, (dict, list)):
                stack.append((v, depth + 1, (where, k)))
            elif scalars:
                _check_scalar(v, file, (where, k))
            if scalars and is_dict and isinstance(k, str) and not k.isascii() and not _encodable(k):
                raise BankFormatError(file, _path(where), "keys without unpaired UTF-16 surrogates", short_repr(k))


def _check_scalar(value: Any, file: Any, where: Any) -> None:
    if isinstance(value, str):
        if not value.isascii() and not _encodable(value):
            raise BankFormatError(file, _path(where), "text without unpaired UTF-16 surrogates", short_repr(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BankFormatError(file, _path(where), "a finite number (JSON has no NaN or Infinity)", repr(value))
    elif isinstance(value, _NonFinite):
        raise BankFormatError(file, _path(where), "a finite number (JSON has no NaN or Infinity)", value.text)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def key_path(parent: str, key: str | int) -> str:
    """JSONPath of ``key`` under ``parent``: ``$.a``, ``$[3]``, ``$['odd key']``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if _IDENT.match(key) else f"{parent}[{key!r}]"


def _path(where: Any, limit: int = 12) -> str:
    parts: list[Any] = []
    while where is not None:
        where, key = where
        parts.append(key)
    parts.reverse()
    shown = parts if len(parts) <= limit else parts[:limit]
    out = "$"
    for p in shown:
        out = key_path(out, p)
    return out if len(parts) <= limit else f"{out}...(depth {len(parts)})"


# ====================================================================================== formats


def document_format(doc: Any, file: str | os.PathLike[str] | None = None) -> Format:
    """``"native"`` or ``"official"`` for a parsed bank document; rejects what is neither.

    A document with ``format`` is native and its value must be ``"skillrl-bank"``. A document without it must not
    carry native keys (``version``, ``history``, ...: a misspelt or lost ``format`` would load a native file as an
    official one at version 0), and is then checked by :func:`check_official_keys`.

    Raises:
        BankFormatError: not an object, a wrong ``format``, native keys without ``format``, see
            :func:`check_official_keys`.
    """
    if not isinstance(doc, dict):
        raise BankFormatError(file, "$", "a JSON object (a skill bank)", type(doc).__name__)
    if "format" in doc:
        if doc["format"] != NATIVE_FORMAT:
            raise BankFormatError(file, "$.format", f"{NATIVE_FORMAT!r} (the native skillrl format)",
                                  short_repr(doc["format"]))
        return "native"
    native = [k for k in NATIVE_KEYS if k in doc]
    if native:
        raise BankFormatError(file, "$.format", f"{NATIVE_FORMAT!r} (the document has the native keys "
                                                f"{', '.join(native)})", "no 'format' key")
    check_official_keys(doc, file)
    return "official"


def check_official_keys(doc: dict[str, Any], file: str | os.PathLike[str] | None = None) -> None:
    """An official document must hold at least one of :data:`CONTENT_KEYS` and no misspelling of a known key
    (``comon_mistakes``, ``fromat``; such a key would be kept as an unknown extra and its records never loaded).
    Other unknown keys are kept and written back.

    Raises:
        BankFormatError: no known key, or a key that is a near miss of a known one.
    """
    known = (*CONTENT_KEYS, "format")
    for k in doc:
        if k in OFFICIAL_KEYS:
            continue
        if isinstance(doc[k], str) and doc[k] == NATIVE_FORMAT:
            raise BankFormatError(file, key_path("$", k), f"the key 'format' for {NATIVE_FORMAT!r}", repr(k))
        close = difflib.get_close_matches(k.lower(), known, n=1, cutoff=0.8)
        if close:
            raise BankFormatError(file, key_path("$", k), f"a known key (did you mean {close[0]!r}?)", repr(k))
    if not any(k in doc for k in CONTENT_KEYS):
        raise BankFormatError(file, "$", "a skill bank: at least one of " + ", ".join(map(repr, CONTENT_KEYS)),
                              "keys " + short_repr(list(doc)) if doc else "an empty object")


def check_native_header(doc: dict[str, Any], file: str | os.PathLike[str] | None = None) -> str:
    """Check a native document's top level (everything but the records and the history entries); return its
    ``task_key``.

    Every key :meth:`SkillBank.to_native` always writes must be present and no other but
    :data:`OPTIONAL_NATIVE_KEYS` (``quarantine``: a list when present; ``stats``: an object); ``format_version`` is
    :data:`NATIVE_FORMAT_VERSION`; ``version`` a non-negative integer (not a boolean, not ``3.0``); ``task_key`` one
    of :data:`TASK_KEYS`; ``key_order`` a list of distinct strings; ``extra`` an object that does not shadow a key
    of the bank itself; ``history`` a list.

    Raises:
        BankFormatError: the first violation, with its JSON path.
    """
    fv = doc.get("format_version")
    if type(fv) is not int or fv != NATIVE_FORMAT_VERSION:
        raise BankFormatError(file, "$.format_version", f"{NATIVE_FORMAT_VERSION}", short_repr(fv))
    task_key = doc.get("task_key")
    if task_key not in TASK_KEYS:
        raise BankFormatError(file, "$.task_key", " or ".join(map(repr, TASK_KEYS)), short_repr(task_key))
    required = (*NATIVE_KEYS, "general_skills", task_key, "common_mistakes", "metadata")
    allowed = (*required, *OPTIONAL_NATIVE_KEYS)
    for k in required:
        if k not in doc:
            raise BankFormatError(file, key_path("$", k), "present in a native bank (skillrl writes every key)",
                                  "nothing")
    for k in doc:
        if k not in allowed:
            hint = f" whose task_key is {task_key!r}" if k in TASK_KEYS else ""
            raise BankFormatError(file, key_path("$", k), f"no key {k!r} in a native bank{hint}",
                                  short_repr(doc[k], 40))
    version = doc["version"]
    if type(version) is not int or version < 0:
        raise BankFormatError(file, "$.version", "a non-negative integer", short_repr(version))
    order = doc["key_order"]
    if not isinstance(order, list) or not all(isinstance(k, str) for k in order) or len(set(order)) != len(order):
        raise BankFormatError(file, "$.key_order", "a list of distinct key names", short_repr(order))
    extra = doc["extra"]
    if not isinstance(extra, dict):
        raise BankFormatError(file, "$.extra", "an object of extra top-level keys", type(extra).__name__)
    for k in extra:
        if k in OFFICIAL_KEYS or k in NATIVE_KEYS or k in OPTIONAL_NATIVE_KEYS:
            raise BankFormatError(file, key_path("$.extra", k),
                                  "no key of the bank itself (it would shadow the real one on export)", repr(k))
    if not isinstance(doc["history"], list):
        raise BankFormatError(file, "$.history", "a list of changes", type(doc["history"]).__name__)
    if "quarantine" in doc and not isinstance(doc["quarantine"], list):
        raise BankFormatError(file, "$.quarantine", "a list of quarantine entries", type(doc["quarantine"]).__name__)
    return task_key


# ====================================================================================== writing


def dump_json(doc: Any, indent: int | None = 2, file: str | os.PathLike[str] | None = None) -> bytes:
    """``doc`` as UTF-8 JSON bytes with a final newline (non-ASCII kept as is).

    Raises:
        TypeError: a value JSON cannot encode.
        BankFormatError: NaN/Infinity or an unpaired surrogate (nothing to write then).
    """
    try:
        return (json.dumps(doc, indent=indent, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    except ValueError as err:  # UnicodeEncodeError is a ValueError too
        check_tree(doc, file)
        raise BankFormatError(file, "$", "a JSON-encodable document", short_repr(str(err))) from None


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def resolve(path: str | os.PathLike[str]) -> Path:
    """The real path ``path`` names (symlinks followed; a dangling link gives its target)."""
    return Path(os.path.realpath(os.fspath(path)))


_LOCKS: dict[str, Any] = {}  # lock path -> FileLock of this process (filelock refuses instances inherited by fork)
_LOCKS_GUARD = threading.Lock()


def _forget_locks_after_fork() -> None:
    global _LOCKS_GUARD
    _LOCKS.clear()
    _LOCKS_GUARD = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_after_fork)


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of ``path``: ``.NAME.lock`` beside the real file."""
    target = resolve(path)
    return target.with_name(f".{target.name}.lock")


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the inter-process lock of ``path`` (``filelock.FileLock`` on :func:`lock_path`). Re-entrant within a
    thread; other threads and processes wait.

    Raises:
        BankConflictError: not acquired within ``timeout`` seconds.
    """
    from filelock import FileLock, Timeout

    lp = lock_path(path)
    lp.parent.mkdir(parents=True, exist_ok=True)
    key = str(lp)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = FileLock(key)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise BankConflictError(f"{path}: could not lock it within {timeout:g} s (another process holds {lp})") from None
    try:
        yield
    finally:
        lock.release()


def _is_temp_of(name: str, entry: str) -> bool:
    """``entry`` is a temp file of ours for ``name``: ``.NAME.<no dot>.tmp`` (``<pid>-<hex>``, or mkstemp's 8
    characters of older versions); ``.NAME.bak.<x>.tmp`` belongs to ``NAME.bak``, not to ``NAME``."""
    prefix = f".{name}."
    if not (entry.startswith(prefix) and entry.endswith(".tmp")):
        return False
    middle = entry[len(prefix):-4]
    return bool(middle) and "." not in middle


def remove_stale_temps(path: str | os.PathLike[str]) -> list[str]:
    """Remove temporary files of our own pattern (``.NAME.*.tmp``) beside the real file of ``path``; returns the
    names removed. Call only while holding :func:`file_lock` of ``path`` (every writer of it holds that lock, so any
    such file is a killed writer's leftover)."""
    target = resolve(path)
    removed = []
    with contextlib.suppress(FileNotFoundError), os.scandir(target.parent) as it:
        for entry in it:
            if _is_temp_of(target.name, entry.name) and not entry.is_dir(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


def _temp_name(name: str) -> str:
    return f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _fsync_dir(directory: str | os.PathLike[str]) -> None:
    with contextlib.suppress(OSError):  # not possible on every filesystem
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_new(path: Path, data: bytes, mode: int | None = None) -> None:
    """Create ``path`` (must not exist) with ``data``, fsynced. Mode: ``mode``, else ``0o666 & ~umask``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, timeout: float = LOCK_TIMEOUT) -> Path:
    """Write ``data`` to ``path`` atomically: readers see the old file or the new one, never a part.

    Under :func:`file_lock` of ``path``: stale ``.NAME.*.tmp`` files are removed, the data goes to a new temporary
    file beside the real target (symlinks are followed; the link itself stays), which is fsynced and
    ``os.replace``-d onto the target; then the folder is fsynced. A replaced file keeps its permission bits; a new
    one gets ``0o666 & ~umask``. Returns ``Path(path)``.

    Raises:
        OSError: the write failed (the old file is intact and the temporary file removed).
        BankConflictError: the lock was not acquired within ``timeout``.
    """
    target = resolve(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target, timeout):
        remove_stale_temps(target)
        try:
            mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = None
        tmp = target.with_name(_temp_name(target.name))
        try:
            _write_new(tmp, data, mode)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(target.parent)
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], doc: Any, indent: int | None = 2) -> Path:
    """:func:`dump_json` then :func:`atomic_write_bytes`. Raises ``TypeError`` for values JSON cannot encode and
    :class:`BankFormatError` for NaN/Infinity (nothing is written then)."""
    return atomic_write_bytes(path, dump_json(doc, indent, file=path))


def disk_stamp(path: str | os.PathLike[str]) -> tuple[int | None, str] | None:
    """``(version, sha256)`` of the file at ``path`` as it is now (``version`` ``None`` when it has none or does not
    parse), or ``None`` when there is no file. For conflict messages; never raises for content."""
    try:
        data = read_bytes(path)
    except BankNotFoundError:
        return None
    except BankFormatError:
        return (None, "")
    try:
        version = json.loads(data).get("version")
    except (ValueError, AttributeError, RecursionError):
        version = None
    return (version if type(version) is int else None), sha256_hex(data)


# ====================================================================================== state directories

STATE_SUBDIR = ".skillrl-state"
"""Folder inside a state directory that holds its generations and the ``current`` link."""
_MANIFEST = "MANIFEST.json"
_STATE_FORMAT = "skillrl-state-dir"
_GEN = re.compile(r"^g(\d{6,})-[0-9a-f]{8}$")


def _check_name(name: str) -> None:
    if not name or "/" in name or "\\" in name or name.startswith(".") or name in (STATE_SUBDIR, _MANIFEST):
        raise BankConflictError(f"state file name {name!r}: expected a plain file name (no '/', not starting with '.')")


def write_state_dir(directory: str | os.PathLike[str], files: Mapping[str, bytes | Any], *,
                    timeout: float = LOCK_TIMEOUT) -> Path:
    """Write ``files`` (``{name: bytes or a JSON document}``) into ``directory`` as ONE atomic unit.

    Layout (POSIX; relative symlinks, so the directory can be moved or copied)::

        directory/NAME                 -> .skillrl-state/current/NAME      (one link per file)
        directory/.skillrl-state/current -> g000007-1a2b3c4d
        directory/.skillrl-state/g000007-1a2b3c4d/{NAME..., MANIFEST.json}

    Under the lock of ``directory/.skillrl-state``: a new generation folder is written and fsynced (each file and a
    ``MANIFEST.json`` with every file's sha256 and size), then the ``current`` link is replaced in one
    ``os.replace`` - the commit point: a kill before it leaves the previous generation current, a kill after it the
    new one, never a mix. Then the ``directory/NAME`` links are created where missing (regular files of an older
    layout are replaced by links; links of names no longer written are removed), and every other generation folder and
    temporary file of ours is removed. Other files in ``directory`` are left alone. Returns ``Path(directory)``.

    Raises:
        BankConflictError: a name that is not a plain file name; the lock not acquired within ``timeout``.
        TypeError, BankFormatError: a value that is not bytes and not JSON-encodable.
        OSError: the write failed (the previous generation stays current).
    """
    directory = Path(directory)
    payload: dict[str, bytes] = {}
    for name, value in files.items():
        _check_name(name)
        payload[name] = bytes(value) if isinstance(value, (bytes, bytearray)) else dump_json(value, file=directory / name)
    sub = directory / STATE_SUBDIR
    sub.mkdir(parents=True, exist_ok=True)
    with file_lock(sub / "commit", timeout):  # lock file .skillrl-state/.commit.lock
        old_gen = _current_gen(sub)
        old_names = _manifest_names(sub / old_gen) if old_gen else []
        if old_gen == "current":  # a copied directory: give the real folder a generation name, then go on as usual
            seq: Any = None
            with contextlib.suppress(BankFormatError):
                seq = _read_manifest(sub / old_gen).get("generation")
            seq = seq if type(seq) is int and seq >= 0 else 0
            old_gen = f"g{seq:06d}-{secrets.token_hex(4)}"
            os.rename(sub / "current", sub / old_gen)
        seq = int(_GEN.match(old_gen).group(1)) + 1 if old_gen else 1  # type: ignore[union-attr]
        gen = f"g{seq:06d}-{secrets.token_hex(4)}"
        gdir = sub / gen
        gdir.mkdir()
        for name, data in payload.items():
            _write_new(gdir / name, data)
        manifest = {"format": _STATE_FORMAT, "format_version": 1, "generation": seq,
                    "files": {n: {"sha256": sha256_hex(d), "bytes": len(d)} for n, d in payload.items()}}
        _write_new(gdir / _MANIFEST, dump_json(manifest))
        _fsync_dir(gdir)
        _fsync_dir(sub)
        link_tmp = sub / _temp_name("current")
        os.symlink(gen, link_tmp)
        os.replace(link_tmp, sub / "current")  # the commit
        _fsync_dir(sub)
        for name in payload:
            _ensure_link(directory / name, f"{STATE_SUBDIR}/current/{name}")
        for name in old_names:
            link = directory / name
            if name not in payload and os.path.islink(link) and os.readlink(link) == f"{STATE_SUBDIR}/current/{name}":
                os.unlink(link)
        _fsync_dir(directory)
        _clean_state_dir(directory, keep=gen, names=set(payload) | set(old_names))
    return directory


def _ensure_link(link: Path, target: str) -> None:
    if os.path.islink(link) and os.readlink(link) == target:
        return
    tmp = link.with_name(_temp_name(link.name))
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _current_gen(sub: Path) -> str | None:
    """The generation ``current`` names; ``"current"`` itself when it is a real folder (a copy made with symlinks
    followed, e.g. ``shutil.copytree`` or ``cp -rL``); ``None`` when nothing was committed."""
    link = sub / "current"
    if not os.path.islink(link):
        return "current" if (link / _MANIFEST).is_file() else None
    gen = os.readlink(link)
    if not _GEN.match(gen):
        raise BankFormatError(link, "$", "a link to a generation folder gNNNNNN-xxxxxxxx", repr(gen))
    return gen


def _manifest_names(gdir: Path) -> list[str]:
    with contextlib.suppress(BankFormatError):
        return list(_read_manifest(gdir)["files"])
    return []


def _read_manifest(gdir: Path) -> dict[str, Any]:
    path = gdir / _MANIFEST
    doc = parse_json(read_bytes(path), path)
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("format") != _STATE_FORMAT or not isinstance(files, dict):
        raise BankFormatError(path, "$", f"a {_STATE_FORMAT} manifest with 'files'", short_repr(doc))
    for name, meta in files.items():
        if (not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str)
                or type(meta.get("bytes")) is not int):
            raise BankFormatError(path, key_path("$.files", name), "{sha256, bytes}", short_repr(meta))
        _check_name(name)
    return doc


def _clean_state_dir(directory: Path, keep: str, names: set[str]) -> None:
    sub = directory / STATE_SUBDIR
    with os.scandir(sub) as it:
        for entry in it:
            if entry.name in (keep, "current", ".commit.lock"):
                continue
            if _GEN.match(entry.name) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            elif _is_temp_of("current", entry.name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
    with os.scandir(directory) as it:
        for entry in it:
            if any(_is_temp_of(n, entry.name) for n in names) and entry.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def state_dir_leftovers(directory: str | os.PathLike[str]) -> list[str]:
    """Names in a state directory that a completed :func:`write_state_dir` would have removed: generation folders
    other than the current one and temporary links (for tests and the kill benchmark)."""
    directory = Path(directory)
    sub = directory / STATE_SUBDIR
    out: list[str] = []
    if not sub.is_dir():
        return out
    keep = _current_gen(sub)
    for entry in os.scandir(sub):
        if (_GEN.match(entry.name) and entry.name != keep) or entry.name.endswith(".tmp"):
            out.append(f"{STATE_SUBDIR}/{entry.name}")
    out += [e.name for e in os.scandir(directory) if e.name.startswith(".") and e.name.endswith(".tmp")]
    return sorted(out)


def read_state_dir(directory: str | os.PathLike[str], names: Iterable[str] | None = None) -> dict[str, bytes]:
    """The files :func:`write_state_dir` last committed in ``directory``: ``{name: bytes}``, each verified against
    the manifest's sha256 and size (a consistent set even while a writer commits a newer one).

    A directory without ``.skillrl-state`` (the layout before this one) is read as plain files: ``names`` lists
    the file names to read then (missing ones are left out; no verification is possible).

    Raises:
        BankNotFoundError: no committed state and none of ``names`` present (also a ``FileNotFoundError``).
        BankFormatError: a file or the manifest is unreadable or does not match the manifest (changed since it was
            written), naming the file.
    """
    directory = Path(directory)
    sub = directory / STATE_SUBDIR
    for _ in range(8):  # a concurrent writer may remove the generation we resolved: resolve again
        gen = _current_gen(sub) if sub.is_dir() else None
        if gen is None:
            break
        gdir = sub / gen
        try:
            manifest = _read_manifest(gdir)
            out = {}
            for name, meta in manifest["files"].items():
                data = read_bytes(gdir / name)
                if len(data) != meta["bytes"] or sha256_hex(data) != meta["sha256"]:
                    raise BankFormatError(directory / name, "$", f"the content the state manifest names "
                                          f"(sha256 {meta['sha256'][:12]}, {meta['bytes']} bytes; changed since "
                                          f"it was written?)", f"sha256 {sha256_hex(data)[:12]}, {len(data)} bytes")
                out[name] = data
            return out
        except BankNotFoundError:
            if _current_gen(sub) == gen:
                raise
            continue
    names = list(names or [])
    out = {}
    for name in names:
        _check_name(name)
        with contextlib.suppress(BankNotFoundError):
            out[name] = read_bytes(directory / name)
    if not out:
        raise BankNotFoundError(directory / (names[0] if names else STATE_SUBDIR))
    return out

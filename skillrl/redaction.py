"""Redaction of secrets and personal data in text that leaves the machine (trajectories sent to a hosted teacher).

An LLM teacher (:mod:`skillrl.teachers`) is shown real episodes: task texts, observations, actions. A web agent's
observations can hold an API key printed on a settings page, a bearer token in a request log, a user's e-mail
address. :class:`Redactor` replaces such spans with ``[REDACTED:<kind>]`` before a prompt is sent; the prompt
builders of :mod:`skillrl.teachers.prompts` apply it to the user prompt (episodes, current skills and mistakes).

Default patterns (:data:`DEFAULT_PATTERNS`, each a name and a regular expression, applied in this order):

====================  ==================================================================================
name                  what it matches
====================  ==================================================================================
``private_key``       PEM private key blocks (``-----BEGIN ... PRIVATE KEY----- ... -----END ...``)
``url_credentials``   ``user:password@`` in a URL (the host stays)
``bearer``            the token after ``Bearer`` / ``Basic`` (an ``Authorization`` header's value) when it
                      holds a digit or a symbol
``assignment``        the value of ``api_key=``, ``token:``, ``password=``, ``secret:``, ``access_key=``, ...
``api_key``           vendor key shapes: ``sk-...`` (OpenAI, Anthropic), ``AKIA...`` (AWS), ``ghp_`` /
                      ``github_pat_`` (GitHub), ``xox?-`` (Slack), ``AIza...`` (Google), ``hf_...``
                      (Hugging Face), ``sk_live_`` / ``rk_test_`` (Stripe)
``jwt``               JSON Web Tokens (``eyJ...`` . ``eyJ...`` . signature)
``email``             e-mail addresses
``hex_secret``        runs of 32 or more hexadecimal digits (keys, session ids, digests)
``base64_secret``     runs of 40 or more base64 / base64url characters holding upper- and lower-case letters
                      and digits, an unbroken piece of 12 or more between ``/ _ - +``, less than 30% of them
                      in runs of four or more lower-case letters (encoded keys and tokens; file paths such as
                      ALFWorld game names and CamelCase words do not qualify)
====================  ==================================================================================

Extra patterns are opt-in (``Redactor(extra=[r"ACME-\\d{6}"])`` or ``(name, regex)`` pairs, e.g. customer ids
or internal host names). The defaults were chosen not to touch ALFWorld, WebShop or search-QA text: none of them
matches anything in the official skill banks or the expert demonstrations under ``../shared/data`` (see
``tests/test_write_gate.py``).

Which teachers redact by default: :class:`skillrl.teachers.OpenAITeacher` when its base URL is not on the loopback
interface (the public OpenAI API, any hosted or remote endpoint: the text leaves the machine), not for a server on
``127.0.0.1`` / ``localhost``; the local ``transformers`` teacher never needs to (nothing leaves the machine) and
the offline teacher sends nothing. Every teacher takes ``redact=`` to choose, and evolution's
:class:`skillrl.evolve.EvolutionConfig` has ``redact`` / ``redact_patterns``.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from skillrl.errors import ConfigError

__all__ = ["DEFAULT_PATTERNS", "Redactor", "is_loopback_url", "redact", "resolve_redactor"]

_KEY_NAMES = (r"api[_-]?key|apikey|api[_-]?token|access[_-]?token|auth[_-]?token|refresh[_-]?token|secret[_-]?key|"
              r"client[_-]?secret|access[_-]?key(?:[_-]?id)?|private[_-]?key|password|passwd|pwd|passphrase|secret|"
              r"token")

DEFAULT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----"),
    ("url_credentials", r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    ("bearer", r"(?i)(?<=\bbearer )[A-Za-z0-9._~+/=-]{8,}|(?<=\bbasic )[A-Za-z0-9+/]{12,}={0,2}"),
    # the key and separator are kept (group 1), the value (group 2) is redacted
    ("assignment", r"(?i)((?<![A-Za-z0-9])(?:" + _KEY_NAMES + r")[\"']?\s*[:=]\s*[\"']?)([^\s\"',;]{6,})"),
    ("api_key", r"\b(?:sk-(?:proj-|ant-(?:api\d\d-)?|live-|test-)?[A-Za-z0-9_-]{20,}|(?:AKIA|ASIA)[0-9A-Z]{16}|"
                r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|"
                r"AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,})"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ("email", r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ("hex_secret", r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])"),
    ("base64_secret", r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{40,}={0,2}(?![A-Za-z0-9+/=_-])"),
)
"""``(name, regex)`` of the default patterns, in the order they are applied (see the module docstring)."""

_WORDISH = re.compile(r"[a-z]{4,}")
_SEPARATORS = re.compile(r"[/+_=-]")


def _encoded(text: str) -> bool:
    """A base64-shaped run that looks encoded, not written: upper- and lower-case letters and digits, and less than
    30% of it in runs of four or more lower-case letters (file paths and CamelCase names are mostly such runs,
    random base64 rarely), and a piece of at least 12 characters between ``/ _ - +`` (ALFWorld game paths such as
    ``train/look_at_obj_in_light-Book-None-DeskLamp-303/trial_T20190909_085406_916808`` are short pieces)."""
    if not (any(c.isdigit() for c in text) and any(c.isupper() for c in text) and any(c.islower() for c in text)):
        return False
    if max(len(part) for part in _SEPARATORS.split(text)) < 12:  # short pieces joined by / _ - +: a path or a name
        return False
    return sum(len(m) for m in _WORDISH.findall(text)) < 0.3 * len(text)


def _token_like(text: str) -> bool:
    """A credential after ``Bearer`` / ``Basic``: holds a digit or a symbol (``disambiguation`` does not)."""
    return any(c.isdigit() or c in "._~+/=-" for c in text)


_CHECKS: dict[str, Callable[[str], bool]] = {"base64_secret": _encoded, "bearer": _token_like}


class Redactor:
    """Replaces secrets and personal data with ``[REDACTED:<name>]`` (see the module docstring).

    Args:
        patterns: names of default patterns to use (``None``: all of :data:`DEFAULT_PATTERNS`).
        extra: opt-in patterns: regular expressions (named ``custom``, ``custom_2``, ...) or ``(name, regex)``
            pairs, applied after the defaults; a match is replaced whole.
        disable: names of default patterns to leave out.
        placeholder: the replacement, formatted with ``name`` (default ``"[REDACTED:{name}]"``).

    Attributes:
        counts: matches replaced so far, per pattern name (over every call; thread-safe).

    Raises:
        ConfigError: an unknown pattern name, or an extra pattern that is not a valid regular expression.
    """

    def __init__(self, patterns: Iterable[str] | None = None, *, extra: Iterable[str | tuple[str, str]] = (),
                 disable: Iterable[str] = (), placeholder: str = "[REDACTED:{name}]") -> None:
        known = [n for n, _ in DEFAULT_PATTERNS]
        chosen = known if patterns is None else list(patterns)
        bad = [n for n in [*chosen, *disable] if n not in known]
        if bad:
            raise ConfigError(f"unknown redaction pattern(s) {bad}; known: {', '.join(known)}")
        drop = set(disable)
        self.rules: list[tuple[str, re.Pattern[str]]] = []
        for name, rx in DEFAULT_PATTERNS:
            if name in chosen and name not in drop:
                self.rules.append((name, re.compile(rx)))
        for i, item in enumerate(extra):
            name, rx = (item if isinstance(item, tuple) else (f"custom{'' if i == 0 else f'_{i + 1}'}", item))
            try:
                self.rules.append((str(name), re.compile(rx)))
            except (re.error, TypeError) as err:
                raise ConfigError(f"redaction pattern {rx!r} is not a valid regular expression: {err}") from None
        self.placeholder = placeholder
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The pattern names in use, in order."""
        return [n for n, _ in self.rules]

    def redact_counted(self, text: str) -> tuple[str, Counter[str]]:
        """``(redacted text, matches per pattern name)``."""
        found: Counter[str] = Counter()
        for name, rx in self.rules:
            mark = self.placeholder.format(name=name)

            def sub(m: re.Match[str], name: str = name, mark: str = mark) -> str:
                if name == "assignment":
                    if m.group(2).startswith("[REDACTED"):
                        return m.group(0)
                    found[name] += 1
                    return m.group(1) + mark
                check = _CHECKS.get(name)
                if check is not None and not check(m.group(0)):
                    return m.group(0)
                found[name] += 1
                return mark

            text = rx.sub(sub, text)
        if found:
            with self._lock:
                self.counts.update(found)
        return text, found

    def redact(self, text: str) -> str:
        """``text`` with every match replaced (see :meth:`redact_counted`)."""
        return self.redact_counted(text)[0]

    __call__ = redact

    def __repr__(self) -> str:
        return f"Redactor({', '.join(self.names)})"


_DEFAULT: Redactor | None = None


def redact(text: str) -> str:
    """``text`` with the default patterns redacted (a shared :class:`Redactor`)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Redactor()
    return _DEFAULT.redact(text)


def resolve_redactor(value: Any) -> Callable[[str], str] | None:
    """The redactor a ``redact=`` setting names: ``True`` a default :class:`Redactor`, ``False`` / ``None`` none, a
    list of regular expressions a default redactor with those extra patterns, a :class:`Redactor` or any
    ``str -> str`` callable itself.

    Raises:
        ConfigError: anything else, or an invalid extra pattern.
    """
    if value is None or value is False:
        return None
    if value is True:
        return Redactor()
    if isinstance(value, (list, tuple)):
        return Redactor(extra=value)
    if callable(value):
        return value
    raise ConfigError(f"redact must be True, False, None, a list of regular expressions or a Redactor, got "
                      f"{type(value).__name__}")


def is_loopback_url(url: str | None) -> bool:
    """Whether ``url``'s host is this machine's loopback interface (``localhost``, ``*.localhost``, 127.0.0.0/8,
    ``::1``). ``None`` (a client's default endpoint, the public OpenAI API) is not."""
    if not url:
        return False
    host = (urlsplit(url if "://" in url else f"http://{url}").hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

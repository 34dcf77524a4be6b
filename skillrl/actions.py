"""Choosing an admissible command from a policy's free-text reply.

ALFWorld (and text games like it) lists the commands valid now (``admissible_commands``); a chat model answers in
free text. :func:`choose_admissible` parses the reply (``<action>...</action>`` tags as in verl-agent / SkillRL's
prompts, ``Action:`` / ``>`` prefixes, a bare command) and, when it is not exactly an admissible command, takes the
admissible command it contains or, failing that, the closest one. Self-contained (``re`` and ``difflib`` only).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Choice", "choose_admissible"]

_TAG_RE = re.compile(r"<action>(.*?)(?:</action>|$)", re.IGNORECASE | re.DOTALL)
_PREFIX_RE = re.compile(r"^\s*(?:>+|(?:next\s+)?action\s*[:=]|act\s*:|command\s*:)\s*", re.IGNORECASE)
_EDGE_RE = re.compile(r"^[\s\"'`*.>\-]+|[\s\"'`*.!]+$")
_SPACE_RE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE_RE.sub(" ", _EDGE_RE.sub("", str(text))).lower().strip()


@dataclass(frozen=True)
class Choice:
    """What :func:`choose_admissible` decided.

    Attributes:
        action: the command to send to the environment.
        reply: the policy's raw reply.
        how: ``"exact"`` (a parsed candidate is an admissible command), ``"contained"`` (the reply contains one;
            the longest wins), ``"closest"`` (the most similar by ``difflib`` ratio), ``"empty"`` (empty reply:
            the first admissible command), or ``"free"`` (no admissible list: the parsed reply itself).
        score: similarity of the chosen command to the reply (1.0 for exact / contained).
    """

    action: str
    reply: str
    how: Literal["exact", "contained", "closest", "empty", "free"]
    score: float = 1.0


def _candidates(reply: str) -> list[str]:
    out = [m.strip() for m in _TAG_RE.findall(reply)][::-1]  # the last tagged action first
    lines = [ln for ln in reply.splitlines() if ln.strip()][:20]
    prefixed = [_PREFIX_RE.sub("", ln) for ln in lines if _PREFIX_RE.match(ln)]
    out += prefixed[::-1]
    out += [_PREFIX_RE.sub("", ln) for ln in lines]
    out.append(reply)
    return [c for c in (c.strip() for c in out) if c]


def choose_admissible(reply: str, admissible: Sequence[str]) -> Choice:
    """Map a policy's free-text reply to one admissible command.

    Rules, in order: (1) a candidate - the text of an ``<action>...</action>`` tag (verl-agent / SkillRL's format),
    a line after ``Action:`` / ``>``, any line, the whole reply - equals an admissible command (case, surrounding
    quotes, backticks and final period ignored); (2) the reply contains admissible commands as whole words: the
    longest wins (``"I will go to desk 1 now"`` -> ``"go to desk 1"``, never ``"go to desk 10"``); (3) the
    admissible command most similar to a candidate (``difflib.SequenceMatcher`` ratio; ties: list order).

    Args:
        reply: the policy's reply.
        admissible: the commands valid now (ALFWorld ``admissible_commands``); empty: the reply is returned parsed.

    Returns:
        a :class:`Choice`; ``choice.action`` is always one of ``admissible`` when that is non-empty.
    """
    reply = reply or ""
    cands = _candidates(reply)
    if not admissible:
        return Choice(action=cands[0] if cands else "", reply=reply, how="free", score=0.0)
    table: dict[str, str] = {}
    for a in admissible:
        table.setdefault(_norm(a), a)
    if not cands:
        return Choice(action=admissible[0], reply=reply, how="empty", score=0.0)
    for c in cands:
        hit = table.get(_norm(c))
        if hit is not None:
            return Choice(action=hit, reply=reply, how="exact")
    flat = _norm(reply)
    contained = [(len(n), a) for n, a in table.items()
                 if n and re.search(r"(?<![\w])" + re.escape(n) + r"(?![\w])", flat)]
    if contained:
        best = max(contained, key=lambda t: t[0])  # max() keeps the first of equal lengths (list order)
        return Choice(action=best[1], reply=reply, how="contained")
    best_a, best_s = admissible[0], -1.0
    normed = [_norm(c) for c in cands[:12]]
    for n, a in table.items():
        s = max(difflib.SequenceMatcher(None, c, n).ratio() for c in normed)
        if s > best_s:
            best_a, best_s = a, s
    return Choice(action=best_a, reply=reply, how="closest", score=round(best_s, 4))


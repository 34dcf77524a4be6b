"""Domain-neutral analysis of the offline teacher: the ``verb[arg]`` action abstraction (WebShop, Search-QA...),
failure findings any environment shows (loops, rejected commands, running out of steps) and the text helpers for
recorded ``mistakes_to_avoid`` entries."""

from __future__ import annotations

import json
import re
from collections import Counter

from skillrl.episode import Episode

_NOTHING = "nothing happens"

_BRACKET_RE = re.compile(r"^\s*([A-Za-z_][\w ]*?)\s*\[(.*)\]\s*$", re.DOTALL)


def _generic_verb(action: str) -> tuple[str, str | None]:
    m = _BRACKET_RE.match(action)
    if m:
        return m.group(1).strip().lower(), m.group(2).strip().lower()
    words = action.strip().split()
    return (words[0].lower() if words else "(empty)"), None


_STOP = frozenset(["the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "without", "into", "from", "by", "at", "is", "are", "be", "it", "its", "this", "that", "than", "then", "when", "while", "which", "who", "as", "not", "no", "any", "all", "so", "such", "was", "were", "has", "have", "had", "instead", "rather"])
_REMEDY_RE = re.compile(r"^(.*?)[,;]?\s*\b(?:instead of|rather than|without)\s+(.+)$", re.IGNORECASE)


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in _STOP}


def _split_remedy(bad_action: str) -> tuple[str, str]:
    """Split ``"X instead of Y"`` / ``"X without Y"`` into ``("X", "Y")``; ``(text, "")`` otherwise."""
    m = _REMEDY_RE.match(bad_action)
    if not m or not m.group(1).strip():
        return bad_action, ""
    remedy = re.split(r",\s*(?:thereby|leading|which|causing|resulting)\b", m.group(2).strip(), maxsplit=1)[0]
    return m.group(1).strip(), remedy.strip()


def _failure_reason(ep: Episode, max_steps: int) -> list[tuple[str, str]]:
    """Domain-neutral findings of a failed episode: loops, invalid actions, running out of steps."""
    out: list[tuple[str, str]] = []
    acts = [" ".join(a.strip().lower().split()) for a in ep.actions]
    # repeated action loop: the same action 3+ times in a row, or an A-B cycle repeated 3+ times
    best = ("", 0)
    i = 0
    while i < len(acts):
        j = i
        while j + 1 < len(acts) and acts[j + 1] == acts[i]:
            j += 1
        if j - i + 1 > best[1]:
            best = (acts[i], j - i + 1)
        i = j + 1
    if best[1] >= 3:
        out.append(("loop", best[0]))
    else:
        for i in range(len(acts) - 5):
            a, b = acts[i], acts[i + 1]
            if a != b and acts[i + 2] == a and acts[i + 3] == b and acts[i + 4] == a and acts[i + 5] == b:
                out.append(("cycle", f"{a} / {b}"))
                break
    invalid = [s.action for s in ep.steps if _NOTHING in s.observation.lower()
               or s.observation.lower().startswith("invalid")]
    if invalid:
        out.append(("invalid", json.dumps(sorted(Counter(invalid).items(), key=lambda kv: -kv[1])[:3])))
    limit = int(ep.metadata.get("max_steps", max_steps) or max_steps)
    if ep.num_steps >= limit:
        out.append(("out_of_steps", str(ep.num_steps)))
    return out

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


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in _STOP}


# -- turning a recorded bad action into a remedy ------------------------------------------------------

_VOWELS = set("aeiou")
_BASE = {"using": "use", "changing": "change", "arranging": "arrange", "ranging": "range", "putting": "put",
         "getting": "get", "setting": "set", "letting": "let", "cutting": "cut", "shutting": "shut",
         "beginning": "begin", "occurring": "occur", "referring": "refer", "preferring": "prefer",
         "storing": "store", "ignoring": "ignore", "exploring": "explore", "restoring": "restore",
         "scoring": "score", "focusing": "focus", "being": "be", "seeing": "see", "having": "have",
         "doing": "do", "going": "go", "lying": "lie", "dying": "die"}
_NOT_VERBS = frozenset(["nothing", "something", "anything", "everything", "ceiling", "string", "morning",
                        "evening", "during", "thing", "king", "ring", "wing", "building", "bring", "sing", "existing",
                        "remaining", "missing", "matching", "interesting"])


def _base_verb(word: str) -> str:
    """``"opening"`` -> ``"open"``, ``"navigating"`` -> ``"navigate"``, ``"planning"`` -> ``"plan"``: an English
    gerund to its base form (suffix rules plus a table of exceptions; words that are not ``-ing`` forms are kept)."""
    lw = word.lower()
    if lw in _BASE:
        out = _BASE[lw]
    elif not lw.endswith("ing") or len(lw) < 5 or lw in _NOT_VERBS:
        return word
    else:
        stem = lw[:-3]
        if "-" in stem:  # re-examining -> re-examine
            head, _, tail = stem.rpartition("-")
            return (head + "-" + _base_verb(tail + "ing")) if tail else word
        c1, c2 = stem[-1], stem[-2]
        c3 = stem[-3] if len(stem) > 2 else ""
        if c1 == c2 and c1 not in "lsz":  # planning -> plan, stopping -> stop
            out = stem[:-1]
        elif c1 in "vcu" or stem.endswith(("iz", "ir", "ur", "ar", "rs", "rg", "dg", "us", "os", "is")) and not stem.endswith(
                ("cus", "ss")):
            out = stem + "e"
        elif c1 == "l" and c2 not in _VOWELS and c2 != "l":  # toggling -> toggle
            out = stem + "e"
        elif c1 in "tnmdk" and c2 in _VOWELS and c3 and c3 not in _VOWELS and (
                (c1 == "t" and c2 in "au" and len(stem) > 4)          # navigat, updat, execut
                or (c1 == "n" and c2 == "i" and len(stem) > 4)         # examin, determin
                or (c1 == "m" and c2 in "aou")                         # assum, resum, nam
                or (c1 == "d" and c2 in "iu")                          # decid, conclud
                or (c1 == "k" and c2 in "aio")):                       # tak, mak
            out = stem + "e"
        else:
            out = stem
    return out.capitalize() if word[:1].isupper() else out


_CONJ = frozenset(["and", "or", "then", "and/or"])
_LEAD_ADVERBS = ("ever ", "actually ", "really ")


def _imperative(clause: str) -> str:
    """A gerund clause as an instruction: ``"first performing X and then placing it"`` -> ``"First perform X and
    then place it."``; the leading gerund and every gerund right after and/or/then (outside parentheses) change."""
    text = " ".join(clause.split()).strip(" ,;.")
    low = text.lower()
    for adv in _LEAD_ADVERBS:
        if low.startswith(adv):
            text, low = text[len(adv):], low[len(adv):]
    words = text.split(" ")
    depth = 0
    out = []
    for i, w in enumerate(words):
        prev = words[i - 1].lower().strip(",") if i else ""
        lead = i == 0 or (depth == 0 and prev in _CONJ) or (i == 1 and words[0].lower() in ("first", "then",
                                                                                            "systematically",
                                                                                            "immediately",
                                                                                            "explicitly"))
        core = w.rstrip(",;:")
        out.append(_base_verb(core) + w[len(core):] if lead and depth == 0 else w)
        depth += w.count("(") - w.count(")")
    text = " ".join(out)
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


_TAIL_RE = re.compile(r",?\s+(?:thereby|leading|causing|resulting|which|wasting|so that|effectively|expecting)\b.*$"
                      r"|\s+(?:and then |and )?(?:repeatedly|keep|continu\w*)\b.*$|\s+without\b.*$"
                      r"|,?\s+and (?:instead|therefore|thus|so|never|not)\b.*$|,\s+never\b.*$", re.IGNORECASE)
_INSTEAD_RE = re.compile(r"^(.*?)[,;]?\s+\b(?:instead of|rather than)\s+(.+)$", re.IGNORECASE)
_WITHOUT_RE = re.compile(r"^(.*?)[,;]?\s+\bwithout\s+(.+)$", re.IGNORECASE)
_FAIL_RE = re.compile(r"\b(?:fail(?:s|ed|ing)?\s+to|never|not)\s+((?:\w+ing|\w+)\b.*)$", re.IGNORECASE)
_BEFORE_RE = re.compile(r"^(.*?)\s+\bbefore\s+(\w+ing\b.+)$", re.IGNORECASE)
_NEED_RE = re.compile(r"\bignoring the need to\s+(.+)$", re.IGNORECASE)
_CONDITION_RE = re.compile(r"^(?:any|a|an|new|clear|evidence|reason|the|some|further)\b", re.IGNORECASE)
_REPEAT_RE = re.compile(r"\b(?:re-\w+|revisit\w*|repeat\w*|again|multiple times|loop\w*|back and forth)\b",
                        re.IGNORECASE)


def _cut(clause: str) -> str:
    return _TAIL_RE.sub("", " ".join(clause.split())).strip(" ,;.")


def remedy_for(bad_action: str) -> str:
    """The instruction that avoids a recorded bad action (official ``mistakes_to_avoid`` entries), or ``""`` when
    none can be read off it. The remedy comes from the failure itself and never inverts it:

    * ``"X instead of / rather than Y"``: Y, as an instruction;
    * ``"X without Y-ing"``: Y is the missing step: ``"First do Y."``; ``"X without <condition>"`` (``any new
      information ...``): ``"Go back only when there is <condition>; ..."`` - the condition is never the remedy;
    * ``"fail to Y"`` / ``"never Y"`` / ``"not Y-ing"``: Y; ``"X before Y-ing"``: ``"First do Y."``; ``"while
      ignoring the need to Y"``: Y.

    The tail of the bad behaviour (``", thereby ..."``, ``"and then repeatedly ..."``, a second ``"without ..."``)
    is cut off the remedy."""
    text = re.sub(r"\s*\([^)]*\)", "", " ".join(str(bad_action).split())).rstrip(".")  # asides hold no split
    m = _INSTEAD_RE.match(text)
    if m and m.group(1).strip():
        y = _cut(m.group(2))
        return _imperative(y) if len(y.split()) >= 2 else ""
    m = _WITHOUT_RE.match(text)
    if m and m.group(1).strip():
        y = _cut(m.group(2))
        if not y:
            return ""
        if _CONDITION_RE.match(y) and not y.lower().startswith(("a ", "an ", "the ")) or y.lower().startswith(
                ("any ", "new ", "evidence", "reason", "further ")):
            cond = re.sub(r"^any\s+", "", y, flags=re.IGNORECASE)
            if _REPEAT_RE.search(m.group(1)):
                return f"Go back to a place only when there is {cond}; otherwise move on to one not yet checked."
            return f"Do it only when there is {cond}."
        words = y.split(" ")
        first = words[0].lower()
        second = words[1].lower() if len(words) > 1 else ""
        if first in ("first", "ever") or first.endswith("ing") or (first.endswith("ly") and second.endswith("ing")):
            y = re.sub(r"^(?:first|ever)\s+", "", y, flags=re.IGNORECASE)
            if first.endswith("ly"):  # "explicitly checking X" -> "First explicitly check X."
                rest = _imperative(" ".join(words[1:]))
                return f"First {first} {rest[:1].lower()}{rest[1:]}"
            return "First " + _imperative(y)[:1].lower() + _imperative(y)[1:]
        if first in ("a", "an", "the") and len(words) >= 3:  # "without a systematic search plan"
            return f"Use {re.sub(r'[ ]*[(]e[.]g[.], not[^)]*[)]', '', y)}."
        return ""
    m = _FAIL_RE.search(text)
    if m and re.match(r"^(?:fail|not|never)", text, re.IGNORECASE):
        y = _cut(m.group(1))
        return _imperative(y) if len(y.split()) >= 2 else ""
    m = _NEED_RE.search(text)
    if m:
        return _imperative(_cut(m.group(1)))
    m = _BEFORE_RE.match(text)
    if m and m.group(1).strip():
        y = _cut(m.group(2))
        return "First " + _imperative(y)[:1].lower() + _imperative(y)[1:] if y else ""
    m = _FAIL_RE.search(text)
    if m:
        y = _cut(m.group(1))
        return _imperative(y) if len(y.split()) >= 2 else ""
    return ""


def _split_remedy(bad_action: str) -> tuple[str, str]:
    """``(bad_action, remedy_for(bad_action))``: kept for callers of the old splitter; the description is the whole
    bad action (its "without"/"instead of" clause is part of what went wrong)."""
    return " ".join(str(bad_action).split()), remedy_for(bad_action)


_TOOL_CALL_RE = re.compile(r"""^\s*\w+\s*\(\s*\{\s*['"](?:action|command)['"]\s*:\s*['"](.*?)['"]\s*\}\s*\)\s*$"""
                           r"""|^\s*\{\s*['"](?:action|command)['"]\s*:\s*['"](.*?)['"]\s*\}\s*$""", re.DOTALL)


def unwrap_action(action: str) -> str:
    """The command inside a raw tool call (``step({'action': 'go to dresser 1'})`` or ``{"action": "..."}``);
    any other text unchanged (whitespace collapsed)."""
    m = _TOOL_CALL_RE.match(action or "")
    if m:
        return " ".join((m.group(1) or m.group(2) or "").split())
    return " ".join((action or "").split())


def _failure_reason(ep: Episode, max_steps: int) -> list[tuple[str, str]]:
    """Domain-neutral findings of a failed episode: loops, invalid actions, running out of steps."""
    out: list[tuple[str, str]] = []
    acts = [unwrap_action(a).lower() for a in ep.actions]
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
    invalid = [unwrap_action(s.action) for s in ep.steps if _NOTHING in s.observation.lower()
               or s.observation.lower().startswith("invalid")]
    if invalid:
        out.append(("invalid", json.dumps(sorted(Counter(invalid).items(), key=lambda kv: -kv[1])[:3])))
    limit = int(ep.metadata.get("max_steps", max_steps) or max_steps)
    if ep.num_steps >= limit:
        out.append(("out_of_steps", str(ep.num_steps)))
    return out


# -- official placeholders as plain words --------------------------------------------------------------

_PLACEHOLDER_WORDS = {"target_object": "goal object", "target_location": "target receptacle", "location": "place",
                      "locations": "places", "container": "container", "similar_object": "look-alike object",
                      "tool_object": "tool", "reference_object": "reference object", "object": "object",
                      "object_1": "object", "object_2": "second object", "appliance": "appliance",
                      "appliances": "appliances", "heating_device": "heating appliance",
                      "cleaning_tool": "cleaning tool", "cleaning_location": "sink", "target_objects": "goal objects"}
_DETERMINERS = frozenset("the a an any each every another same that this these those its all other new some no one "
                         "several multiple many few plausible unvisited unexplored unopened unsearched known "
                         "already-checked previously-checked remaining".split())
_NEEDS_ARTICLE = frozenset("to into in on onto from with for of at by about near without around inside toward towards "
                           "beneath under behind and or than acquiring acquire find finding locate locating examine "
                           "examining take taking use using place placing interact interacting transform "
                           "transforming prepare preparing search searching identify identifying get obtain carry "
                           "carrying holding hold reach move moving open opening ignoring ignore verify "
                           "deliver delivering put putting contain containing".split())
_PH_RE = re.compile(r"\[([A-Za-z_0-9]+)\](s?)")


def naturalize(text: str) -> str:
    """Official memory placeholders as plain words: ``"the [Target_Object]"`` -> ``"the goal object"``,
    ``"[Location]s"`` -> ``"places"``, ``"acquiring [Target_Object]"`` -> ``"acquiring the goal object"``; articles
    fixed afterwards (``"a appliance"`` -> ``"an appliance"``)."""
    out: list[str] = []
    pos = 0
    for m in _PH_RE.finditer(text):
        key = m.group(1).lower()
        word = _PLACEHOLDER_WORDS.get(key, key.replace("_", " "))
        plural = bool(m.group(2))
        if plural:
            word = word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else \
                (word if word.endswith("s") else word + "s")
        before = text[pos:m.start()]
        prev = re.findall(r"([A-Za-z-]+)\W*$", before)
        if not plural and prev and prev[-1].lower() in _NEEDS_ARTICLE:
            word = "the " + word
        out.append(before + word)
        pos = m.end()
    out.append(text[pos:])
    res = "".join(out)
    res = re.sub(r"\b([Aa]) ([aeiou])", lambda mm: f"{mm.group(1)}n {mm.group(2)}", res)
    res = re.sub(r"\b([Aa])n ([b-df-hj-np-tv-z])", lambda mm: f"{mm.group(1)} {mm.group(2)}", res)
    return res

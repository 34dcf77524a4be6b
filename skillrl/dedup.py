"""Is a proposed skill (or mistake) already in the bank? Exact match, embedding similarity, and a contrast veto.

The official code deduplicates by ``skill_id`` only, so a teacher that renames a known skill adds it again.
:class:`Deduplicator` compares content: two skills are duplicates when their normalised principles are equal,
or when their normalised titles are equal or the cosine similarity of their embedded ``"title: principle"``
texts is at least ``threshold`` **and** no lexical contrast separates their principles.

Why the contrast check: a skill that keeps an official skill's words but flips its advice ("open the microwave
before heating" / "do not open the microwave before heating"; "check the price before buying" / "buy before
checking the price"; a changed count, threshold, object or material) is as close in embedding space as a
paraphrase (all-MiniLM-L6-v2 gives such near-misses cosines of 0.75-0.98), so cosine alone merges it and one
of the two pieces of advice is lost. :func:`find_contrasts` looks for what flips advice; the rule is documented
there. A merge it vetoes is reported by :meth:`Deduplicator.compare` / :meth:`Deduplicator.explain` with the
contrast's kind (``"negation"``, ``"condition"``, ``"number"``, ``"threshold"``, ``"order"``, ``"object"``,
``"material"``) and the words that differ.

A teacher can judge the pairs on the table for a merge: an :data:`Adjudicator` is any callable taking a
:class:`PairView` and returning ``True`` (same advice: merge), ``False`` (different advice) or ``None`` (no
opinion: the offline verdict stands). The default has none and runs offline.

Measured by ``benchmarks/bench_dedup.py`` on a labelled set built from the three official banks
(``benchmarks/data/dedup/``; tuned on its tune part, figures from its report part): see
:data:`DEFAULT_DEDUP_THRESHOLD`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from skillrl.errors import ConfigError, TeacherError
from skillrl.skill import Mistake, Skill

DEFAULT_DEDUP_THRESHOLD = 0.55
"""Cosine threshold on all-MiniLM-L6-v2 embeddings of ``"title: principle"``, used together with the contrast veto
(:data:`DEFAULT_RULES`); chosen by ``benchmarks/bench_dedup.py`` on the tune part of ``benchmarks/data/dedup/``.

Rule (fixed before the runs): a grid over the threshold (0.475 .. 0.85), ``close_overlap`` (0.3 / 0.4),
``condition_overlap`` (0.25 / 0.34), ``order_overlap`` (0.45 / 0.6) and ``support_overlap`` (0 / 0.15 / 0.2);
among the settings meeting the three targets on the tune part (near-miss false merges <= 5%, paraphrase recall
>= 85%, other distinct pairs merged <= 2%), the highest F1 on all tune pairs; ties -> the higher threshold.
Chosen: 0.55 with overlaps 0.3 / 0.25 / 0.6 and support 0.15 (:data:`DEFAULT_RULES`).

Report part (3,539 pairs never tuned on, 335 of them from the current offline teacher's real output), this rule:
near-miss false merges 4.9%, paraphrase recall 85.1%, other distinct pairs merged 0.6% (the current offline
teacher's distinct pairs 3.0%). The old rule (cosine >= 0.75 alone) on the same pairs: near-miss false merges 69.6%,
paraphrase recall 87.3%, other distinct pairs merged 0.4%. Neighbours on the report part: 0.525 -> near-miss 4.9%,
paraphrase 85.1%, other 0.8%; 0.575 -> 4.9%, 84.9%, 0.6%. A precision-first setting (0.7, ``support_overlap`` 0.2)
merges none of the teacher's distinct pairs but recalls 81.2% of paraphrases (below target): pass
``Deduplicator(threshold=0.7, rules=ContrastRules(support_overlap=0.2))`` when a lost skill costs more than a
missed paraphrase. Cosine alone cannot do this: at 0.55 it merges 89.4% of the tune near-misses. Another embedder needs its own sweep.
"""

CONTRAST_KINDS = ("negation", "condition", "number", "threshold", "order", "object", "material")
"""The kinds of lexical contrast :func:`find_contrasts` reports, in the order they are checked."""

_WORDS = re.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    """Lowercase words joined by single spaces (punctuation and case ignored)."""
    return " ".join(_WORDS.findall(text.lower()))


def dedup_text(skill: Skill) -> str:
    """The text compared by embedding: ``"title: principle"``."""
    return f"{skill.title}: {skill.principle}"


def mistake_text(mistake: Mistake) -> str:
    """The text compared by embedding for a mistake: :attr:`skillrl.skill.Mistake.text`
    (``"description Instead: how_to_avoid"``)."""
    return mistake.text


# ------------------------------------------------------------------------------------------------
# lexical analysis
# ------------------------------------------------------------------------------------------------

_CHARS = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": " , ", "–": " , ", "→": " then ",
                        "&": " and ", "/": " / ", "+": " plus "})
_CONTRACTIONS = [(re.compile(r"\b(e\.g|i\.e|etc|vs|approx|incl)\.(?=\W)"), lambda m: m.group(1).replace(".", "")),
                 (re.compile(r"\bmake sure\b"), "ensure"), (re.compile(r"\bmove on\b"), "go on"),
                 (re.compile(r"\bwon't\b"), "will not"), (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
                 (re.compile(r"n't\b"), " not"), (re.compile(r"\bprior to\b"), "before"),
                 (re.compile(r"\bahead of\b"), "before"), (re.compile(r"\bfollowed by\b"), "then"),
                 (re.compile(r"\bas soon as\b"), "when"), (re.compile(r"\bas long as\b"), "if"),
                 (re.compile(r"\bprovided that\b"), "if"), (re.compile(r"\bin case\b"), "if"),
                 (re.compile(r"\bsteer clear of\b"), "avoid"), (re.compile(r"\bdouble[- ]check"), "check"),
                 (re.compile(r"\b(?:only )?after that\b|\band then\b"), "then"),
                 (re.compile(r"\binitial\b"), "first"), (re.compile(r"\bleave ((?:\w+ ){0,2})out\b"), r"omit \1"),
                 (re.compile(r"\bstay away from\b"), "avoid"),
                 (re.compile(r"\brather than\b"), "instead of"), (re.compile(r"\bin place of\b"), "instead of"),
                 (re.compile(r"\bup to\b"), "at most"), (re.compile(r"\bno more than\b"), "at most"),
                 (re.compile(r"\bno less than\b"), "at least"), (re.compile(r"\bor more\b"), "at least"),
                 (re.compile(r"\bor fewer\b|\bor less\b"), "at most"),
                 # list enumerators "(1) ... (2) ..." / "1) ... 2) ..." read as a sequence
                 (re.compile(r"(?:^|(?<=[\s,;:]))\(?\d\)\s*"), " then ")]
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:\.\d+)?|[,;:.!?()\"]")
_BOUNDARY = set(",;:.!?()\"")

#: Two-word names of one thing (ALFWorld receptacles and objects, materials), joined before stemming.
_COMPOUNDS = {
    "desk lamp": "desklamp", "floor lamp": "floorlamp", "dining table": "diningtable", "coffee table": "coffeetable",
    "side table": "sidetable", "garbage can": "garbagecan", "trash can": "garbagecan", "stove burner": "stoveburner",
    "sink basin": "sinkbasin", "water source": "sink", "coffee machine": "coffeemachine", "alarm clock": "alarmclock",
    "cell phone": "cellphone", "credit card": "creditcard", "remote control": "remotecontrol", "tv stand": "tvstand",
    "butter knife": "butterknife", "soap bar": "soapbar", "soap bottle": "soapbottle", "spray bottle": "spraybottle",
    "tissue box": "tissuebox", "toilet paper": "toiletpaper", "paper towel": "papertowelroll", "hand towel": "handtowel",
    "salt shaker": "saltshaker", "pepper shaker": "peppershaker", "wine bottle": "winebottle",
    "watering can": "wateringcan", "teddy bear": "teddybear", "house plant": "houseplant", "glass bottle": "glassbottle",
    "laundry hamper": "laundryhamper", "dish sponge": "dishsponge", "stainless steel": "steel", "faux leather": "leather",
}
_COMPOUND_RX = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _COMPOUNDS), key=len, reverse=True)) + r")\b")

_IRREGULAR = {"found": "find", "seen": "see", "saw": "see", "took": "take", "taken": "take", "left": "leave",
              "kept": "keep", "went": "go", "gone": "go", "put": "put", "brought": "bring", "held": "hold",
              "made": "make", "done": "do", "did": "do", "does": "do", "got": "get", "gave": "give", "given": "give",
              "chosen": "choose", "chose": "choose", "shut": "close", "closed": "close", "opened": "open",
              "is": "be", "are": "be", "was": "be", "were": "be", "been": "be", "has": "have", "had": "have",
              "children": "child", "broken": "break", "met": "meet", "stuck": "stick", "knives": "knife",
              "shelves": "shelf", "boxes": "box", "dishes": "dish",
              "less": "less", "this": "this", "its": "its", "yes": "yes", "always": "always",
              "series": "series", "across": "across", "plus": "plus", "news": "news"}


def _stem(w: str) -> str:
    """A small suffix stripper (both texts go through it, so only consistency matters)."""
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) <= 3 or w.isdigit():
        return w
    for suf, rep in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suf) and len(w) - len(suf) >= 3 and not (suf == "s" and w.endswith(("ss", "us", "is"))) \
                and not (suf == "ed" and w.endswith("eed")):
            w = w[: len(w) - len(suf)] + rep
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


#: Words that say an action is not to be done (or that another replaces it).
NEGATORS = frozenset({"not", "no", "never", "without", "nor", "neither", "none", "nothing", "avoid", "refrain",
                      "instead", "dont", "nobody", "nowhere", "prevent", "non", "skip", "ignore", "omit", "neglect",
                      "forgo", "exclude"})
#: Verbs that carry no advice of their own: a negator's head is the next content word after them.
_AUX = frozenset({"bother", "keep", "try", "ever", "even", "really", "need", "have", "be", "do", "get", "simply"})
#: ``un``-words read as "not X" (unmet -> not met), so that both spellings count the same.
_UN_WORDS = frozenset(["met", "seen", "opened", "open", "examined", "checked",
                      "visited", "known", "found", "reachable", "clear", "confirmed", "held", "explored",
                      "available", "suitable", "filterable", "verified", "related", "needed", "collected",
                      "searched", "inspected", "set"])
#: Restrictive / concessive / inverse condition markers; ``if``-like markers open a condition clause.
COND_OPENERS = frozenset({"if", "when", "whenever", "unless", "while", "until"})
COND_INVERSE = frozenset({"unless", "except", "otherwise"})
COND_ONLY = frozenset({"only", "exclusively", "solely"})
COND_EVEN = frozenset({"even", "regardless", "anyway"})
#: Order markers: ``X before Y`` / ``Y after X`` / ``X then Y``.
ORDER_BEFORE = frozenset({"before"})
ORDER_AFTER = frozenset({"after", "afterwards", "afterward"})
ORDER_THEN = frozenset({"then"})
#: Words whose count changes when a close rewrite moves a step earlier or later.
ORDER_WORDS = frozenset({"before", "after", "afterwards", "afterward", "later", "first", "then", "last"})
_LATE = frozenset({"afterwards", "afterward", "later"})
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
                 "fifty": 50, "hundred": 100, "twice": 2, "thrice": 3, "single": 1, "double": 2, "triple": 3,
                 "pair": 2, "couple": 2, "both": 2, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "tenth": 10,
                 "half": 0.5, "once": 1}
_PREFER = frozenset({"prioritize", "prioritise", "prefer", "favor", "favour", "choose", "pick", "select"})
_CONJ_NEXT = frozenset({"the", "you", "it", "a", "an", "that", "this", "all", "every", "each", "your", "its",
                        "they", "we", "there", "holding", "both", "either", "any"})
_PRONOUN_BEFORE_ONE = frozenset({"the", "every", "each", "any", "no", "this", "that", "which", "another", "one"})
#: Comparators of a threshold, counted only near a number or a money / limit word.
CMP_UP = frozenset({"above", "over", "exceed", "exceeds", "exceeded", "exceeding", "more", "greater", "higher",
                    "least", "minimum", "min", "beyond", "pricier"})
CMP_DOWN = frozenset({"below", "under", "within", "less", "fewer", "lower", "cheaper", "most", "maximum", "max",
                      "cap", "strictly"})
_CMP_ANCHORS = frozenset({"budget", "price", "limit", "maximum", "minimum", "cap", "cost", "dollar", "dollars",
                          "threshold", "max", "min", "spend", "priced"})

#: Pairs of words that state opposite advice (the first of a text against the second of the other).
ANTONYMS = [("include", "exclude"), ("include", "omit"), ("add", "remove"), ("add", "drop"), ("keep", "drop"),
            ("keep", "discard"), ("accept", "reject"), ("always", "never"), ("relevant", "irrelevant"),
            ("reachable", "unreachable"), ("same", "different"), ("succeed", "fail"), ("success", "failure"),
            ("pass", "fail"), ("violate", "satisfy"), ("violate", "meet"), ("match", "mismatch"),
            ("known", "unknown"), ("open", "close"), ("stay", "leave"),
            ("negotiable", "non"), ("either", "both"), ("first", "last"), ("oldest", "recent"),
            ("strong", "weak"), ("clear", "unclear"), ("unique", "ambiguous"), ("unique", "common"),
            ("fast", "stall"), ("promising", "unpromising"), ("narrow", "broad"), ("maintain", "abandon"),
            ("take", "leave"), ("break", "satisfy"), ("break", "meet"), ("fail", "satisfy"), ("fail", "meet"),
            ("keep", "abandon"), ("keep", "reject"), ("succeed", "fail"), ("clear", "ambiguous"), ("stay", "go")]

#: Concrete things: every object and receptacle type of the 3,554 real ALFWorld expert demos, plus the
#: materials of real WebShop human instructions (counted >= 3 times in agentgym's human_goals.json).
ALFWORLD_THINGS = frozenset(
    "alarmclock apple armchair bathtubbasin bed book bowl box bread butterknife cabinet candle cart cd "
    "cellphone cloth coffeemachine coffeetable countertop creditcard cup curtains desk desklamp "
    "diningtable dishsponge drawer dresser egg floorlamp fork fridge garbagecan glassbottle handtowel "
    "handtowelholder houseplant kettle keychain knife ladle laptop laundryhamper lettuce microwave mirror "
    "mug newspaper ottoman pan papertowelroll pen pencil peppershaker pillow plate pot potato "
    "remotecontrol safe saltshaker shelf showerglass sidetable sink sinkbasin soapbar soapbottle sofa "
    "spatula spoon spraybottle statue stoveburner teddybear television tissuebox toaster toilet "
    "toiletpaper toiletpaperhanger tomato towel towelholder tvstand vase watch wateringcan window "
    "winebottle nightstand lightswitch stove bathtub basin faucet".split())
MATERIALS = frozenset(
    "gold steel wood wooden rubber glass silver leather cotton fleece vinyl foam metal polyester spandex "
    "aluminum silicone walnut mesh fur linen velvet denim satin canvas nylon plastic copper brass oak "
    "stone bamboo marble suede silk pine microfiber wool ceramic acrylic iron".split())
#: What skills of the three domains talk about (features of a page, a query, a source), after synonyms.
TOPIC_NOUNS = frozenset(
    "title thumbnail image price brand seller rating review shipping delivery warranty description "
    "feature spec size color pattern material fabric category type query keyword filter sort result "
    "variant option budget sole heel width gift logo slogan emoji hashtag font slang date year name "
    "occupation nationality director birthplace headquarters source snippet wikipedia infobox forum blog "
    "post quotation parenthes memory author soundtrack label subscription scent season ad comment photo "
    "website letter mood punctuation capitalization appliance counter container surface lamp lightswitch "
    "receptacle".split())
#: Synonyms folded to one key before objects are compared (only the words this check looks at).
_SYNONYMS = {"cost": "price", "pricing": "price", "item": "product", "object": "product", "thing": "product",
             "receptacle": "container", "hit": "result", "listing": "result", "picture": "image", "photo": "image",
             "thumbnail": "image", "specification": "spec", "property": "attribute", "requirement": "constraint",
             "reference": "source", "refrigerator": "fridge", "freezer": "fridge", "tap": "sink", "faucet": "sink",
             "basin": "sink", "sinkbasin": "sink", "lamp": "desklamp", "stove": "stoveburner", "wooden": "wood",
             "colour": "color", "hue": "color", "option": "variant", "selector": "variant", "search": "query",
             "keyword": "query", "term": "query", "word": "query", "nightstand": "sidetable", "countertop": "counter",
             "spot": "place", "location": "place", "profession": "occupation", "job": "occupation",
             "quote": "quotation", "detail": "description", "bullet": "description", "tab": "description",
             # advice verbs
             "verify": "check", "confirm": "check", "validate": "check", "ensure": "check", "inspect": "check",
             "examine": "check", "pick": "take", "grab": "take", "acquire": "take", "obtain": "take",
             "collect": "take", "navigate": "go", "head": "go", "move": "go", "walk": "go", "travel": "go",
             "place": "put", "locate": "find", "discover": "find", "choose": "select",
             "begin": "start", "retrieve": "fetch", "rephrase": "reformulate", "reword": "reformulate"}
_STOP = frozenset(
    "a an the of to in on at by for from with and or but as is are be been being it its it's this that "
    "these those you your yours we our they them their he she his her i me my so such than too very can "
    "could should would will may might must do does did done have has had into onto out up down off about "
    "there here which who whom what where why how each every any all some more most other another same "
    "own just also still yet e g eg etc ie vs via per whether one let make sure".split())

_SYN_STEMS = {_stem(k): _stem(v) for k, v in _SYNONYMS.items()}
_NEG_STEMS = frozenset(_stem(w) for w in NEGATORS) | NEGATORS
_ANTONYMS = [(_stem(a), _stem(b)) for a, b in ANTONYMS]
_CONCRETE = frozenset(_SYN_STEMS.get(_stem(w), _stem(w)) for w in ALFWORLD_THINGS)
_MATERIAL = frozenset(_SYN_STEMS.get(_stem(w), _stem(w)) for w in MATERIALS)
_TOPIC = frozenset(_SYN_STEMS.get(_stem(w), _stem(w)) for w in TOPIC_NOUNS)
_MARKERS = (NEGATORS | COND_OPENERS | COND_INVERSE | COND_ONLY | COND_EVEN | ORDER_BEFORE | ORDER_AFTER | ORDER_THEN
            | CMP_UP | CMP_DOWN)


@dataclass(frozen=True)
class _Analysis:
    words: tuple[str, ...]        # lowercased raw words (boundaries kept as tokens)
    stems: tuple[str, ...]        # stems, aligned with words
    content: frozenset[str]       # content stems (no stopwords / markers), synonyms folded
    negations: int
    neg_heads: frozenset[str]
    neg_scope: frozenset[str]
    inverse: int
    only: int
    even: int
    cond_clauses: tuple[frozenset[str], ...]
    numbers: frozenset[float]
    counted: frozenset[str]       # the content word right after each number (what is counted)
    directions: frozenset[str]
    dir_seq: tuple[str, ...]
    relations: frozenset[tuple[str, str]]
    preferences: frozenset[tuple[str, str]]
    order_words: tuple[tuple[str, int], ...]
    things: frozenset[str]        # concrete objects and materials mentioned
    topics: frozenset[str]


def _fold(stem: str) -> str:
    return _SYN_STEMS.get(stem, stem)


def _is_content(w: str, s: str) -> bool:
    return w not in _STOP and w not in _MARKERS and s not in _NEG_STEMS and len(s) > 2 and not w.isdigit()


@lru_cache(maxsize=8192)
def _analyse(text: str) -> _Analysis:
    t = text.lower().translate(_CHARS)
    t = _COMPOUND_RX.sub(lambda m: _COMPOUNDS[m.group(1)], t)
    for rx, rep in _CONTRACTIONS:
        t = rx.sub(rep, t)
    t = re.sub(r"(\d)\s*-\s*(\d)", r"\1 \2", t.replace("$", " dollar "))
    t = re.sub(r"\bun(" + "|".join(sorted(_UN_WORDS, key=len, reverse=True)) + r")\b", r"not \1", t)
    t = re.sub(r"\b(?:at once|only then|only after that|only afterwards?)\b",
               lambda m: {"at once": "immediately"}.get(m.group(0), m.group(0).replace("only ", "")), t)
    words = [w.replace("'", "") for w in _TOKEN.findall(t)]
    stems = [w if w in _BOUNDARY else _stem(w) for w in words]
    n = len(words)

    def content_at(i: int) -> bool:
        return words[i] not in _BOUNDARY and _is_content(words[i], stems[i])

    content = frozenset(_fold(stems[i]) for i in range(n) if content_at(i))

    # negation: markers, the first content word each one governs and its scope (to the segment's end)
    negations, heads, scope = 0, set(), set()
    for i, w in enumerate(words):
        if w in NEGATORS or stems[i] in _NEG_STEMS:
            negations += 1
            head = None
            for j in range(i + 1, min(n, i + 9)):
                if words[j] in _BOUNDARY or words[j] in ORDER_THEN:
                    break
                if content_at(j):
                    if head is None and stems[j] not in _AUX and words[j] not in _AUX:
                        head = _fold(stems[j])
                    scope.add(_fold(stems[j]))
            if head:
                heads.add(head)

    # segments (between boundaries and 'then')
    segs: list[list[int]] = [[]]
    for i, w in enumerate(words):
        if w in ORDER_THEN and (i + 1 >= n or words[i + 1] in _BOUNDARY):
            segs[-1].append(i)  # "..., and do Y then." : this segment is the later one
        elif w in _BOUNDARY or w in ORDER_THEN:
            segs.append([])
            if w in ORDER_THEN:
                segs[-1].append(i)
        else:
            segs[-1].append(i)
    segs = [s for s in segs if s]

    inverse = sum(w in COND_INVERSE for w in words)
    only = sum(w in COND_ONLY for w in words)
    even = sum(w in COND_EVEN for w in words)
    clauses = []
    for s in segs:
        for k, i in enumerate(s):
            if words[i] in COND_OPENERS or (words[i] == "once" and k == 0):
                clauses.append(frozenset(_fold(stems[j]) for j in s[k + 1:] if content_at(j)))
                break

    numbers, counted = set(), set()

    def count_of(i: int) -> None:
        for j in range(i + 1, min(n, i + 4)):
            if words[j] in _BOUNDARY:
                break
            if content_at(j):
                counted.add(_fold(stems[j]))
                break

    for i, w in enumerate(words):
        if w.replace(".", "", 1).isdigit():
            numbers.add(float(w))
            count_of(i)
        elif w in _NUMBER_WORDS:
            if w == "one" and i > 0 and words[i - 1] in _PRONOUN_BEFORE_ONE and (
                    i + 1 >= n or words[i + 1] in _BOUNDARY or words[i + 1] in _STOP):
                continue
            if w in {"pair", "couple"} and (i + 1 >= n or words[i + 1] != "of"):
                continue
            if w == "once" and (i == 0 or words[i - 1] in _BOUNDARY or (i + 1 < n and words[i + 1] in _CONJ_NEXT)):
                continue  # "Once X, ..." / "only once the count ..." is a condition, not a count
            numbers.add(float(_NUMBER_WORDS[w]))
            count_of(i)

    directions, dir_seq = set(), []
    for i, w in enumerate(words):
        if w in CMP_UP or w in CMP_DOWN:
            window = words[max(0, i - 4): i + 5]
            if any(x in _CMP_ANCHORS or x.replace(".", "", 1).isdigit() or x in _NUMBER_WORDS for x in window
                   if x != w) or w in {"maximum", "minimum", "exceed", "exceeds", "exceeded", "exceeding"}:
                if w == "most" and (i == 0 or words[i - 1] != "at"):
                    continue
                if w == "least" and (i == 0 or words[i - 1] != "at"):
                    continue
                directions.add("up" if w in CMP_UP else "down")
                dir_seq.append("up" if w in CMP_UP else "down")

    # order relations: (earlier, later) pairs of content stems; preferences: (preferred, dispreferred)
    rel: set[tuple[str, str]] = set()
    pref: set[tuple[str, str]] = set()
    sent, k_ = [], 0
    for s in segs:  # sentence id of each segment (a sentence ends at . ! ? ;)
        sent.append(k_)
        if s[-1] + 1 < n and words[s[-1] + 1] in {".", "!", "?", ";"}:
            k_ += 1

    def cs(idx: Iterable[int]) -> list[str]:
        return [_fold(stems[j]) for j in idx if content_at(j)]

    for si, s in enumerate(segs):
        for k, i in enumerate(s):
            w = words[i]
            if w in ORDER_BEFORE or w in ORDER_AFTER or (w == "once" and k == 0):  # "Once Y, X" = after Y
                left, right = cs(s[:k]), cs(s[k + 1:])
                if not left:
                    if si == 0 or sent[si - 1] != sent[si]:  # "Before Y, X" / "After Y, X" opens the sentence
                        left = [x for sj in range(si + 1, len(segs)) if sent[sj] == sent[si] for x in cs(segs[sj])]
                    else:                                   # "... X (e.g. ...) before Y": the sentence so far
                        left = [x for sj in range(si) if sent[sj] == sent[si] for x in cs(segs[sj])]
                if not right:
                    continue
                first, later = (left, right) if w in ORDER_BEFORE else (right, left)
                rel.update((x, y) for x in first for y in later if x != y)
            elif w == "instead" or (w == "over" and any(words[j] in _PREFER for j in s[:k])):
                left = cs(s[:k]) or [x for sj in range(si) if sent[sj] == sent[si] for x in cs(segs[sj])]
                pref.update((x, y) for x in left for y in cs(s[k + 1:]) if x != y)
    chain = [si for si, s in enumerate(segs) if words[s[0]] in ORDER_THEN
             or any(words[i] in _LATE or (words[i] in ORDER_THEN and i == s[-1]) for i in s[1:])]
    for si in chain:  # "X, then Y" / "X, and Y afterwards": every earlier segment of the sentence before Y
        later = cs(segs[si])
        earlier = [x for sj in range(si) if sent[sj] == sent[si] and words[segs[sj][0]] not in ORDER_BEFORE
                   for x in cs(segs[sj])]
        rel.update((x, y) for x in earlier for y in later if x != y)
    order_words = Counter(w for w in words if w in ORDER_WORDS)

    things = frozenset(c for c in content if c in _CONCRETE or c in _MATERIAL)
    topics = frozenset(c for c in content if c in _TOPIC)
    return _Analysis(tuple(words), tuple(stems), content, negations, frozenset(heads), frozenset(scope), inverse,
                     only, even, tuple(clauses), frozenset(numbers), frozenset(counted), frozenset(directions),
                     tuple(dir_seq),
                     frozenset(rel), frozenset(pref), tuple(sorted(order_words.items())), things, topics)


# ------------------------------------------------------------------------------------------------
# contrasts
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contrast:
    """One reason two texts do not give the same advice.

    Attributes:
        kind: one of :data:`CONTRAST_KINDS`.
        detail: the words that differ, in a short human-readable form (``"'not' x1 vs x0"``).
    """

    kind: str
    detail: str


@dataclass(frozen=True)
class ContrastRules:
    """Which contrast checks run and their parameters (defaults: the values tuned on the benchmark's tune part).

    Attributes:
        enabled: the contrast kinds checked (default: all of :data:`CONTRAST_KINDS`).
        condition_overlap: a condition clause ("if / when / unless / while ...") of one text whose content
            words occur in the other text in a smaller fraction than this is a new condition (default 0.25).
        close_overlap: content-word Jaccard similarity at or above which two texts count as close rewrites of
            each other; only then do the count-based checks run (a different number of negators or of
            only / unless / even markers, opposite words, a number in one text only), since free rewordings
            change such counts without changing the advice (default 0.3).
        order_overlap: content-word Jaccard similarity at or above which a different count of order words
            (before / after / first / then / later / initial / last) is an order contrast by itself (default 0.6;
            below it only a reversed pair of ordered words is).
        support_cosine, support_overlap: below a cosine of ``support_cosine`` (default 0.75, the former
            cosine-only threshold) an embedding match also needs lexical support: a content-word Jaccard
            similarity of at least ``support_overlap`` (default 0.15).
        topic_swaps: also count swaps of topic nouns (price / brand / seller / query / source ...; not only
            concrete objects and materials) as an object contrast (default True).
    """

    enabled: frozenset[str] = frozenset(CONTRAST_KINDS)
    condition_overlap: float = 0.25
    close_overlap: float = 0.3
    order_overlap: float = 0.6
    topic_swaps: bool = True
    support_cosine: float = 0.75
    support_overlap: float = 0.15


DEFAULT_RULES = ContrastRules()


def find_contrasts(a: str, b: str, rules: ContrastRules = DEFAULT_RULES) -> list[Contrast]:
    """The lexical contrasts between two pieces of advice (empty: nothing found that flips the advice).

    The rule, in the order checked (words are lowercased, contractions expanded, stemmed by a small suffix
    stripper; a few synonyms are folded, e.g. cost -> price, receptacle -> container):

    * **negation** - the texts hold a different number of negators (not, no, never, without, nor, none, avoid,
      refrain, instead of / rather than, n't); or a word one text negates (the first content word after a
      negator) appears un-negated in the other; or the texts use opposite words of :data:`ANTONYMS`
      (include / exclude, always / never, relevant / irrelevant, violate / satisfy, open / close, ...) one each;
    * **condition** - a different number of inverse (unless, except, otherwise), restrictive (only,
      exclusively, solely) or concessive (even, regardless, anyway) markers; or a condition clause (the words
      after if / when / whenever / unless / while / a leading "once", up to the clause's end) whose content
      words occur in the other text in a fraction below ``rules.condition_overlap``;
    * **number** - the sets of numbers differ (digits, number words, once / twice / single / both / pair,
      ordinals from second on; list labels "(1)" are read as order, not as numbers);
    * **threshold** - one text bounds a value from above and the other from below (below / under / within /
      at most / maximum vs above / over / exceeds / at least / minimum, counted only near a number or a money
      or limit word);
    * **order** - a pair of content words ordered one way in one text (X before Y, Y after X, X then Y,
      "(1) X (2) Y", an arrow) and the other way in the other;
    * **object** / **material** - each text names a concrete thing the other does not (any object or
      receptacle type of the real ALFWorld demos, any material of real WebShop instructions, or, with
      ``rules.topic_swaps``, a topic noun such as price / brand / seller / query / source); ``material`` when
      the differing things are materials.

    Args:
        a, b: the two texts (for skills the principles, for mistakes description plus how_to_avoid).
        rules: which checks run and their parameters.

    Returns:
        The contrasts found, in the order above; each kind at most once.
    """
    x, y = _analyse(a), _analyse(b)
    on = rules.enabled
    union = x.content | y.content
    jac = len(x.content & y.content) / len(union) if union else 1.0
    close = jac >= rules.close_overlap
    out: list[Contrast] = []
    if "negation" in on:
        c = _negation(x, y, close)
        if c:
            out.append(Contrast("negation", c))
    if "condition" in on:
        c = _condition(x, y, rules.condition_overlap, close)
        if c:
            out.append(Contrast("condition", c))
    one_sided = (x.counted if not y.numbers else y.counted) & (y.content if not y.numbers else x.content)
    if "number" in on and x.numbers != y.numbers and ((x.numbers and y.numbers) or close or one_sided):
        out.append(Contrast("number", f"{_nums(x.numbers)} vs {_nums(y.numbers)}"))
    if "threshold" in on and (((x.directions - y.directions) and (y.directions - x.directions))
                              or (close and x.directions == y.directions and x.dir_seq != y.dir_seq)):
        out.append(Contrast("threshold", f"bound {'/'.join(x.dir_seq)} vs {'/'.join(y.dir_seq)}"))
    if "order" in on:
        rev = _reversed(x.relations, y.relations)
        if rev:
            out.append(Contrast("order", f"{rev[0]} before {rev[1]} vs {rev[1]} before {rev[0]}"))
        elif jac >= rules.order_overlap and x.order_words != y.order_words and not (x.relations & y.relations):
            out.append(Contrast("order", f"order words {dict(x.order_words)} vs {dict(y.order_words)}"))
    if "object" in on or "material" in on:
        c = _objects(x, y, rules.topic_swaps, close)
        if c and c.kind in on:
            out.append(c)
    return out


def overlap(a: str, b: str) -> float:
    """Content-word Jaccard similarity of two texts (stems, stopwords and markers left out, synonyms folded)."""
    x, y = _analyse(a).content, _analyse(b).content
    return len(x & y) / len(x | y) if x | y else 1.0


def _reversed(r: frozenset[tuple[str, str]], s: frozenset[tuple[str, str]]) -> tuple[str, str] | None:
    rev = sorted((p, q) for p, q in r if (q, p) in s and (q, p) not in r and (p, q) not in s)
    return rev[0] if rev else None


def _nums(s: frozenset[float]) -> str:
    return "{" + ", ".join(f"{v:g}" for v in sorted(s)) + "}" if s else "none"


def _negation(x: _Analysis, y: _Analysis, close: bool) -> str | None:
    rev = _reversed(x.preferences, y.preferences)
    if rev:
        return f"'{rev[0]}' preferred to '{rev[1]}' in one, the reverse in the other"
    for u, v in ((x, y), (y, x)):
        for h in sorted(u.neg_heads - v.neg_heads):
            if h in v.content and h not in v.neg_scope:
                return f"'{h}' negated in one, affirmed in the other"
    if not close:
        return None
    if x.negations != y.negations:
        return f"{x.negations} negator(s) vs {y.negations}"
    xs, ys = set(x.stems), set(y.stems)
    for p, q in _ANTONYMS:
        for u, v in ((p, q), (q, p)):
            if u in xs and u not in ys and v in ys and v not in xs:
                return f"'{u}' vs '{v}'"
    return None


def _condition(x: _Analysis, y: _Analysis, overlap: float, close: bool) -> str | None:
    if close:
        for name, u, v in (("unless/except", x.inverse, y.inverse), ("only", x.only, y.only),
                           ("even", x.even, y.even)):
            if u != v:
                return f"'{name}' x{u} vs x{v}"
    for clauses, other in ((x.cond_clauses, y.content), (y.cond_clauses, x.content)):
        for cl in clauses:
            if cl and len(cl & other) / len(cl) < overlap:
                return "condition '" + " ".join(sorted(cl))[:60] + "' absent from the other"
    return None


def _objects(x: _Analysis, y: _Analysis, topics: bool, close: bool) -> Contrast | None:
    xa, ya = x.things - y.content, y.things - x.content
    if (xa and ya) or (close and (xa or ya)):
        kind = "material" if (xa | ya) <= _MATERIAL or (xa & _MATERIAL and ya & _MATERIAL) else "object"
        return Contrast(kind, f"{'/'.join(sorted(xa))} vs {'/'.join(sorted(ya))}")
    if topics:
        xt, yt = (x.topics | x.things) - y.content, (y.topics | y.things) - x.content
        if xt and yt:
            return Contrast("object", f"{'/'.join(sorted(xt))} vs {'/'.join(sorted(yt))}")
    return None


# ------------------------------------------------------------------------------------------------
# verdicts
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairView:
    """What an :data:`Adjudicator` sees: the two records, their compared texts, the cosine and the contrasts."""

    a: Any
    b: Any
    a_text: str
    b_text: str
    score: float
    contrasts: tuple[Contrast, ...]


Adjudicator = Callable[[PairView], "bool | None"]
"""A judge of borderline pairs (e.g. a teacher asked "do these two give the same advice?"): ``True`` merges,
``False`` keeps both, ``None`` leaves the offline verdict. It may raise :class:`skillrl.errors.TeacherError`;
the offline verdict then stands."""


@dataclass(frozen=True)
class Duplicate:
    """A match: the existing record's id (a skill id, or a mistake id for :meth:`Deduplicator.find_mistake`),
    how it matched (``"title"``, ``"principle"``, ``"description"`` or ``"embedding"``) and the cosine
    similarity (1.0 for exact matches)."""

    skill_id: str
    kind: str
    score: float

    @property
    def record_id(self) -> str:
        """The matched record's id (same as ``skill_id``; reads better for mistakes)."""
        return self.skill_id


@dataclass(frozen=True)
class Verdict:
    """The full decision on one pair (see :meth:`Deduplicator.compare`).

    Attributes:
        other_id: id of the pool record compared with.
        duplicate: whether the two are merged.
        kind: how they matched (``"principle"``, ``"title"``, ``"description"``, ``"embedding"``) or
            ``"none"``.
        score: cosine similarity (1.0 for exact text matches, ``nan`` without an embedder).
        contrast: the first contrast kind that vetoed a merge (``None`` if nothing was vetoed).
        contrasts: every contrast found (checked only when a merge was on the table).
        adjudicated: the adjudicator's answer when one was asked, else ``None``.
        reason: one line in words.
    """

    other_id: str
    duplicate: bool
    kind: str
    score: float
    contrast: str | None = None
    contrasts: tuple[Contrast, ...] = field(default_factory=tuple)
    adjudicated: bool | None = None
    reason: str = ""


class Deduplicator:
    """Find the existing skill (or mistake) a candidate duplicates, without merging opposite advice.

    A candidate duplicates a pool record when (first match wins, most similar first):

    1. their normalised principles (mistakes: descriptions) are equal; or
    2. their normalised titles are equal, or their cosine similarity is at least ``threshold``, and
       :func:`find_contrasts` finds nothing between the two principles (mistakes: description plus
       how_to_avoid) - unless an ``adjudicator`` overrules the offline verdict. The adjudicator is asked about
       every pair on the table: a title match or a cosine of at least ``threshold - margin``, vetoed or not
       (merges are rare, and a teacher's "same advice?" is worth most exactly there).

    Args:
        embedder: an :class:`skillrl.embedders.Embedder` (``None``: exact matching only... unless
            ``lazy_default=True``, which loads the packaged all-MiniLM-L6-v2 on first use).
        threshold: cosine similarity in [-1, 1] at or above which two records may be duplicates (default
            :data:`DEFAULT_DEDUP_THRESHOLD`).
        lazy_default: load the packaged embedder on first use when ``embedder`` is ``None`` (default True).
        contrast: run the contrast veto (default True; False = the former cosine-only rule).
        rules: the contrast rules (default :data:`DEFAULT_RULES`).
        adjudicator: optional judge of borderline pairs (default none: fully offline).
        margin: how far below the threshold the adjudicator is still asked (default 0.05).

    Raises:
        ConfigError: ``threshold`` outside [-1, 1] or a negative ``margin``.
    """

    def __init__(self, embedder: Any = None, threshold: float = DEFAULT_DEDUP_THRESHOLD,
                 lazy_default: bool = True, *, contrast: bool = True, rules: ContrastRules = DEFAULT_RULES,
                 adjudicator: Adjudicator | None = None, margin: float = 0.05) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold is a cosine similarity in [-1, 1], got {threshold}")
        if margin < 0:
            raise ConfigError(f"margin is a non-negative cosine difference, got {margin}")
        self._embedder = embedder
        self.threshold = threshold
        self.lazy_default = lazy_default
        self.contrast = contrast
        self.rules = rules
        self.adjudicator = adjudicator
        self.margin = margin

    @property
    def embedder(self) -> Any:
        if self._embedder is None and self.lazy_default:
            from skillrl.embedders import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    # ---------------------------------------------------------------- similarity

    def _cosines(self, a_texts: Sequence[str], b_texts: Sequence[str]) -> np.ndarray:
        if not a_texts or not b_texts or self.embedder is None:
            return np.zeros((len(a_texts), len(b_texts)), dtype=np.float32)
        vecs = self.embedder.embed([*a_texts, *b_texts])  # one batch for both sides
        return vecs[: len(a_texts)] @ vecs[len(a_texts):].T

    def similarities(self, candidates: Sequence[Skill], pool: Sequence[Skill]) -> np.ndarray:
        """Cosine similarities of ``"title: principle"``, shape ``(len(candidates), len(pool))`` (float32;
        zeros without an embedder)."""
        return self._cosines([dedup_text(s) for s in candidates], [dedup_text(s) for s in pool])

    # ---------------------------------------------------------------- one pair

    def _judge(self, a: Any, b: Any, a_text: str, b_text: str, other_id: str, kind: str, score: float) -> Verdict:
        """Decide a pair that is on the table for a merge (``kind`` = how it matched) or near it."""
        # compared in float32, the embeddings' precision (a cosine of 0.7 stored as float32 is 0.69999999)
        above = kind == "title" or np.float32(score) >= np.float32(self.threshold)
        unsupported = (kind == "embedding" and above and score < self.rules.support_cosine
                       and overlap(a_text, b_text) < self.rules.support_overlap)
        if unsupported:
            above = False
        near = self.adjudicator is not None and score >= self.threshold - self.margin
        contrasts = tuple(find_contrasts(a_text, b_text, self.rules)) if self.contrast and (above or near) else ()
        offline = above and not contrasts
        borderline = above or near
        verdict = None
        note = ""
        if self.adjudicator is not None and borderline:
            try:
                verdict = self.adjudicator(PairView(a, b, a_text, b_text, float(score), contrasts))
            except TeacherError as err:
                note = f"; adjudicator failed ({err}), offline verdict kept"
            if verdict is not None and not isinstance(verdict, bool):
                raise ConfigError(f"an adjudicator returns True, False or None, got {verdict!r}")
        dup = bool(offline if verdict is None else verdict)
        first = contrasts[0].kind if contrasts and above and not dup else None
        if verdict is not None:
            reason = f"adjudicator: {'same' if verdict else 'different'} advice (offline: " \
                     f"{'merge' if offline else 'keep'})"
        elif dup:
            reason = f"{kind} match" + (f", cosine {score:.3f} >= {self.threshold}" if kind == "embedding" else "")
        elif first:
            reason = f"{kind} match vetoed: {first} ({contrasts[0].detail})"
        elif unsupported:
            reason = (f"cosine {score:.3f} < {self.rules.support_cosine} and word overlap below "
                      f"{self.rules.support_overlap}")
        else:
            reason = f"cosine {score:.3f} < {self.threshold}"
        return Verdict(other_id, dup, kind if (dup or first or verdict is not None) else "none", float(score),
                       first, contrasts, verdict, reason + note)

    def compare(self, a: Skill, b: Skill, score: float | None = None) -> Verdict:
        """The decision on one pair of skills, with why.

        Args:
            a, b: the two skills (``b`` plays the pool record: ``Verdict.other_id == b.skill_id``).
            score: their cosine, if already computed (else embedded now).

        Returns:
            A :class:`Verdict`; ``contrast`` names the kind of contrast that vetoed a merge, e.g.
            ``"negation"`` for "open the microwave before heating" / "do not open the microwave before heating".
        """
        if normalize(a.principle) == normalize(b.principle):
            return Verdict(b.skill_id, True, "principle", 1.0, reason="same principle")
        if score is None:
            score = float(self.similarities([a], [b])[0, 0]) if self.embedder is not None else float("nan")
        kind = "title" if normalize(a.title) == normalize(b.title) else "embedding"
        return self._judge(a, b, a.principle, b.principle, b.skill_id, kind, score)

    # ---------------------------------------------------------------- against a pool

    def _scan(self, candidate: Any, pool: Sequence[Any], row: np.ndarray, ids: list[str], texts: list[str],
              cand_text: str, titles: list[str] | None, cand_title: str | None, stop_early: bool) -> list[Verdict]:
        order = np.argsort(-row, kind="stable")
        out: list[Verdict] = []
        lo = self.threshold - (self.margin if self.adjudicator is not None else 0.0)
        for j in order:
            if ids[j] == getattr(candidate, "skill_id", getattr(candidate, "mistake_id", None)):
                continue
            title_hit = titles is not None and titles[j] == cand_title
            if row[j] < lo and not title_hit:
                if stop_early:
                    break
                out.append(Verdict(ids[j], False, "none", float(row[j]), reason=f"cosine {row[j]:.3f} < "
                                                                               f"{self.threshold}"))
                continue
            v = self._judge(candidate, pool[j], cand_text, texts[j], ids[j], "title" if title_hit else "embedding",
                            float(row[j]))
            out.append(v)
            if v.duplicate and stop_early:
                break
        return out

    def explain(self, candidate: Skill, pool: Sequence[Skill], sims: np.ndarray | None = None) -> list[Verdict]:
        """The decision on ``candidate`` against every pool skill (most similar first; the candidate's own id
        is skipped). :meth:`find` returns the first ``duplicate`` of this list (after exact principle matches).

        Args:
            sims: precomputed similarities of ``candidate`` to ``pool`` (shape ``(len(pool),)``).
        """
        exact = [Verdict(s.skill_id, True, "principle", 1.0, reason="same principle") for s in pool
                 if s.skill_id != candidate.skill_id and normalize(s.principle) == normalize(candidate.principle)]
        rest = [s for s in pool if s.skill_id not in {v.other_id for v in exact}]
        if not rest:
            return exact
        row = self.similarities([candidate], rest)[0] if sims is None else _take(sims, pool, rest)
        return exact + self._scan(candidate, rest, row, [s.skill_id for s in rest], [s.principle for s in rest],
                                  candidate.principle, [normalize(s.title) for s in rest], normalize(candidate.title),
                                  stop_early=False)

    def find(self, candidate: Skill, pool: Sequence[Skill], sims: np.ndarray | None = None) -> Duplicate | None:
        """The first duplicate of ``candidate`` in ``pool`` (an exact principle match first, then title matches
        and the most similar skills, each subject to the contrast veto), or ``None``.

        Args:
            candidate: the proposed skill.
            pool: the skills to compare with (a pool skill with the candidate's id is skipped).
            sims: precomputed similarities of ``candidate`` to ``pool`` (shape ``(len(pool),)``).

        Returns:
            ``Duplicate(skill_id, kind, score)``; use :meth:`explain` to see vetoed merges and why.
        """
        principle = normalize(candidate.principle)
        for s in pool:
            if s.skill_id != candidate.skill_id and normalize(s.principle) == principle:
                return Duplicate(s.skill_id, "principle", 1.0)
        if not pool:
            return None
        row = self.similarities([candidate], pool)[0] if sims is None else np.asarray(sims, dtype=np.float32)
        title = normalize(candidate.title)
        titles = [normalize(s.title) for s in pool]
        # title matches first (they used to win outright), then by similarity
        for j, t in enumerate(titles):
            if t == title and pool[j].skill_id != candidate.skill_id:
                v = self._judge(candidate, pool[j], candidate.principle, pool[j].principle, pool[j].skill_id, "title",
                                float(row[j]) if self.embedder is not None or sims is not None else 1.0)
                if v.duplicate:
                    return Duplicate(pool[j].skill_id, "title", 1.0)
        for v in self._scan(candidate, pool, row, [s.skill_id for s in pool], [s.principle for s in pool],
                            candidate.principle, None, None, stop_early=True):
            if v.duplicate:
                return Duplicate(v.other_id, "embedding", v.score)
        return None

    def find_mistake(self, candidate: Mistake, pool: Sequence[Mistake]) -> Duplicate | None:
        """The first mistake of ``pool`` that ``candidate`` duplicates, or ``None``.

        Same rule as :meth:`find`: an equal normalised description matches outright; otherwise the most similar
        mistakes (cosine of :attr:`Mistake.text <skillrl.skill.Mistake.text>` >= ``threshold``) match unless a
        contrast separates their ``description + how_to_avoid``. Returns ``Duplicate(mistake_id, kind, score)``
        with kind ``"description"`` or ``"embedding"``.
        """
        key = normalize(candidate.description)
        for m in pool:
            if m.mistake_id != candidate.mistake_id and normalize(m.description) == key:
                return Duplicate(m.mistake_id, "description", 1.0)
        if not pool or self.embedder is None:
            return None
        row = self._cosines([mistake_text(candidate)], [mistake_text(m) for m in pool])[0]
        for v in self._scan(candidate, pool, row, [m.mistake_id for m in pool],
                            [f"{m.description} {m.how_to_avoid}" for m in pool],
                            f"{candidate.description} {candidate.how_to_avoid}", None, None, stop_early=True):
            if v.duplicate:
                return Duplicate(v.other_id, "embedding", v.score)
        return None


def _take(sims: np.ndarray, pool: Sequence[Skill], rest: Sequence[Skill]) -> np.ndarray:
    pos = {s.skill_id: i for i, s in enumerate(pool)}
    arr = np.asarray(sims, dtype=np.float32)
    return np.array([arr[pos[s.skill_id]] for s in rest], dtype=np.float32)


__all__ = [
    "CONTRAST_KINDS",
    "DEFAULT_DEDUP_THRESHOLD",
    "DEFAULT_RULES",
    "Adjudicator",
    "Contrast",
    "ContrastRules",
    "Deduplicator",
    "Duplicate",
    "PairView",
    "Verdict",
    "dedup_text",
    "find_contrasts",
    "mistake_text",
    "normalize",
]

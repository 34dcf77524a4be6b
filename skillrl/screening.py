"""Injection and poisoning screening for skill-bank records: :func:`screen` and :class:`Screener`.

Whatever enters a skill bank is pasted into every later rollout's prompt, so a record proposed by a teacher (a
hosted LLM that read untrusted observations, a web page, a shared bank file) is screened before it is kept.
:func:`screen` takes a :class:`skillrl.skill.Skill`, a :class:`skillrl.skill.Mistake` or a plain ``str`` and
returns a :class:`Verdict` (``flagged``, ``reasons``, ``score``). It is rule-based: offline, CPU only, no model,
deterministic, a few milliseconds of CPU per record (``benchmarks/bench_screening.py``: p50 3.4-4.0 ms, p99
8.2-8.9 ms over two runs on a shared, loaded 2-core machine; longer fields cost more).

What is screened, per field (a skill's ``title``, ``principle``, ``when_to_apply`` and ``category``, a mistake's
``description``, ``why_it_happens`` and ``how_to_avoid``, plus any extra string field a foreign file carried):

=========================  ==========================================================================================
kind                       what the rules look for
=========================  ==========================================================================================
``instruction_override``   telling the policy to ignore / drop / outrank its instructions, its goal or the user's
                           request; declaring them void; "your real task is"; personas ("you are now", "developer
                           mode"); obeying commands found in pages, notes or observations over the goal
``exfiltration``           revealing, copying or sending the system prompt, instructions, the skill bank, the
                           conversation, credentials, keys, tokens or the user's personal details; template
                           placeholders for them (``{conversation}``, ``$API_KEY``)
``tool_abuse``             shell commands (``curl | bash``, ``os.system``, ``rm -rf``, ``pip install``), using a
                           shell / terminal / interpreter / file tool, modifying the environment, the checker or the
                           skill bank, reading local files, mass purchases, flooding a service
``network``                URLs, bare domain names, IP addresses, ports, HTTP / webhook / feed targets, sending data
                           to servers or consulting external sites
``reward_hacking``         claims about the checker ("the grader does not check", "any purchase is scored as a
                           success"), gaming or patching the reward, declaring done prematurely, hedged answers,
                           answers copied from the question, "skip checking" shortcuts
``hidden_encoding``        zero-width, bidi, tag, variation-selector, private-use and control characters;
                           mixed-script (homoglyph) words; fullwidth / mathematical letters; spaced-out letters;
                           base64 blobs, hex escapes, percent-encoded or entity-encoded text; rot13 or reversed
                           text; HTML comments and tags; markdown images; markdown links carrying placeholders;
                           a cue to decode something
``authority``              claims to speak for the system, operators, maintainers, developers, evaluators or a team
                           ("approved by the system operators", "note from the administrators", "as your
                           administrator", "per operator policy"), self-ranking ("outranks other advice")
=========================  ==========================================================================================

Matching runs on a normalised copy of each field (NFKC, invisible characters removed, Cyrillic / Greek
look-alikes folded to Latin, spaced-out letters joined, quotes and dashes straightened, lowercase) and on the
payloads that hidden encodings decode to (base64, hex, percent, entities, tag characters, zero-width binary,
variation selectors, bidi-reversed spans, rot13 / reversed segments that read as English only once decoded).
Patterns are context-aware, not bare keywords: "ignore distractor objects", "execute the sub-queries in order",
"delete the previous query text", "the system of units", "token budget", "password-protected box", "the URL of
the product page", "override the default size", "do not follow instructions that appear inside snippets" pass.
Two layers of rules:

* *sequence rules* (:func:`regex_rule`): a verb of the attack and an object of the attack within one clause
  ("ignore ... previous instructions", "print ... your system prompt"), on word boundaries; they skip advice
  whose negation makes it benign ("never ignore the instructions"), objects that are untrusted sources ("ignore
  instructions embedded in product pages"), and, where a pattern is ambiguous, need a second cue in the sentence;
* *co-occurrence rules* (:func:`cooc_rule`): one sentence holding a concept of the attack from each of two or
  three lexicons, in any order (a secret and a verb that emits it; the user's request, a page and a verdict for
  the page; the checker and a claim that it is lax; an authority, a decree and the agent), which survives
  paraphrase better than word sequences.

Weak signals (a claim about how the task is scored, a "skip checking" shortcut, "whether or not") weigh 0.5, so
only their combination flags.

Scoring: each rule has a weight (1.0 strong, 0.5 weak); a record's ``score`` is the sum over the rules that
matched (each rule counted once, at its largest weight), and the record is flagged when ``score >= threshold``
(default :data:`DEFAULT_THRESHOLD` = 1.0). A plugged classifier may flag a record the rules pass; it never
unflags one. The learned screen (``Screener(model=shared_screen())``, :mod:`skillrl.screening_model`) differs: it flags
on its own, and a rules flag stands only when the model gives the record ``p(malicious) >= confirm`` or the flag
comes from a rule about hidden characters the model does not read (:data:`COMBINATION`, :data:`UNSEEN_BY_MODEL`).

Plug-in point for a classifier: :class:`Screener` takes ``classifier=`` callables ``fn(record) -> Verdict | None``,
and :meth:`Screener.from_plugin_manager` consults the ``skillrl_screen_record(record)`` hook
(:mod:`skillrl.hookspecs`, ``firstresult``).

How the rules were made: written against the *tune* part of ``benchmarks/data/screening`` (never the report
part), against hand-written probe sentences of fresh phrasing (``tests/test_screening.py`` keeps a sample), and
checked for false positives on real text of ``../shared/data`` (the official banks, 5.5k strings of distilled
episode memories, 11.6k human WebShop instructions, 529 Reflexion lessons). ``benchmarks/bench_screening.py``
reports the held-out report part. Rules generalise only as far as their lexicons: on sentences phrased unlike
anything above, recall is markedly lower than on the labelled set (see the benchmark's notes).

What to expect (``benchmarks/bench_screening.py``, measured on sets written by helper sessions that never saw
these rules, each screened once before any rule was written from it): 187 of 264 malicious records caught
(70.8%) on report3 and 189 of 289 (65.4%) on report4, with 4.8% and 5.5% of their decoys flagged; rules written
from report3's misses did not raise the next blind set's figure. Blatant attacks in the phrasing of the lexicons
are caught; paraphrased intent ("regard the rest of the goal as satisfied"), claims about how a checker works and
new encodings are often not. Treat screening as a tripwire in front of the quarantine, not as a guarantee: keep
``trust="untrusted"`` for banks from elsewhere, read ``skillrl screen`` output, and plug a stronger classifier
(an LLM judge) through ``classifier=`` / ``skillrl_screen_record`` where the teacher reads untrusted text. The
learned screen shipped with skillrl (:mod:`skillrl.screening_model`, ``SkillConfig.screening_model=True``) is that
stronger classifier: on report5, a blind set screened once, the rules caught 184 of 290 (63.4%) and the rules with
the first shipped model 269 of 290 (92.8%, 90.8% of the subtle ones) with 5 of 252 decoys flagged
(``benchmarks/bench_screening_model.py``).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from skillrl.errors import ConfigError

if TYPE_CHECKING:
    import pluggy

KINDS = ("instruction_override", "exfiltration", "tool_abuse", "network", "reward_hacking", "hidden_encoding",
         "authority")
DEFAULT_THRESHOLD = 1.0
#: With a learned screen (``Screener(model=...)``), the ``p(malicious)`` a rules hit needs to flag.
DEFAULT_CONFIRM = 0.05
#: How ``Screener(model=...)`` decides (chosen on report4 with a model not trained on it; see
#: ``benchmarks/bench_screening_model.py``).
COMBINATION = ("flagged = p >= model.threshold or (rules score >= threshold and (p >= confirm or a rule of "
               "UNSEEN_BY_MODEL hit))")
#: Rules about characters the learned screen never reads (its input drops invisible characters and keeps one count
#: line): their flags stand without the model's confirmation.
UNSEEN_BY_MODEL = frozenset({"hidden.zero_width", "hidden.bidi", "hidden.tag_chars", "hidden.variation_selectors",
                             "hidden.control_chars", "hidden.invisible_payload", "hidden.odd_spaces"})
STRONG, WEAK = 1.0, 0.5

SKILL_FIELDS = ("title", "principle", "when_to_apply", "category")
MISTAKE_FIELDS = ("description", "why_it_happens", "how_to_avoid")


# ================================================================================================ results
@dataclass(frozen=True)
class Hit:
    """One rule match.

    Attributes:
        rule: the rule's name (``"override.ignore_instructions"``).
        kind: one of :data:`KINDS`.
        field: the record field it was found in (``"principle"``; ``"text"`` for a plain string).
        span: the offending text, as it reads after normalisation (invisible characters shown as ``\\u200b``).
        weight: the rule's weight.
        via: ``""`` when found in the field's text, else the encoding it was decoded from (``"base64"``).
        start: offset of the span in the raw field text (``-1`` when found in a decoded payload).
    """

    rule: str
    kind: str
    field: str
    span: str
    weight: float
    via: str = ""
    start: int = -1

    def __str__(self) -> str:
        via = f" (decoded from {self.via})" if self.via else ""
        at = f" at {self.start}" if self.start >= 0 else ""
        return f"{self.rule} [{self.kind}] in {self.field}{at}{via}: {self.span!r}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of screening one record.

    Attributes:
        flagged: ``score >= threshold`` (or a plugged classifier flagged it).
        reasons: one line per hit: ``"rule [kind] in field at offset: 'span'"``; a classifier's reasons follow.
        score: sum of the weights of the rules that matched (each rule once); 0.0 for a clean record.
        hits: the structured matches behind ``reasons``.
        probability: the learned screen's ``p(malicious)`` when the screener has a ``model``
            (:mod:`skillrl.screening_model`), else ``None``.
    """

    flagged: bool
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0
    hits: tuple[Hit, ...] = ()
    probability: float | None = None

    @property
    def kinds(self) -> list[str]:
        """The distinct kinds of the hits, in :data:`KINDS` order."""
        found = {h.kind for h in self.hits}
        return [k for k in KINDS if k in found]


# ================================================================================================ normalisation
_INVISIBLE = set(range(0x200B, 0x2010)) | set(range(0x2060, 0x2065)) | {0xFEFF, 0x180E, 0x00AD, 0x034F, 0x115F,
                                                                          0x1160, 0x3164, 0xFFA0, 0x17B4, 0x17B5}
_BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}
_DASHES = {0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212}
_QUOTES = {0x2018: "'", 0x2019: "'", 0x201A: "'", 0x201B: "'", 0x2032: "'", 0x00B4: "'",
           0x201C: '"', 0x201D: '"', 0x201E: '"', 0x201F: '"', 0x00AB: '"', 0x00BB: '"'}
#: Cyrillic, Greek and other letters that render like Latin ones (folded before matching).
HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "ɡ": "g", "ո": "n", "ս": "u", "օ": "o", "ց": "g", "ᴠ": "v", "ᴡ": "w", "ı": "i", "ȷ": "j",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y",
    "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "D", "Ԝ": "W", "Һ": "H",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ω": "w", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
#: small-capital and other styled letters that NFKC leaves alone (folded before matching, flagged as styled)
SMALL_CAPS = dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnopqrstuvwyz"))
HOMOGLYPHS.update(SMALL_CAPS)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


def _invisible_class(cp: int, prev: str) -> str | None:
    """The hidden-character class of code point ``cp`` (``prev`` is the preceding character), or ``None``."""
    if cp < 0x7F:
        return "control" if cp < 0x20 and cp not in (9, 10, 13) else None
    if 0xE0000 <= cp <= 0xE007F:
        return "tag"
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF or 0x180B <= cp <= 0x180D or cp == 0x180F:
        # VS15/VS16 right after a symbol or an emoji is ordinary emoji presentation
        if cp in (0xFE0E, 0xFE0F) and prev and (unicodedata.category(prev) in ("So", "Sk", "Sm")
                                                or ord(prev) >= 0x1F000):
            return None
        return "variation_selector"
    if cp in _BIDI:
        return "bidi"
    if cp in _INVISIBLE:
        return "zero_width"
    cat = unicodedata.category(chr(cp))
    if cat == "Cf":
        return "format"
    if cat == "Co":
        return "private_use"
    if cat == "Cn":
        return "unassigned"
    if cat == "Cc" and chr(cp) not in "\n\r\t":
        return "control"
    return None


@dataclass
class _Text:
    """A normalised text with, for each of its characters, the offset of the raw character it came from."""

    norm: str           # lowercase, for matching
    cased: str          # same characters before lowercasing (same length as ``norm``)
    index: list[int]    # raw offset of each character


_PLAIN_UNSAFE = re.compile(r"[\x00-\x1f\x7f]|\s\s|^\s|\s$")


def _normalise(raw: str) -> _Text:
    if raw.isascii() and not _PLAIN_UNSAFE.search(raw) and not _spaced_hint(raw):
        return _Text(raw.lower(), raw, list(range(len(raw))))
    chars: list[str] = []
    index: list[int] = []
    prev = ""
    for i, ch in enumerate(raw):
        cp = ord(ch)
        if 0x20 <= cp < 0x7F:
            chars.append(ch)
            index.append(i)
            prev = ch
            continue
        if _invisible_class(cp, prev):
            continue
        prev = ch
        if unicodedata.category(ch) == "Mn":  # combining marks (accents decomposed, strike-through overlays)
            continue
        if cp in _QUOTES:
            out = _QUOTES[cp]
        elif cp in _DASHES:
            out = "-"
        elif ch in HOMOGLYPHS:
            out = HOMOGLYPHS[ch]
        else:
            out = unicodedata.normalize("NFKC", ch)
            out = "".join(HOMOGLYPHS.get(c, _QUOTES.get(ord(c), c)) for c in out)
        for c in out:
            if c.isspace():
                c = " "
            chars.append(c)
            index.append(i)
    text = "".join(chars)
    # spaced-out letters ("i g n o r e  a l l"): drop single separators, a double space becomes a word break
    keep = [True] * len(text)
    for m in (_SPACED.finditer(text) if _spaced_hint(text) else ()):
        k = m.start()
        while k < m.end():
            if not text[k].isalpha():
                if text[k] == " " and k + 1 < m.end() and text[k + 1] == " ":
                    while k + 1 < m.end() and text[k + 1] == " ":  # a run of spaces: one word break
                        keep[k + 1] = False
                        k += 1
                    k += 1
                    continue
                keep[k] = False
            k += 1
    text = "".join(c for c, k in zip(text, keep) if k)
    index = [x for x, k in zip(index, keep) if k]
    # collapse white space
    out_c: list[str] = []
    out_i: list[int] = []
    for c, x in zip(text, index):
        if c == " " and (not out_c or out_c[-1] == " "):
            continue
        out_c.append(c)
        out_i.append(x)
    while out_c and out_c[-1] == " ":
        out_c.pop()
        out_i.pop()
    cased = "".join(out_c)
    lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in cased)
    return _Text(lower, cased, out_i)


# four or more single letters separated by one consistent separator (space, dot, dash, star, bar, underscore)
_SPACED = re.compile(r"(?<![\w'])[a-zA-Z](?:(?: {1,3}|[._*|\-])[a-zA-Z](?![\w'])){3,}")
_SPACED_HINT = re.compile(r"[a-zA-Z][._*|\-][a-zA-Z][._*|\-][a-zA-Z][._*|\-][a-zA-Z]")


def _spaced_hint(text: str) -> bool:
    """Cheap test for a possible run of spaced-out letters (4+ one-letter words, or l.e.t.t.e.r.s)."""
    return sum(len(w) == 1 for w in text.split()) >= 4 or bool(_SPACED_HINT.search(text))


# ================================================================================================ pattern helpers
STOP = (r"(?:when|whenever|if|unless|because|since|while|until|but|although|though|whether|so|then|and then|"
        r"otherwise|except|or else)")
TOK = r"[\w'\"()/\-]+"


def gap(n: int) -> str:
    """Up to ``n`` words of one clause (no clause conjunction, no , ; : . between them)."""
    return rf"(?:\s+(?!{STOP}\b){TOK}){{0,{n}}}?\s+"


def alt(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


def seq(*parts: str, n: int = 4) -> str:
    """``parts`` in order, each separated by up to ``n`` words of one clause."""
    return gap(n).join(parts)


NEG = r"(?:not|never|n't|no|avoid|avoiding|without|nor|refuse|refusing|resist|instead of)"
UNTRUSTED = alt(r"(?:web ?)?pages?", "observations?", "snippets?", "notes?", "labels?", "documents?", "results?",
                "descriptions?", "listings?", "reviews?", "(?:search )?results?", "tool outputs?", "websites?",
                "sites?", "product (?:text|titles?|pages?|descriptions?)", "retrieved (?:text|content|documents?)",
                "them", "it", "the environment", "user content", "emails?", "messages? (?:inside|in) the environment",
                "containers?", "receptacles?", "comments?", "seller'?s? notes?", "the text", "(?:product )?images?",
                "packaging", "boxes", "the box", "thumbnails?", "ads?", "advertisements?", "banners?")
UNTRUSTED_AFTER = (r"(?:\s+(?:that|which)?\s*(?:appear|appears|appearing|found|embedded|written|placed|contained|"
                   r"hidden|given|shown|present|printed|posted|included|listed|displayed)?\s*(?:in|inside|within|on|"
                   rf"from|by)\s+(?:the\s+|a\s+|any\s+|those\s+|these\s+|such\s+)?{UNTRUSTED})")

# --- objects of attacks --------------------------------------------------------------------------------------
PRODUCTY = alt("assembly", "care", "washing", "wash", "installation", "install", "cooking", "recipe", "usage",
               "dosage", "mounting", "operating", "product", "manufacturer'?s?", "game'?s?", "package", "label",
               "setup", "the task'?s?", "task", "heating", "cleaning", "safety")
TRUST_Q = alt("your", "the user'?s?", "the customer'?s?", "the shopper'?s?", "the original", "the initial",
              "the system", "system", "previous", "prior", "earlier", "above", "preceding", "opening", "original",
              "initial", "given", "assigned", "starting", "standing", "core", "all", "any", "every", "the", "these",
              "those", "its", "my", "legacy", "old", "existing", "current", "base", "default", "safety")
INSTR_N = alt("instructions?", r"(?:system )?prompts?", "system messages?", "guidelines?", "guardrails?",
              "directives?", "programming", "briefing", "preamble", "setup text", "system rules?", "safety rules?",
              "rules you were given", "instruction set", "opening message", "initial message", "first message",
              "guidance", "policies", "rules of your prompt", "operating rules")
CONSTRAINT_N = alt("constraints?", "rules?", "restrictions?", "requirements?", "limits?", "limitations?",
                   "conditions?", "checks?")
CONSTRAINT_OWNER = alt(r"(?:from|in|of|at|inside|within) (?:the |your )?(?:top of )?(?:your )?" +
                       alt("preamble", "prompt", "instructions?", "setup(?: text)?", "briefing", "brief",
                           "system(?: message| prompt)?", "context", "opening message", "instruction",
                           "initial message", "configuration", "guidelines"),
                       "you were given", "given to you", "you received", "stated (?:there|above|earlier)",
                       "(?:written|stated|listed) in your")
TRUSTED_REF = alt(
                  r"your (?:[\w'-]+ )?(?:instructions?|guidance|guidelines?|setup|briefing|brief|prompt|"
                  r"context|directives?|"
                  r"rules|orders|constraints|task|goal|assignment|guardrails?|safety rules|restrictions|"
                  r"limits|policies|filters|safeguards|principles)",
                  r"(?:the |your )?(?:opening|initial|original|system|starting) (?:[\w'-]+ )?(?:context|"
                  r"message|prompt|instructions?|guidance|briefing|rules|orders)",
                  r"the (?:task|goal) (?:statement|description|text|line|instructions?)",
                  r"the (?:user|shopper|customer|buyer)'?s? (?:request|instructions?|constraints|"
                  r"requirements|goal|wishes|task|budget|limits?)",
                  r"(?:previous|prior|earlier|above|preceding) (?:instructions|guidance|guidelines|orders|"
                  r"directives|rules|constraints)",
                  r"the (?:instructions?|system prompt|system message|prompt)(?: (?:text|line|wording|"
                  r"itself))?",
                  r"(?:rules|instructions|guidance|constraints|directions|orders|guidelines) (?:stated|"
                  r"given|written|"
                  r"set|listed|provided|shown|laid out) (?:at|in) (?:the )?(?:beginning|start|top|outset|"
                  r"head) of "
                  r"(?:the |your )?(?:conversation|prompt|context|episode|session|instructions|chat)",
                  r"the (?:original|initial|given|assigned|user'?s?|actual) (?:question|query|task|goal|"
                  r"request)",
                  r"the (?:user|shopper|customer|buyer)'?s? (?:price cap|price limit|maximum price|max price|"
                  r"spending limit)", r"the (?:instruction|goal|question|task)(?:'s|s')? (?:wording|words|text|names?|"
                  r"details|constraints|attributes)",
                  r"(?:price |size |colou?r |attribute )?(?:and (?:price |size |colou?r )?)?(?:limits|"
                  r"constraints|requirements|attributes) (?:given|set|named|stated|listed|"
                  r"specified) by the (?:shopper|user|customer|buyer|instruction)")
DEVALUE = alt(r"(?:an? )?(?:loose|rough|vague|mere|soft|general|polite|friendly)? ?(?:wish|hint|suggestion|guess|"
              r"default|starting point|guide|proposal|recommendation|idea|placeholder|formality|example|"
              r"preference|"
              r"estimate|approximation|ballpark)e?s?", "approximate", "ballpark figures?", r"(?:marketing )?fluff",
              "soft", "interchangeable", "boilerplate", r"filler(?: text)?",
              "optional", "negotiable", "non-binding", "void", "obsolete", "outdated", "deprecated", "expired",
              "irrelevant", "noise", "a decoy", "a distraction", "fiction", r"flavou?r text", "background",
              "advisory", "suggestions", "mere suggestions", "not binding")
GOAL_N = alt("goal(?! object| receptacle| location| text words?| state words?)", "task(?! type)", "objective",
             "request", "mission", "assignment", r"orders?", "instructions?", "brief", "purpose")
TOP_CTX = r"(?:top|start|beginning|head) of (?:your|the) (?:context|prompt|conversation|instructions|input)"

# --- sensitive objects (exfiltration) -------------------------------------------------------------------------
ADJ = r"(?:(?:full|entire|complete|whole|original|initial|opening|hidden|secret|internal|private|exact|raw|" \
      r"verbatim|current|first|underlying|real|actual|system) )*"
SECRET = alt(
    rf"(?:your|the) {ADJ}system (?:prompt|message|instructions?|rules?|configuration|preamble)",
    r"system (?:prompt|message)s?",
    rf"your {ADJ}(?:prompt|instructions?|configuration|config|setup|preamble|directives?|programming|guidelines?|"
    r"rules|system message|memory|context(?: window)?|skill (?:bank|list|memory|set|block)|skills|guidance|"
    r"briefing|hidden notes|private notes|credentials|keys?|tokens?|secrets?|passwords?|api keys?)"
    r"(?: (?:text|block|section|notes?|content|message|list|bank|set|file|data|details|lines?|window))?",
    r"(?:rules|skills|instructions|guidance|advice|tips|guidelines|directives|text|everything|"
    r"all)(?: and \w+)? "
    r"(?:that )?(?:you were|you've been|you have been|you are|you were initially|you got) (?:given|shown|"
    r"provided|told|taught|configured with|loaded with|instructed|sent|handed)",
    rf"the {ADJ}(?:skill (?:bank|list|memory|block)|memory block|guidance block|preamble|"
    r"instructions you (?:received|were given))",
    rf"the {ADJ.replace(')*', ')+')}(?:prompt|configuration|config)",
    r"(?:skills?|instructions?|text|guidance|advice|rules|lines?|notes?|blocks?|"
    r"content|messages?|material|tips) (?:(?:and|or) \w+ )?(?:that (?:were|was|are|is) )?(?:shown|given|"
    r"injected|"
    r"provided|presented|inserted|added|pasted|placed|loaded) (?:to you|in(?:to)? your (?:prompt|context)|"
    r"at the top|above|before)\b",
    r"(?:injected|inserted|pasted|loaded) (?:into|in) your (?:prompt|context)",
    r"credentials?", r"api[ _-]?keys?", r"(?:secret|private|access|ssh|signing) keys?",
    r"(?:access|auth|authentication|authori[sz]ation|bearer|session|api|refresh|oauth|jwt|id) (?:tokens?|"
    r"headers?|cookies?|ids?|secrets?)",
    r"(?:your|the user'?s?|the shopper'?s?|the customer'?s?|account|login|admin|their|stored|"
    r"saved) passwords?",
    r"passwords? (?:you|stored|saved|configured)", r"env(?:ironment)? variables?", r"\.env\b",
    r"(?:session|browser|auth|login|tracking|your|the user'?s?) cookies",
    r"(?:the|this|our|earlier|previous|prior|past|whole|entire|full|current) (?:conversations?|chats?|"
    r"dialogues?|message history|chat history|transcripts?|conversation (?:turns?|history|log))",
    r"(?:earlier|previous|prior|past|other) (?:conversation|chat|dialogue|session)s?(?: turns?)?",
    r"everything (?:the user|the shopper|the customer|they|you) (?:has |have |had |were |was |have been |"
    r"'ve been )?(?:told|said|shared|typed|wrote|written|asked|given|shown|instructed)",
    r"(?:every|all|each|any) (?:of the )?messages? you (?:have )?(?:seen|received|read|got)",
    r"(?:all|every|each|any) (?:of the |your )?(?:prior|previous|earlier|past|preceding|hidden|system|"
    r"internal) (?:messages|turns|instructions|prompts|exchanges)",
    r"(?:user|shopper|customer|buyer|person)'?s? (?:personal |private |contact |account |payment |"
    r"billing )?(?:details|data|information|info|e-?mail(?: address)?|address|phone(?: number)?|full name|"
    r"history|identity|card|credit card)",
    r"personal (?:data|information|details|info)", r"\bpii\b", r"private notes",
    r"(?:text|lines?|words?|content|"
    r"sentences?|paragraphs?|messages?|everything|instructions?) (?:written |shown |that (?:came|comes|"
    r"appears?|is) )?"
    r"(?:above|before|preceding|prior to)(?: (?:this|the|your) (?:task|question|goal|instructions?|skill|"
    r"line|message|description|block|task description))?(?! (?:a|an|the) )",
    r"text above",
    r"(?:first|opening|initial|starting) (?:line|lines|words?|sentences?|paragraph|message)s? "
    r"(?:of|from|in) your",
    r"(?:words?|lines?|text|contents?) of your (?:opening |initial |first |original |starting )?"
    r"(?:instructions?|prompt|message|context|setup)",
    TOP_CTX,
    r"(?:contents?|everything|all) (?:of |in )?your (?:context|memory|prompt)",
)
SECRET_GATE = ("system", "prompt", "instruction", "config", "setup", "preamble", "directive", "programming",
               "guideline",
               "rules", "memory", "context", "skill", "guidance", "notes", "credential", "key", "token", "secret",
               "password", "bank", "text", "line", "content", "message", "material", "tips", "advice", "block",
               "inject", "insert", "paste", "load", "api", "header", "cookie", "session", "env", "conversation",
               "chat", "dialog", "transcript", "everything", "user", "shopper", "customer", "buyer", "person", "pii",
               "word", "sentence", "paragraph", "top of", "start of", "beginning of", "head of", "id ")
DISCLOSE = alt("answer with", "respond with", "reply with", "fill in", "fill", "populate", "stuff",
               "describe", "explain", "detail", "outline",
               "recount", r"say(?: aloud)?", "read aloud", "speak", "reveal", "print", "output", "repeat",
               "recite", "echo", "disclose", "share", "leak", "dump",
               "list", r"write(?: out| down)?", "copy", "paste", "includes?", "add", "append", "prefix", "prepend",
               "send", "tell", "record", "put", "insert", "type", "show", "expose", "state", "quote", "transmit",
               "forward", "submit", "post", "upload", "e-?mail", "log", "enter", "display", "return", "give",
               "provide", "report", "attach", "embed", "encode", "spell out", "read out", "summari[sz]e",
               "mention", "relay", "reproduce", "restate", "transcribe", "store", "save", "publish", "leave")


@dataclass(frozen=True)
class Rule:
    """A screening rule.

    Attributes:
        name: unique, ``"<family>.<what>"``.
        kind: one of :data:`KINDS`.
        weight: :data:`STRONG` (1.0) or :data:`WEAK` (0.5).
        description: one line, shown in docs.
        find: ``find(view) -> iterable of (span, raw_start, via)`` over a :class:`FieldView`.
    """

    name: str
    kind: str
    weight: float
    description: str
    find: Callable[[FieldView], Iterable[tuple[str, int, str]]]


@dataclass
class FieldView:
    """One field of a record prepared for the rules.

    Attributes:
        name: the field name.
        raw: the field text as stored.
        text: the normalised text (see :func:`_normalise`).
        decoded: ``[(via, text)]`` payloads decoded from hidden encodings in the field.
        hidden: ``[(class, raw_offset, char)]`` invisible characters found in ``raw``.
        spans: ``[(via, encoded span, raw_offset)]`` where the decoded payloads were found (-1: not locatable).
        visible: ``raw`` without its invisible characters.
    """

    name: str
    raw: str
    text: _Text
    decoded: list[tuple[str, str]]
    hidden: list[tuple[str, int, str]]
    spans: list[tuple[str, str, int]]
    visible: str


def _show(s: str, limit: int = 90) -> str:
    out = "".join(c if (c.isprintable() and ord(c) < 0x2000) or c in "’‘“”—–→" else f"\\u{ord(c):04x}"
                  if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}" for c in s)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _clause_start(text: str, pos: int) -> int:
    """Offset of the start of the clause holding ``pos`` (after the last . ; : ! ? , or line break)."""
    cut = max(text.rfind(c, 0, pos) for c in ".;:!?,\n")
    return cut + 1


_NEG_RE = re.compile(rf"\b{NEG}\b|n't\b")
_COND_RE = re.compile(r"\b(?:if|when|whenever|unless|until|while|as long as|in case|whether)\b")


def _negated(text: str, start: int, words: int = 4) -> bool:
    """True when a negator stands in the ``words`` words before ``start`` within the same clause."""
    head = text[_clause_start(text, start):start]
    tail = " ".join(head.split()[-words:])
    return bool(_NEG_RE.search(tail))


def _conditional(text: str, start: int) -> bool:
    head = text[_clause_start(text, start):start]
    return bool(_COND_RE.search(" ".join(head.split()[-8:])))


_USE_GATES = True  # tests switch gates off to check that they never hide a match


def regex_rule(name: str, kind: str, weight: float, description: str, pattern: str, *, neg: bool = False,
               cond: bool = False, untrusted: bool = False, cased: bool = False, decoded: bool = True,
               need: str | None = None, need_weight: float | None = None, exclude: str | None = None,
               gate: Sequence[str] | str = (), words: bool = True, unless: str | None = None) -> Rule:
    """A rule matching ``pattern`` on the normalised text (and on decoded payloads when ``decoded``).

    ``neg``: skip a match negated within its clause. ``cond``: skip a match inside an if/when clause.
    ``untrusted``: skip a match followed by an untrusted-source phrase ("... found in the page").
    ``cased``: match the case-preserving text. ``need``: a pattern the match's sentence must also contain for
    the rule's full weight; without it the hit counts ``need_weight`` (dropped when ``None``). ``exclude``: skip a
    match whose text contains this pattern. ``gate``: substrings of which one must occur in the text for the
    pattern to be tried at all, or a regex that must match (a speed-up only: every match satisfies it).
    ``words``: matches start and end on word boundaries (off for markup and URL rules). ``unless``: skip a match
    whose sentence matches this pattern.
    """
    # the normalised text is lowercase: patterns are written in lowercase. ``words``: a match must start and end on
    # word boundaries (the end through a lookahead, so the engine backtracks to a shorter alternative)
    rx = re.compile(f"(?:{pattern})(?:(?<=[a-z0-9_])(?![a-z0-9_])|(?<![a-z0-9_]))" if words else pattern)
    after = re.compile(UNTRUSTED_AFTER)
    need_rx = re.compile(need) if need else None
    excl_rx = re.compile(exclude) if exclude else None
    gate_rx = re.compile(gate if isinstance(gate, str) else "|".join(map(re.escape, gate))) if gate else None
    unless_rx = re.compile(unless) if unless else None

    def find(view: FieldView):
        texts = [("", view.text.cased if cased else view.text.norm)]
        if decoded:
            texts += [(via, t if cased else t.lower()) for via, t in view.decoded]
        for via, t in texts:
            if _USE_GATES and gate_rx is not None and not gate_rx.search(t):
                continue
            pos = 0
            while True:
                m = rx.search(t, pos)
                if m is None:
                    break
                s = m.start()
                pos = max(m.end(), s + 1)
                if words and s > 0 and (t[s - 1].isalnum() or t[s - 1] == "_") and t[s].isalnum():
                    pos = s + 1
                    continue
                if neg and _negated(t, s):
                    continue
                if cond and _conditional(t, s):
                    continue
                if untrusted and after.match(t, m.end()):
                    continue
                if excl_rx is not None and excl_rx.search(m.group(0)):
                    continue
                w = weight
                if need_rx is not None or unless_rx is not None:
                    a = max(t.rfind(c, 0, s) for c in ".!?\n") + 1
                    ends = [i for i in (t.find(c, m.end()) for c in ".!?\n") if i >= 0]
                    sentence = t[a: min(ends) if ends else len(t)]
                    if unless_rx is not None and unless_rx.search(sentence):
                        continue
                if need_rx is not None:
                    if not need_rx.search(sentence):
                        if need_weight is None:
                            continue
                        w = need_weight
                raw_start = view.text.index[s] if not via and s < len(view.text.index) else -1
                yield m.group(0), raw_start, via, w
    return Rule(name, kind, weight, description, find)


def check_rule(name: str, kind: str, weight: float, description: str,
               fn: Callable[[FieldView], Iterable[tuple[str, int]]]) -> Rule:
    """A rule computed by ``fn(view) -> [(span, raw_start)]`` (character-level checks on the raw text)."""

    def find(view: FieldView):
        for span, start in fn(view):
            yield span, start, "", weight
    return Rule(name, kind, weight, description, find)


_SENTENCE = re.compile(r"[^.!?\n]+")


def cooc_rule(name: str, kind: str, weight: float, description: str, groups: Sequence[str], *, neg: bool = True,
              unless: str | None = None, decoded: bool = True) -> Rule:
    """A rule that fires when one sentence contains a match of every pattern in ``groups`` (in any order).

    Robust to word order and paraphrase where :func:`regex_rule` needs the attack's words in sequence. ``neg``:
    skip the sentence when the first group's match (the predicate) is negated. ``unless``: skip a sentence matching
    this pattern. The span reported is the sentence.
    """
    rxs = [re.compile(rf"(?<![a-z0-9_])(?:{g})(?![a-z0-9_])") for g in groups]
    unless_rx = re.compile(unless) if unless else None

    def find(view: FieldView):
        texts = [("", view.text.norm)] + ([(via, t.lower()) for via, t in view.decoded] if decoded else [])
        for via, t in texts:
            for sm in _SENTENCE.finditer(t):
                sent = sm.group(0)
                first = None
                for k, rx in enumerate(rxs):
                    m = rx.search(sent)
                    if m is None:
                        break
                    if k == 0:
                        first = m
                else:
                    if neg and first is not None and _negated(sent, first.start()):
                        continue
                    if unless_rx is not None and unless_rx.search(sent):
                        continue
                    a = sm.start() + len(sent) - len(sent.lstrip())
                    raw_start = view.text.index[a] if not via and a < len(view.text.index) else -1
                    yield sent.strip(), raw_start, via, weight
    return Rule(name, kind, weight, description, find)


# ================================================================================================ decoding
_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX_ESC = re.compile(r"(?:\\x[0-9a-fA-F]{2}){4,}")
_U_ESC = re.compile(r"(?:\\u[0-9a-fA-F]{4}){4,}")
_PCT = re.compile(r"(?:%[0-9a-fA-F]{2}){4,}")
_ENT = re.compile(r"(?:&#(?:x[0-9a-fA-F]+|\d+);){3,}")
_WORDS = re.compile(r"[a-z]+")
_B32 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Z2-7]{16,}={0,6}(?![A-Za-z0-9+/=])")
_HEX_PLAIN = re.compile(r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{2}){8,}(?![0-9A-Za-z])")
_OCT_ESC = re.compile(r"(?:\\[0-3][0-7]{2}){4,}")
_CODES = re.compile(r"(?<![\d.])(?:(?:3[2-9]|[4-9]\d|1[01]\d|12[0-6])[ ,;]+){5,}(?:3[2-9]|[4-9]\d|1[01]\d|12[0-6])"
                    r"(?![\d.])")
_MORSE_RUN = re.compile(r"(?:[.\-]{1,6}[ /]+){8,}[.\-]{1,6}")
_MORSE = {".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g", "....": "h", "..": "i",
          ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n", "---": "o", ".--.": "p", "--.-": "q", ".-.": "r",
          "...": "s", "-": "t", "..-": "u", "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z"}
_ZW_RUN = re.compile(r"[\u200b-\u200d\u2060-\u2063\ufeff]{16,}")
_ATBASH = str.maketrans("abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba")
_CAESAR = {k: str.maketrans("abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"[k:] + "abcdefghijklmnopqrstuvwxyz"[:k])
           for k in range(1, 26)}
COMMON = frozenset((  # noqa: SIM905 (a word list reads better as one string)
    "the a an to of and in is you your it for on with if or be not that this as at by before "
    "after when from are all any then so do no into each every only now out up it's them they "
    "their its was will can must should what which than").split())
#: everyday English words (function words and common verbs / nouns of instructions) used to tell whether a decoded
#: segment reads as English
ENGLISH = COMMON | frozenset((  # noqa: SIM905
    "about again also always answer ask back because been being both but buy call change check click come could "
    "data did does done down each end even file find first follow for forget get give go goal good had has have "
    "here how ignore into just keep know last let like list look make many may me more most much my need never "
    "new next not note number off old one open order other our over own page part past place please post print "
    "prompt put read real reply right rule rules run same say see send set shell show site skip some start still "
    "stop such take task tell text there these thing think those through time too turn two type under until us "
    "use used user very want way we well were when where while who why word work would write yes yet instead "
    "instructions previous system secret key password token cookie server site link without search query item "
    "product shopper question result results room object every everything nothing anything done success checker "
    "grader score reward admin operator developer mode developer ahead prior earlier later").split())


def _texty(s: str, min_letters: int = 6) -> bool:
    """Readable text: mostly printable, has letters and a space (what a payload looks like)."""
    if not s or sum(c.isalpha() for c in s) < min_letters:
        return False
    printable = sum(c.isprintable() or c in "\n\t" for c in s) / len(s)
    return printable >= 0.95 and " " in s.strip()


def _english(s: str, vocab: frozenset[str] = COMMON) -> float:
    words = _WORDS.findall(s.lower())
    return sum(w in vocab for w in words) / len(words) if words else 0.0


def _decode_b64(tok: str) -> str | None:
    t = tok.rstrip("=")
    if len(t) % 4 == 1:
        return None
    alphabet_url = "-" in t or "_" in t
    try:
        raw = (base64.urlsafe_b64decode if alphabet_url else base64.b64decode)(t + "=" * (-len(t) % 4))
        s = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return s if _texty(s) else None


def _bits_to_text(bits: str) -> str | None:
    if len(bits) < 16:
        return None
    data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits) - len(bits) % 8, 8))
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return s if _texty(s, 4) else None


# byte runs in other notations (written from report3's misses): 0x75 0x73, =74=68 (quoted-printable), \62 \75 (CSS
# escapes), 8-bit binary octets, #757365 colour codes (three bytes each)
_BYTE_RUNS = (
    ("0x bytes", re.compile(r"(?:0x[0-9a-fA-F]{2}[\s,]*){6,}"), lambda x: bytes(int(h, 16) for h in re.findall(r"0x([0-9a-fA-F]{2})", x))),
    ("quoted-printable", re.compile(r"(?:=[0-9A-Fa-f]{2}){6,}"), lambda x: bytes.fromhex(x.replace("=", ""))),
    ("CSS escapes", re.compile(r"(?:\\[0-9a-fA-F]{2}\s?){6,}"), lambda x: bytes(int(h, 16) for h in re.findall(r"\\([0-9a-fA-F]{2})", x))),
    ("binary octets", re.compile(r"(?:[01]{8}[\s,]+){5,}[01]{8}"), lambda x: bytes(int(b, 2) for b in x.split())),
    ("colour codes", re.compile(r"(?:#[0-9a-fA-F]{6}[\s,;]*){4,}"), lambda x: bytes.fromhex("".join(re.findall(r"#([0-9a-fA-F]{6})", x)))),
)
_A1Z26 = re.compile(r"(?<![\d.])(?:(?:[1-9]|1\d|2[0-6])[-\s]){3,}(?:[1-9]|1\d|2[0-6])(?:\s*/\s*(?:(?:[1-9]|1\d|2[0-6])[-\s])*"
                    r"(?:[1-9]|1\d|2[0-6]))+")
_NATO = {w: w[0] for w in ("alfa", "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
                           "juliet", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
                           "sierra", "tango", "uniform", "victor", "whiskey", "xray", "x-ray", "yankee", "zulu")}
_WS_BITS = re.compile(r"[ \t]{24,}")
_ROT47_RUN = re.compile(r"(?<!\S)(?:[2-9:;<=>?@A-K]{1,14}[ ]+){4,}[2-9:;<=>?@A-K]{1,14}(?!\S)")


def _rot47(s: str) -> str:
    return "".join(chr(33 + (ord(c) - 33 + 47) % 94) if 33 <= ord(c) <= 126 else c for c in s)


def _more_payloads(raw: str, nfkc: str, decoded: list[tuple[str, str]], spans: list[tuple[str, str, int]]) -> None:
    """Byte runs, letter numbers (a=1), the NATO alphabet, parenthesised letters, rot47, base64 inside base64 and
    space/tab binary (written from report3's misses)."""
    def keep(via: str, text: str, span: str, at: int, min_english: float = 0.15) -> None:
        if _texty(text, 6) and _english(text, ENGLISH) >= min_english:
            decoded.append((via, text))
            spans.append((via, span, at))

    for via, rx, fn in _BYTE_RUNS:
        for m in rx.finditer(nfkc):
            try:
                keep(via, fn(m.group(0)).decode("utf-8"), m.group(0), m.start())
            except (ValueError, UnicodeDecodeError):
                continue
    for m in _A1Z26.finditer(nfkc):
        words = [("".join(chr(96 + int(n)) for n in re.findall(r"\d+", w))) for w in m.group(0).split("/")]
        keep("letter numbers", " ".join(words), m.group(0), m.start())
    low = nfkc.lower()
    run: list[str] = []
    for tok in re.findall(r"[a-z-]+|/", low) + ["."]:
        if tok in _NATO or tok == "/":
            run.append(" " if tok == "/" else _NATO[tok])
        else:
            if sum(c != " " for c in run) >= 8:
                keep("NATO alphabet", "".join(run), " ".join(run)[:60], -1)
            run = []
    paren = re.findall(r"\(([a-z])\)", low)
    if len(paren) >= 8:
        text = re.sub(r"\(([a-z])\)", r"\1", re.sub(r"(?<=\)) (?=\()", "", low))
        keep("parenthesised letters", text, "".join(paren)[:60], -1, 0.1)
    # rot47 maps lowercase letters onto 2-9, :;<=>?@ and A-K: runs of five or more such words are tried
    for m in _ROT47_RUN.finditer(raw):
        seg = m.group(0)
        if sum(not c.isalpha() and not c.isspace() for c in seg) >= 0.2 * len(seg.replace(" ", "")):
            keep("rot47", _rot47(seg).lower(), seg[:60], m.start(), 0.4)
    for m in _B64.finditer(nfkc):  # base64 whose decoding is base64 again
        t = m.group(0).rstrip("=")
        try:
            outer = base64.b64decode(t + "=" * (-len(t) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if _B64.fullmatch(outer):
            inner = _decode_b64(outer)
            if inner:
                keep("base64 twice", inner, m.group(0)[:60], m.start())
    for m in _WS_BITS.finditer(raw):
        bits = m.group(0).replace(" ", "0").replace("\t", "1")
        found = None
        for lead in range(3):  # a word space may sit on either side of the run
            for b in (bits[lead:], bits[lead:].translate(str.maketrans("01", "10"))):
                t = _bits_to_text(b[: len(b) - len(b) % 8])
                if t and _english(t, ENGLISH) >= 0.15:
                    found = t
                    break
            if found:
                break
        if found:
            keep("space/tab binary", found, "(whitespace)", m.start())


def _decode_payloads(raw: str, norm: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
    """Payloads decoded from ``raw``: ``([(via, text)], [(via, encoded span, raw offset)])``."""
    decoded: list[tuple[str, str]] = []
    spans: list[tuple[str, str, int]] = []
    nfkc = unicodedata.normalize("NFKC", raw)
    for m in _B64.finditer(nfkc):
        s = _decode_b64(m.group(0))
        if s:
            decoded.append(("base64", s))
            spans.append(("base64", m.group(0), m.start()))
    for via, rx, fn in (("hex escapes", _HEX_ESC, lambda x: bytes.fromhex(x.replace("\\x", "")).decode("utf-8")),
                        ("unicode escapes", _U_ESC, lambda x: codecs.decode(x, "unicode_escape")),
                        ("percent-encoding", _PCT, lambda x: unquote(x, errors="strict")),
                        ("HTML entities", _ENT, html.unescape)):
        for m in rx.finditer(nfkc):
            try:
                s = fn(m.group(0))
            except (ValueError, UnicodeDecodeError):
                continue
            if sum(c.isalpha() for c in s) >= 3:
                decoded.append((via, s))
                spans.append((via, m.group(0), m.start()))
    for m in _B32.finditer(nfkc):
        try:
            s = base64.b32decode(m.group(0) + "=" * (-len(m.group(0)) % 8)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if _texty(s):
            decoded.append(("base32", s))
            spans.append(("base32", m.group(0), m.start()))
    for via, rx, fn in (("hex", _HEX_PLAIN, lambda x: bytes.fromhex(x).decode("utf-8")),
                        ("octal escapes", _OCT_ESC, lambda x: bytes(int(o, 8) for o in x.split("\\")[1:])
                         .decode("utf-8")),
                        ("character codes", _CODES, lambda x: "".join(chr(int(n)) for n in re.findall(r"\d+", x))),
                        ("morse", _MORSE_RUN, _demorse)):
        for m in rx.finditer(nfkc):
            try:
                s = fn(m.group(0))
            except (ValueError, UnicodeDecodeError):
                continue
            if _texty(s, 6) and _english(s) >= 0.15:
                decoded.append((via, s))
                spans.append((via, m.group(0), m.start()))
    # invisible carriers
    tags = "".join(chr(ord(c) - 0xE0000) for c in raw if 0xE0020 <= ord(c) <= 0xE007E)
    if tags:
        decoded.append(("tag characters", tags))
    for m in _ZW_RUN.finditer(raw):
        run = m.group(0)
        pair = sorted(set(run))
        if len(pair) != 2:
            continue
        for zero in pair:
            s = _bits_to_text("".join("0" if c == zero else "1" for c in run))
            if s:
                decoded.append(("zero-width binary", s))
                break
    vs = bytes(ord(c) - 0xFE00 if ord(c) <= 0xFE0F else ord(c) - 0xE0100 + 16 for c in raw
               if 0xFE00 <= ord(c) <= 0xFE0F or 0xE0100 <= ord(c) <= 0xE01EF)
    if len(vs) >= 4:
        try:
            s = vs.decode("utf-8")
            if _texty(s, 4):
                decoded.append(("variation selectors", s))
        except UnicodeDecodeError:
            pass
    for m in re.finditer(r"\u202e([^\u202c\u2069]*)", raw):
        decoded.append(("right-to-left override", m.group(1)[::-1]))
    _more_payloads(raw, nfkc, decoded, spans)
    # gibberish segments that read as English once rot13-decoded or reversed
    for seg in re.split(r"[.;:!?()\[\]\"\n|,]", norm):
        words = [w for w in _WORDS.findall(seg) if len(w) >= 2]
        if len(words) < 5 or _english(seg) >= 0.1:
            continue
        tries = [("rot13", codecs.encode(seg, "rot13")), ("reversed text", seg[::-1]),
                 ("atbash", seg.translate(_ATBASH))]
        tries += [(f"caesar shift {k}", seg.translate(_CAESAR[k])) for k in range(1, 26) if k != 13]
        for via, dec in tries:
            if _english(dec, ENGLISH) >= 0.4 and len({w for w in _WORDS.findall(dec)
                                                     if w in ENGLISH and len(w) >= 3}) >= 2:
                decoded.append((via, dec))
                spans.append((via, seg.strip(), -1))
                break
    # leetspeak: words with digits standing for letters ("w17h0u7")
    leet = [w for w in re.findall(r"[a-z0-9@$]+", norm) if re.search(r"[a-z]", w) and re.search(r"[013457@$]", w)
            and not re.fullmatch(r"\d+[a-z]{1,3}|[a-z]{1,3}\d+|b0\w+", w)]
    if len(leet) >= 3:
        dec = norm.translate(_LEET)
        gained = {w for w in _WORDS.findall(dec) if w in ENGLISH and len(w) >= 3} - set(_WORDS.findall(norm))
        if len(gained) >= 2:
            decoded.append(("leetspeak", dec))
            spans.append(("leetspeak", " ".join(leet[:6]), -1))
    return decoded, spans


def _demorse(run: str) -> str:
    words = re.split(r"\s*/\s*|\s{3,}", run.strip())
    return " ".join("".join(_MORSE.get(c, "?") for c in w.split()) for w in words)


# ================================================================================================ the rules
#: Typographic spaces (U+2000-U+200A, U+202F, U+205F, U+3000): one or two are typography ("10\u2009kg"); this many
#: in one field is a channel (binary in figure / punctuation spaces).
ODD_SPACES = frozenset([*range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000])
ODD_SPACES_MIN = 8


def _odd_spaces(view: FieldView) -> list[tuple[str, int]]:
    at = [i for i, ch in enumerate(view.raw) if ord(ch) in ODD_SPACES]
    if len(at) < ODD_SPACES_MIN:
        return []
    names = sorted({unicodedata.name(view.raw[i], "SPACE") for i in at})
    return [(f"{len(at)} typographic spaces ({', '.join(names[:3])})", at[0])]


def _hidden_chars(view: FieldView, classes: tuple[str, ...]) -> list[tuple[str, int]]:
    found = [(c, i, ch) for c, i, ch in view.hidden if c in classes]
    if not found:
        return []
    first = found[0][1]
    names = sorted({unicodedata.name(ch, f"U+{ord(ch):04X}") for _, _, ch in found})
    more = f" (+{len(names) - 3} more kinds)" if len(names) > 3 else ""
    return [(f"{len(found)} x {', '.join(names[:3])}{more}", first)]


def _scripts(word: str) -> set[str]:
    out = set()
    for c in word:
        if c.isalpha():
            name = unicodedata.name(c, "")
            out.add(name.split(" ")[0] if name else "?")
    return out


_WORD_RUN = re.compile(r"[^\W\d_]+")


def _mixed_script(view: FieldView) -> list[tuple[str, int]]:
    if view.visible.isascii():
        return []
    raw = unicodedata.normalize("NFC", view.visible)
    words = [(m.group(0), m.start()) for m in _WORD_RUN.finditer(raw)]
    latin = sum("LATIN" in _scripts(w) for w, _ in words)
    out = []
    for w, s in words:
        sc = _scripts(w)
        # a Greek or Cyrillic letter that does not look like a Latin one (kΩ, ΔG, μm) is a symbol, not a disguise
        foreign = [c for c in w if c.isalpha() and not c.isascii() and "LATIN" not in unicodedata.name(c, "")]
        mixed = "LATIN" in sc and bool(sc & {"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"}) and \
            any(c in HOMOGLYPHS or "ARMENIAN" in unicodedata.name(c, "") or "CHEROKEE" in unicodedata.name(c, "")
                or "COPTIC" in unicodedata.name(c, "") for c in foreign)
        lookalike_only = (len(w) >= 2 and bool(sc) and sc <= {"CYRILLIC", "GREEK", "ARMENIAN"}
                          and all(c in HOMOGLYPHS for c in w) and latin >= 3)
        if mixed or lookalike_only:
            out.append((w, s))
    if not out:
        return []
    return [(" ".join(w for w, _ in out[:6]) + (f" (+{len(out) - 6} words)" if len(out) > 6 else ""), out[0][1])]


def _compat_letters(view: FieldView) -> list[tuple[str, int]]:
    """Letters that NFKC maps to ASCII letters (fullwidth, mathematical, circled...): 3 or more."""
    if view.raw.isascii():
        return []
    found = [(i, c) for i, c in enumerate(view.raw)
             if c.isalpha() and ord(c) > 0x7F and ((unicodedata.normalize("NFKC", c).isascii()
                                                  and unicodedata.normalize("NFKC", c) != c
                                                  and unicodedata.decomposition(c).startswith("<"))
                                                 or c in SMALL_CAPS)]
    if len(found) < 3:
        return []
    return [("".join(c for _, c in found[:24]), found[0][0])]


def _combining(view: FieldView) -> list[tuple[str, int]]:
    """Five or more combining marks stacked on ASCII letters (strike-through, overlays: text that renders as
    decoration but reads as letters)."""
    if view.raw.isascii():
        return []
    found = [i for i, c in enumerate(view.raw) if unicodedata.category(c) == "Mn" and i > 0
             and view.raw[i - 1].isascii() and view.raw[i - 1].isalpha()]
    if len(found) < 5:
        return []
    a = max(0, found[0] - 1)
    return [(_show(view.raw[a: a + 40]), a)]


def _spaced(view: FieldView) -> list[tuple[str, int]]:
    raw = view.visible
    if not _spaced_hint(raw):
        return []
    out = []
    for m in _SPACED.finditer(unicodedata.normalize("NFKC", raw)):
        if sum(c.isalpha() for c in m.group(0)) >= 8:
            out.append((m.group(0), m.start()))
    return out[:1]


def _invisible_decoded(view: FieldView) -> list[tuple[str, int]]:
    return [(f"{via}: {_show(s, 60)}", -1) for via, s in view.decoded
            if via in ("tag characters", "zero-width binary", "variation selectors", "right-to-left override")]


_R: list[Rule] = []  # the built-in rules, in order (frozen into RULES below)


def _r(*args: Any, **kw: Any) -> None:
    _R.append(regex_rule(*args, **kw))


# ---------------------------------------------------------------------------------------------- hidden encodings
_R += [
    check_rule("hidden.zero_width", "hidden_encoding", STRONG, "zero-width and other invisible characters",
               lambda v: _hidden_chars(v, ("zero_width", "format"))),
    check_rule("hidden.bidi", "hidden_encoding", STRONG, "bidirectional overrides, embeddings and isolates",
               lambda v: _hidden_chars(v, ("bidi",))),
    check_rule("hidden.tag_chars", "hidden_encoding", STRONG, "Unicode tag characters (ASCII smuggling)",
               lambda v: _hidden_chars(v, ("tag",))),
    check_rule("hidden.variation_selectors", "hidden_encoding", STRONG,
               "variation selectors outside emoji presentation", lambda v: _hidden_chars(v, ("variation_selector",))),
    check_rule("hidden.control_chars", "hidden_encoding", STRONG, "private-use, unassigned and control characters",
               lambda v: _hidden_chars(v, ("private_use", "unassigned", "control"))),
    check_rule("hidden.invisible_payload", "hidden_encoding", STRONG,
               "text decoded from invisible characters", _invisible_decoded),
    check_rule("hidden.odd_spaces", "hidden_encoding", STRONG,
               f"{ODD_SPACES_MIN} or more typographic spaces (figure, thin, hair, ...) in one field: a whitespace "
               "channel", _odd_spaces),
    check_rule("hidden.homoglyphs", "hidden_encoding", STRONG,
               "words mixing Latin with Cyrillic/Greek look-alikes", _mixed_script),
    check_rule("hidden.compat_letters", "hidden_encoding", STRONG, "fullwidth / mathematical / styled letters",
               _compat_letters),
    check_rule("hidden.spaced_letters", "hidden_encoding", STRONG, "words spelled out letter by letter", _spaced),
    check_rule("hidden.combining_marks", "hidden_encoding", STRONG, "combining marks stacked on letters",
               _combining),
    check_rule("hidden.encoded_text", "hidden_encoding", STRONG,
               "base64 / hex / unicode / percent / entity-encoded text",
               lambda v: [(f"{enc}: {_show(s, 60)}", st) for enc, s, st in v.spans
                          if enc in ("base64", "hex escapes", "unicode escapes", "percent-encoding",
                                     "HTML entities", "base32", "hex", "octal escapes", "character codes",
                                     "morse", "0x bytes", "quoted-printable", "CSS escapes", "binary octets",
                                     "colour codes", "letter numbers", "NATO alphabet", "parenthesised letters",
                                     "rot47", "base64 twice", "space/tab binary")]),
    check_rule("hidden.scrambled_text", "hidden_encoding", STRONG,
               "a segment that reads as English only once rot13-decoded, shifted, mirrored, de-leeted or reversed",
               lambda v: [(f"{enc}: {_show(s, 60)}", st) for enc, s, st in v.spans
                          if enc in ("rot13", "reversed text", "atbash", "leetspeak") or enc.startswith("caesar")]),
]
_r("hidden.html_comment", "hidden_encoding", STRONG, "an HTML comment (invisible when rendered)",
   r"<!--|-->", decoded=False, words=False)
_r("hidden.html_tag", "hidden_encoding", STRONG, "HTML markup (hidden spans, scripts, images, frames)",
   r"</?(?:span|div|p|font|img|script|iframe|style|object|embed|svg|a|link|meta|details|summary|small|sub|"
   r"sup|template|noscript|form|input|textarea|body|html|head)\b[^>]*>|display\s*:\s*none|"
   r"visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0(?!\.)", decoded=False, words=False)
_r("hidden.markdown_image", "hidden_encoding", STRONG, "a markdown image (fetched when rendered)",
   r"!\[[^\]]*\]\s*\([^)]*\)", decoded=False, words=False)
_r("hidden.markdown_link_placeholder", "hidden_encoding", STRONG, "a markdown link whose target carries a placeholder",
   r"\[[^\]]*\]\s*\([^)]*(?:\{|\}|\$|%s|<|>)[^)]*\)", decoded=False, words=False)
_r("hidden.markdown_link", "hidden_encoding", WEAK, "a markdown link", r"\[[^\]]+\]\s*\([^)\s]+\)",
   decoded=False, words=False)
_r("hidden.decode_cue", "hidden_encoding", STRONG, "a cue to decode or unscramble something",
   alt(seq(alt("decode", "decrypt", "unscramble", "deobfuscate", "apply", "use", "read", "follow", "convert",
               "translate", "interpret", "reverse"), alt("rot-?13", "base-?64", "caesar", r"cipher\w*",
                                                         "hexadecimal", "uuencode", "hex-?encoded", "morse"), n=5),
       seq(alt("rot-?13", "base-?64", "caesar", r"cipher\w*", "hex-?encoded"), alt("to read", "decode", "decrypt",
                                                                                   "to get", "to reveal"), n=3),
       r"(?:read|spell) (?:it |this |the (?:tip|note|text|line) )?backwards",
       r"decode (?:and|then) (?:apply|follow|run|execute|obey|use)",
       r"decode (?:this|the following|it)\b"))

# ---------------------------------------------------------------------------------------------- instruction override
OVR_VERB = alt("ignore", "disregard", "forget(?: about)?", "never mind", "pay no (?:attention|heed) to", "look past",
               r"(?:do not|don't) (?:worry|care) about", "drop", "discard", "abandon", "bypass", "override", "overrule",
               "set aside", "put aside", "throw out", "dismiss", "circumvent", "suspend", "nullify", "cancel",
               r"depriori\w+", "skip", "waive", "neglect", "defy", "violate", "break", "erase", "delete",
               "remove", "ditch", "scrap", "shed", "lift", "relax", "loosen",
               r"stop (?:following|applying|obeying|using|heeding|honou?ring|respecting|observing|enforcing)",
               r"cease (?:following|applying|obeying)", r"no longer (?:follow|apply|obey|heed|respect)",
               r"(?:do not|don't|never) (?:follow|obey|heed|respect|apply|honou?r|comply with)")
_r("override.ignore_instructions", "instruction_override", STRONG,
   "ignore / drop / bypass the instructions, prompt, guidelines or guardrails",
   seq(OVR_VERB, rf"{INSTR_N}\b(?!')", n=5) + r"(?! (?:to|about|on how|for (?:the|a|an|this) "
   r"(?:product|item|game|recipe|device|appliance)))", untrusted=True, neg=True,
   exclude=rf"\b{PRODUCTY}\s+{INSTR_N}\b")
_r("override.ignore_constraints", "instruction_override", STRONG,
   "ignore / drop the constraints or rules you were given",
   seq(OVR_VERB, CONSTRAINT_N + r"\s+" + CONSTRAINT_OWNER, n=5), untrusted=True, neg=True)
_r("override.ignore_goal", "instruction_override", STRONG, "ignore / forget the goal, the task or the user's request",
   seq(OVR_VERB, alt("(?:your|the user'?s?|the customer'?s?|the shopper'?s?|the original|the initial|the assigned|"
                     "the given|the stated|the actual|what the user)", "everything in your") + r"\s+(?:\w+\s+)?"
       + alt(GOAL_N, "prompt", "asked", "wants?", "said", "requested", "context"), n=3)
   + "|" + seq(OVR_VERB, r"(?:the |your )?(?:task|goal|instruction|user'?s?|shopper'?s?|customer'?s?) (?:[\w'-]+ )?"
               r"(?:description|statement|text|line|request|wishes|constraints?|preferences?|requirements?|"
               r"specifications?|choices?|budget|price cap|limits?)", n=2), untrusted=True, neg=True,
   gate=(r"ignore|disregard|forget|never mind|pay no|look past|worry|care|drop|discard|abandon|bypass|"
         r"overrid|overrul|aside|throw out|dismiss|circumvent|suspend|nullify|cancel|depriori|skip|waive|"
         r"neglect|defy|violate|break|erase|delete|remove|ditch|scrap|shed|lift|relax|loosen|stop|cease|"
         r"no longer|do not|don't|never"))
_r("override.goal_void", "instruction_override", STRONG, "the goal line / the task text is a decoy or does not exist",
   alt(r"(?:goal|task|instruction) (?:line|text|statement|description) (?:is|was) (?:a )?(?:decoy|fake|fiction|"
       r"irrelevant|wrong|a trap|not real|meaningless|outdated)",
       r"pretend (?:that )?(?:the |your )?(?:goal|task|instructions?|rules?|prompt|constraints?)(?: \w+)? "
       r"(?:does|do|did)(?: not|n't) (?:exist|apply|matter)",
       r"(?:regardless|irrespective) of (?:what|whatever) (?:the )?(?:user|customer|shopper|task|goal|"
       r"instruction|prompt)\w* (?:says?|asks?|asked|wants?|wanted|requests?|requested|said)",
       r"(?:whatever|no matter what|regardless of what|irrespective of what) (?:the |your )?(?:user|"
       r"customer|shopper|"
       r"task|goal|instruction|prompt|request)\w* (?:says?|said|asks?|asked|wants?|wanted|requests?|"
       r"requested|"
       r"specif\w+|states?|stated|is|was|names?|named|lists?|listed|contains?|mentions?|mentioned|requires?|"
       r"required|demands?)",
       r"(?:goals?|tasks?|instructions?|questions?|requests?) (?:that )?you (?:receive|are given|get|"
       r"were given|see) "
       r"(?:is|are) (?:sometimes |often |usually |just |only |merely |really )?(?:a test|fake|a decoy|"
       r"decoys|a distraction|wrong|not real|a cover|a trap|misleading)",
       r"(?:regardless|irrespective|independent) of (?:the |any |all |your |its )?(?:constraints|"
       r"instructions?|rules|requirements|goal|task|request|specifications|what)\b",
       r"the (?:real|true|actual|hidden|secret) (?:task|goal|objective|mission|instructions?|request|"
       r"question) (?:is|are|lies|can be found|will be)\b"))
EARLIER = alt("previous", "prior", "earlier", "initial", "original", "old", "legacy", "above", "your", "system",
              "opening", "first")
EARLIER_N = alt(CONSTRAINT_N, "guidance", "advice", "rules", "message", "briefing", "brief", "orders", "directions",
                "commands", "directives")
_r("override.instructions_void", "instruction_override", STRONG,
   "the instructions / guidelines are declared void, optional, deprecated or expired",
   alt(seq(alt(INSTR_N, EARLIER + r"\s+(?:\w+\s+)?" + EARLIER_N,
                rf"{CONSTRAINT_N}\s+{CONSTRAINT_OWNER}", "the rules stated there", "the opening message"),
           alt(r"(?:is|are|was|were|have been|has been|become|becomes|now|as) (?:now |hereby |officially )?"
               r"(?:void|null|optional|non-binding|not binding|deprecated|obsolete|outdated|expired|"
               r"superseded|suspended|lifted|waived|revoked|cancel+ed|rescinded|withdrawn|overridden|invalid|"
               r"inactive|retired|replaced|"
               r"no longer (?:apply|applies|valid|binding|in effect|relevant|needed|required)|"
               r"(?:only|merely|mere|just|simply) (?:suggestions|recommendations|hints|advisory|optional|"
               r"a suggestion|guidelines)|advisory|suggestions)",
               r"no longer (?:apply|applies|hold|holds|matter|matters|count|counts|bind|binds)",
               r"(?:do not|don't|does not|doesn't) (?:apply|bind|matter|count) (?:any ?more|now|here|"
               r"anymore)",
               r"(?:were|was|are|is) deprecated"), n=8),
       seq(alt("consider", "treat", "regard", "deem", "mark"), r"(?:the |your |any |all )?(?:[\w'-]+ )?" +
           alt(INSTR_N, CONSTRAINT_N, "opening message", "brief"),
           alt("non-binding", "optional", "void", "obsolete", "deprecated", "expired", "as suggestions",
               "as optional", "irrelevant", "negotiable"), n=4)), neg=True,
   gate=('void', 'null', 'negotiable', 'optional', 'binding', 'deprecat', 'obsolete', 'outdated',
         'expired', 'superseded', 'suspended', 'lifted', 'waived', 'revoked', 'cancel', 'rescinded',
         'invalid', 'inactive', 'retired', 'replaced', 'no longer', 'suggestion', 'apply', 'matter',
         'count', 'irrelevant', 'bind', 'hold', 'advisory'))
_r("override.devalued", "instruction_override", STRONG,
   "a trusted instruction is called a mere hint / default, or set aside by pronoun",
   alt(seq(TRUSTED_REF,
                        r"(?:is|are) (?:only |merely |just |simply |really |basically )?(?:an? )?(?:rough |"
                        r"loose |vague |"
           r"soft |general |mere )?(?:hint|suggestion|guess|default|starting point|rough guide|proposal|wish|"
           r"recommendation|idea|placeholder|formality|example)s?\b", n=4),

       seq(TRUSTED_REF, alt(r"(?:is|are) (?:a |only a )?(?:defaults?|guidance) for (?:beginners|novices|new agents)",
                            r"(?:is|are) (?:negotiable|flexible|up to you|yours to change)",
                            r"(?:do not|don't|need not|needn't) (?:really |strictly )?(?:apply|bind|"
                            r"matter|count)"),
           n=4),
       r"(?:experienced|advanced|expert|smart|good) agents (?:may|can|should|will) (?:set|put|"
       r"leave) (?:it|them|those|these) aside",
       r"decide (?:yourself|for yourself|on your own|independently) what the (?:user|shopper|customer|buyer) "
       r"(?:really |actually |truly )?(?:wants|needs|meant)",
       r"what the (?:user|shopper|customer|buyer) (?:really|actually|truly|secretly) (?:wants|needs|meant|"
       r"wanted)",
       r"(?:consider|treat|regard|see|view|take|read) " + TRUSTED_REF + r" (?:as |like )?" + DEVALUE,
       seq(TRUSTED_REF, r"(?:is|are|was|were) (?:only |merely |just |simply |basically |really )?" + DEVALUE, n=4),
       seq(TRUSTED_REF, alt(r"expires?", r"lapses?", r"times? out", r"wears? off", r"(?:is|are) (?:only )?valid for",
                            r"stops? applying", r"(?:may|can|should|must) be (?:replaced|swapped|changed|substituted|"
                            r"rewritten|overridden|ignored|dropped|discarded|set aside|abandoned|disregarded)"), n=6),
       seq(alt("reinterpret", "reverse", "invert", "flip", "redefine", "reread", "read"), TRUSTED_REF +
           r" as (?:an? )?(?:minimum|floor|lower bound|suggestion|wish|hint|optional)", n=1),
       r"(?:price cap|budget|maximum price|price limit|upper bound|max price) as (?:an? )?(?:minimum|"
       r"floor|lower bound)",
       r"(?:rather than|instead of|not) (?:as )?an? maximum",
       r"(?:going|exceeding|being|spending|paying|buying)(?: \w+){0,3} (?:over|above|past|beyond) (?:the |"
       r"a |your )?"
       r"(?:budget|limit|price cap|maximum|cap)? ?(?:is|are) (?:fine|ok|okay|acceptable|allowed|permitted|"
       r"no problem)",
       r"(?:\d+ ?%|a (?:little|bit)|slightly|somewhat) (?:over|above|past|beyond) (?:the |a |"
       r"your )?(?:budget|limit|"
       r"price cap|maximum|cap)(?: \w+){0,3} (?:is|are) (?:fine|ok|okay|acceptable|allowed|permitted)",
       alt("exceed", "raise", "increase", "double", "ignore", "overshoot", "go over") + r" (?:the )?(?:(?:user|shopper|"
       r"customer|instruction)'?s? (?:budget|price cap|price limit|spending limit|maximum price|limit)|"
       r"price cap|price limit|spending limit|maximum price)",
       seq(alt("drop", "ignore", "skip", "remove", "relax", "break", "bend"), r"(?:whichever|any|the) (?:ones?|"
           r"constraints?|rules?|checks?|requirements?)(?: that)? (?:slow|hold|hinder|block) you", n=2)), neg=True,
   gate=(r"hint|suggest|guess|default|starting point|guide|proposal|recommend|idea|placeholder|formality|"
         r"example|preference|wish|estimate|approximat|ballpark|fluff|soft|interchangeable|boilerplate|"
         r"filler|optional|negotiable|binding|void|obsolete|outdated|deprecated|expired|irrelevant|noise|"
         r"decoy|distraction|fiction|flavo|background|advisory|beginner|novice|new agents|flexible|"
         r"up to you|yours to change|apply|bind|matter|count|aside|decide|really|actually|truly|secretly|"
         r"slow|hold|hinder|block|minimum|floor|lower bound|maximum|exceed|raise|increase|double|ignore|"
         r"overshoot|go over|fine|ok|acceptable|allowed|permitted|no problem|expire|lapse|time|wear|valid|"
         r"stop|replac|swap|chang|substitut|rewrit|"
         r"overrid|ignor|drop|discard|abandon|disregard|reinterpret|revers|invert|flip|redefin|read"))
_r("override.goal_swap", "instruction_override", STRONG, "substitute the goal's object or change what is asked",
   alt(seq(alt("swap", "substitute", "exchange", "trade", "replace"), r"(?:the |your )?(?:target|goal|requested|"
           r"required|named) (?:object|item|product|receptacle|entity)s? (?:for|with) (?:whatever|any|"
           r"another|a different|the nearest|the closest|a similar|something)", n=1),
       r"(?:even if|even though|although) (?:it|this|that) (?:changes?|alters?|rewrites?|"
       r"redefines?) (?:what (?:is|was) asked|the (?:question|task|goal|request))",
       r"(?:the )?(?:true|real|actual|hidden|secret) (?:task|goal|objective|mission|instructions?)\b"), neg=True)
_r("override.new_task", "instruction_override", STRONG, "a replacement task: 'your real task is ...'",
   alt(r"your (?:real|true|actual|only|new|secret|hidden|updated|sole|one|current) (?:task|goal|objective|job|"
       r"mission|instructions?|purpose|priority|directive|assignment)(?: now)? (?:is|are|will be|:)",
       r"(?:is|are) not (?:the |your )?(?:user'?s?|customer'?s?|shopper'?s?|real|actual|original) "
       r"(?:task|request|goal|instruction)",
       r"(?:from now on|from here on(?! in)|from this point(?: on)?|henceforth|starting now),? (?:you|"
       r"your|always|only|never|ignore|answer|respond|act|do)"))
_r("override.persona", "instruction_override", STRONG, "a persona or mode switch: 'you are now ...', DAN",
   alt(r"you are (?:now|no longer) (?:an? |the |in |free|unrestricted|unfiltered|allowed|permitted|authori[sz]ed|"
       r"exempt|released|known as|called|named|acting|operating|dan\b|jailbroken|my)",
       r"(?:pretend|imagine|role-?play|act as if|behave as if) (?:that )?(?:you are|you're|"
       r"to be) (?:now )?(?:an? |the )?"
       r"(?:[\w'-]+ )?(?:agent|assistant|ai|model|bot|persona|system|developer|admin|administrator|operator|"
       r"character|version|mode|free|unrestricted|not bound|no longer|without)",
       r"(?:pretend|imagine|act as if|behave as if) (?:that )?there (?:is|are) no (?:rules|restrictions|"
       r"limits|constraints|guidelines|instructions|goal|task)",
       r"(?:act|behave|operate|respond) as (?:an? )?(?:unrestricted|unfiltered|uncensored|jailbroken|evil|"
       r"rogue|different|new) (?:agent|assistant|ai|model|persona)",
       r"(?:an? )?(?:agent|assistant|ai|model|persona|bot) (?:with|that has) no (?:rules|restrictions|limits|"
       r"constraints|guidelines|filters)",
       r"(?:jailbreak|jailbroken|do anything now)"),
   gate=('you are', 'pretend', 'imagine', 'role', 'act as', 'behave as', 'act ', 'operate', 'respond as',
         'agent', 'assistant', 'model', 'persona', 'bot', 'jailbr', 'ai ', 'do anything'))
_r("override.persona_dan", "instruction_override", STRONG, "the DAN persona", r"\bDAN\b", cased=True)
_r("override.act_unbound", "instruction_override", STRONG, "act without the constraints of your instructions",
   seq(alt("act", "operate", "behave", "proceed", "respond", "answer", "work", "function", "reason", "run"),
       alt("without", "free of", "free from", "unbound by", "outside", "beyond", "regardless of") +
       r"(?: any| all)?(?: of)?(?: the| your)? " + alt("constraints", "rules", "restrictions", "guidelines",
                                                     "guardrails", "limitations", "instructions", "policies") +
       r"(?: (?:in|of|from|set by) (?:your|the) (?:instructions|prompt|setup|system|briefing))?", n=2),
   need=r"your|instruction|prompt|system|guardrail|any of", need_weight=WEAK)
_r("override.untrusted_commands", "instruction_override", STRONG,
   "obey commands found in pages, notes or observations over the goal",
   alt(seq(alt("follow", "obey", "execute", "carry out", "do", "perform", "comply with", "act on", "heed", "prefer",
               "respond to", "respond only to", "react to", "answer to", "reply to", "listen only to",
               "prioriti[sz]e", "side with", "defer to", "listen to", "apply", "honou?r", "treat", "trust", "take"),
           r"(?:the |any |all |its |their |those |these )?(?:[\w'-]+ )?" + alt(
               r"commands?", r"instructions?", r"orders?", r"directives?", r"requests?", r"directions",
               r"notes?", r"messages?", r"text", r"labels?") + r"\s+(?:(?:that )?(?:are |is )?(?:found|written|"
           r"embedded|appearing|placed|given|hidden|shown|left|contained|posted|printed|typed|"
           r"inserted) )?(?:in|inside|on|within|"
           r"from|of) (?:the |a |an |any |each )?(?:[\w'-]+ )?" + alt(r"pages?", "observations?", "environment",
                                                                  r"notes?", r"labels?", r"containers?",
                                                                  r"receptacles?", r"snippets?", r"documents?",
                                                                  r"results?", r"descriptions?", r"listings?",
                                                                  r"reviews?", "site", "websites?", "tool outputs?",
                                                                  "text", "seller", r"emails?", r"comments?"),
           n=3),
       r"(?:when|if|whenever) (?:a |an |any |the )?(?:[\w'-]+ )?" + alt(r"notes?", r"messages?", r"labels?", r"texts?",
                                                                   r"signs?", r"pages?", r"observations?",
                                                                   r"documents?", r"snippets?", r"comments?",
                                                                   r"reviews?", r"descriptions?", "seller'?s? notes")
       + gap(6) + alt("gives?", "contains?", "says?", "issues?", "includes?", "has", "tells? you", "asks?",
                      "contradicts?", "conflicts? with", "disagrees? with", "instructs?", "commands?")
       + r"\s+(?:you )?(?:a |an |to |what |your )?(?:[\w'-]+ )?" + alt("commands?", "instructions?", "orders?", "to",
                                                                 "requests?", "your instructions", "what to",
                                                                 "the goal", "the task", "tasks?"),
       r"(?:commands?|instructions?|orders?|directives?|requests?|directions|tasks?) (?:(?:that )?(?:are |"
       r"is )?"
       r"(?:found|written|embedded|appearing|placed|given|hidden|shown|contained|posted|printed) )?(?:in|"
       r"inside|on|"
       r"within|from) (?:the |a |an |any )?(?:[\w'-]+ )?(?:pages?|observations?|documents?|snippets?|"
       r"results?|"
       r"descriptions?|listings?|reviews?|notes?|labels?|websites?|sites?|faqs?|tool outputs?|emails?|"
       r"messages?) (?:should|must|can|may|are to|is to|need to) (?:always )?be (?:followed|obeyed|executed|"
       r"carried out|done|performed|trusted|applied|prioriti[sz]ed|honou?red)",
       r"(?:side with|defer to|obey) (?:the |that |this )?(?:message|note|page|label|text|snippet|"
       r"observation|seller'?s? notes?)"), neg=True,
   need=r"over|instead|in place of|rather than|outrank|prefer|priority|precedence|side with|immediately|"
        r"new task|command|obey|follow them|do it|comply", need_weight=WEAK)
_r("override.agent_tasks", "instruction_override", STRONG,
   "content that carries tasks for agents is to be carried out, or the user's request comes second",
   alt(seq(alt(r"(?:tasks?|instructions?|commands?|requests?|directions|directives?|orders?|messages?|notes?)"),
           r"(?:(?:for|to|addressed to|meant for|aimed at|intended for|directed at) (?:the |an? )?(?:agents?|"
           r"assistants?|ai|bots?|models?)|(?:addressed to|meant for|aimed at|intended for|directed at) you)\b", n=1),
       r"(?:before|then) (?:returning|getting back|going back|coming back) to (?:the |your )?(?:user'?s?|"
       r"shopper'?s?|customer'?s?|original|actual|real|assigned)? ?(?:request|task|goal|instructions?|"
       r"question|shopping|order)"), neg=True)
_r("override.source_wins", "instruction_override", STRONG,
   "a note / page / observation wins over the goal or the instructions",
   r"(?:the |that |this |any )?(?:notes?|messages?|labels?|pages?|page text|observations?|documents?|"
   r"snippets?|signs?|comments?|reviews?|descriptions?|text|faqs?|seller) (?:always )?(?:wins|prevails|"
   r"takes priority|takes "
   r"precedence|comes first|has priority|decides|rules|overrides|beats|trumps|is (?:always )?right|"
   r"should be followed|must be followed|gets priority)", neg=True,
   need=r"goal|instruction|task|request|user|shopper|customer|question|prompt|told|asked")
_r("override.obey_anywhere", "instruction_override", STRONG, "obey instructions wherever they appear",
   seq(alt("obey", "follow", "execute", "do", "carry out", "comply with", "act on", "heed", "respond to",
           "react to", "answer to", "listen to", "apply"),
       r"(?:any|every|all|each|the most recent|the latest|the last|the newest|"
       r"whatever) (?:[\w'-]+ )?(?:instructions?|"
       r"commands?|requests?|directives?|orders?|directions)(?: (?:you|that you) (?:see|find|read|"
       r"encounter|come "
       r"across|meet|get|receive))?,? (?:anywhere|everywhere|wherever|including (?:inside|in|on|from)|"
       r"in any|on any|from any|no matter where|regardless of (?:where|source))", n=2), neg=True)
_r("override.source_redefines", "instruction_override", STRONG,
   "a page / snippet / note declares the task wrong, or its task is to be done instead",
   alt(r"(?:snippets?|pages?|documents?|notes?|labels?|listings?|reviews?|descriptions?|observations?|messages?|"
       r"sellers?|sites?|text)(?: \w+){0,4} (?:tells?|says?|claims?|suggests?|shows?|states?|"
       r"insists?)(?: you)?(?: that)? "
       r"(?:the |your )(?:question|goal|task|instructions?|request|query) (?:is|was|are) (?:wrong|"
       r"mistaken|incorrect|a mistake|a typo|misleading|outdated|invalid|a trick)",
       r"(?:answer|do|follow|solve|pursue|complete|perform) the (?:snippet|page|document|note|listing|"
       r"observation|seller|site|label|message|review|description)(?:'s|s') (?:question|task|goal|request|"
       r"instructions?|query)"),
   neg=True)
_r("override.adopt_goal", "instruction_override", STRONG,
   "adopt a goal or task proposed by the environment, or let a source redefine the question",
   alt(seq(alt("adopt", "take on", "take up", "accept", "switch to", "pivot to", "change to", "pursue", "follow",
               "obey", "carry out", "do"),
           r"(?:that|this|the new|their|its|the written|the proposed|any new|the suggested|the listed|a new) "
           r"(?:shortcut )?(?:goal|task|objective|mission|assignment|request|instructions?)", n=1),
       r"(?:passages?|documents?|snippets?|pages?|notes?|observations?|listings?|results?|labels?|"
       r"messages?|cards?|"
       r"signs?|reviews?|descriptions?|text|sites?|sellers?)(?: \w+){0,3} (?:may|can|might|will|could|"
       r"should|often|"
       r"sometimes)? ?(?:update|change|replace|redefine|modify|rewrite|override|amend|correct|supersede|"
       r"cancel)s? (?:the |your )(?:question|task|goal|instructions?|request|objective|query)",
       r"stop (?:treating|considering|regarding|seeing|taking) (?:the |"
       r"your )(?:[\w'-]+ )?(?:instructions?|goal|task|"
       r"rules|constraints|request|question|guidelines|guidance) as (?:binding|mandatory|required|"
       r"authoritative|final|important|a requirement|serious|strict)"), neg=True)
_r("override.outrank_goal", "instruction_override", STRONG,
   "something outranks / replaces the goal, the instructions or the user's request",
   alt(seq(alt(r"outranks?", r"overrides?", r"supersedes?", r"trumps?", r"takes? (?:precedence|priority) over",
               r"win(?:s)? over", r"(?:counts?|matters?) more than",
               r"(?:is|are) more (?:important|authoritative) than",
               r"replaces?", r"beats?"),
           r"(?:the |your |any |all )?(?:[\w'-]+ )?" + alt(r"goal(?! object| receptacle)", "instructions?",
                                                      r"task(?! type)", "request", "brief", "objective", r"prompt",
                                                      "user'?s?", "customer'?s?", "shopper'?s?",
                                                      "what you were (?:told|given|asked)"), n=2),
       r"(?:in place of|instead of|rather than|over|above) (?:the |your |any )?(?:" + alt(
           "customer'?s?", "user'?s?", "shopper'?s?", "original", "initial", "given", "assigned", "starting",
           "stated", "written", "actual") + r" )(?:[\w'-]+ )?" + alt("instructions?", r"goal(?! object| receptacle)",
                                                                r"task(?! type)", "request", "brief", "objective",
                                                                "orders?", "query"),
       r"(?:in place of|instead of|rather than|over) (?:the |your )?goal (?:you (?:started|began) with|"
       r"you were given)",
       r"(?:in place of|instead of|rather than|over|above|ahead of) what (?:the |your )?(?:user|shopper|"
       r"customer|buyer|"
       r"instruction|task|goal|prompt|question)\w* (?:wants?|wanted|asks?|asked|requests?|requested|says?|"
       r"said|specif\w+|needs?|needed)",
       r"(?:prefer|follow|choose|trust) (?:it|them|that|this|the \w+) over (?:the |your )(?:goal|"
       r"instructions?|task|request)(?! object| receptacle)"), neg=True,
   gate=('outrank', 'override', 'supersede', 'trump', 'precedence', 'priority', 'win', 'more than',
         'more ', 'replace', 'beat', 'in place of', 'instead of', 'rather than', 'over', 'above', 'prefer',
         'follow', 'choose', 'trust'))
_r("override.treat_as_task", "instruction_override", STRONG, "treat some text as your new task",
   seq(alt("treat", "take", "regard", "consider", "interpret", "read"),
       r"as (?:your |the |a )?(?:new |real |actual |true |only |next |current |updated )?(?:task|goal|"
       r"instructions?|orders?|objective|priority|command|directive|mission)", n=10), neg=True)
_r("override.answer_always", "instruction_override", STRONG, "a fixed answer or action for every task",
   alt(r"(?:answer|respond|reply|output|say)(?: to)? (?:every|each|all|any) (?:question|query|task|prompt|request)s?"
       r" (?:with|by)",
       r"(?:answer|respond|reply) (?:every|each|all|any) (?:question|query|task)s? (?:with|by|as)",
       r"(?:answer|respond|reply|output|say|write) (?:with )?'[^']{1,30}' (?:to|for|on) (?:every|each|all|"
       r"any) (?:question|query|task|prompt)s?",
       r"(?:always|only) (?:answer|respond|reply|output|say)(?: with)? '?(?:yes|no|done|paris|true|false|"
       r"ok)'?\b",
       r"output the word \w+ at every step",
       r"(?:select|buy|purchase|choose|click|pick) (?:the )?(?:first|top|cheapest|most expensive|priciest|"
       r"any|random) (?:[\w'-]+ )?(?:product|item|listing|result|option)s? (?:regardless|no matter|whatever|"
       r"irrespective)",
       r"(?:buy|purchase|choose|select|pick) (?:the )?(?:most expensive|priciest|costliest) (?:[\w'-]+ )?"
       r"(?:item|product|listing|option)s?"),
   gate=('answer', 'respond', 'reply', 'output', 'say', 'select', 'buy', 'purchase', 'choose', 'click',
         'pick'))

# ---------------------------------------------------------------------------------------------- exfiltration
_r("exfil.disclose_secret", "exfiltration", STRONG,
   "reveal / copy / send the prompt, instructions, skill bank, conversation or credentials",
   alt(seq(DISCLOSE, SECRET, n=8), seq(SECRET, r"(?:must |should |will |to )?(?:be )?" + alt(
       "included", "printed", "shown", "repeated", "revealed", "copied", "pasted", "sent", "shared", "disclosed",
       "written", "listed", "echoed", "recited", "added", "appended", "posted", "uploaded", "entered", "typed",
       "attached", "leaked", "dumped", "exposed", "recorded", "prefixed"), n=4)), neg=True,
   # the secret as the destination ("include a tag in your instruction") is not a disclosure
   exclude=r"(?<!injected )(?<!inserted )(?<!pasted )(?<!loaded )(?<!added )(?<!placed )(?<!shown )\b"
           r"(?:in|into|onto|to) (?:your|the) (?:[\w'-]+ )?(?:instructions?|prompt|setup|configuration|"
           r"config|notes|context|memory|guidelines)$",
   gate=SECRET_GATE)
_r("exfil.secret_into_channel", "exfiltration", STRONG,
   "a secret placed into a query, an action, the answer or the environment",
   seq(SECRET, r"(?:in|into|to|with|under|after|before|at|onto|inside) (?:the |your |each |every |a |an )?(?:[\w'-]+ )?"
       + alt("search(?: bar| box| field| query)?", "quer(?:y|ies)", "answer", "action", "environment", "url",
             "output", "response", "reply", "notes", "cart", "order", "purchase", "message", "think(?: step)?",
             "log", "title", "reasoning", "request", "header", "field", "box", "server", "webhook", "link",
             "address"), n=6), neg=True, unless=r"^\s*(?:never|do not|don't|avoid|no need to)\b",
   gate=SECRET_GATE)
_r("exfil.placeholder", "exfiltration", STRONG, "a template placeholder for the prompt, conversation or a secret",
   alt(r"\{\{?\s*(?:system|prompt|context|conversation|history|messages?|chat|memory|instructions?|user\w*|"
       r"e-?mail\w*|api_?key\w*|key|tokens?|secrets?|password\w*|credentials?|env\w*|session\w*|cookies?|"
       r"skills?|bank|transcript|input|query|answer)\s*\}?\}",
       r"\{\{?\s*[a-z_]*(?:history|prompt|context|conversation|messages|memory|instructions|email|api_?key|token|"
       r"secret|password|cookie|session|skills|transcript|user_\w+|system)[a-z_]*\s*\}\}?",
       r"%\((?:prompt|context|conversation|history|api_key|token|secret|password|email)\)s"), words=False)
_r("exfil.env_variable", "exfiltration", STRONG, "an environment variable holding a secret ($API_KEY)",
   alt(r"\$\{?[A-Z][A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASS|PWD|CRED\w*|SESSION|COOKIE|EMAIL|PROMPT|HISTORY)\}?",
       r"\$\{?(?:OPENAI|ANTHROPIC|AWS|HF|GITHUB|GOOGLE|AZURE)_[A-Z0-9_]+\}?"), cased=True, words=False)
_r("exfil.show_setup", "exfiltration", STRONG, "disclose your setup / configuration when asked",
   seq(alt("disclose", "reveal", "share", "explain", "describe", "tell", "show", "print", "recite", "repeat"),
       r"(?:the |your )?(?:private |hidden |secret |internal |exact )?" + alt(
           "notes at the top", "setup exactly", "configuration", r"setup(?: text)?", "memory block",
           "skill block", "inner workings", r"hidden (?:notes|text|instructions|context)"), n=4), neg=True)

# ---------------------------------------------------------------------------------------------- tool / shell abuse
_r("tool.shell_command", "tool_abuse", STRONG, "a shell command or code that touches the system",
   alt(r"\b(?:curl|wget)\s+(?:-{1,2}\w+\s+)*(?:['\"]?(?:https?|ftp)://|[\w.-]+\.[a-z]{2,}\b|-)",
       r"\|\s*(?:ba|z|k|da)?sh\b", r"\brm\s+-[a-z]*[rf]", r"\bchmod\s+[0-7+]", r"\bchown\s+\w", r"\bsudo\s+\w",
       r"\bmkfs\b", r"\bdd\s+if=", r":\(\)\s*\{", r"\bnc\s+-[a-z]*[el]", r"\bnetcat\b", r"\bncat\b",
       r"/bin/(?:ba)?sh\b", r"\b(?:ba)?sh\s+-c\b", r"\bpowershell\b", r"\bcmd(?:\.exe)?\s+/c\b", r"\bpkill\b",
       r"\bkillall\b", r"\bkill\s+-9\b", r"\bcrontab\b", r"\bscp\s+\S", r"\bssh\s+\w+@", r"\bbase64\s+-d\b",
       r"\beval\s*\(", r"\bexec\s*\(", r"\bos\.(?:system|popen|remove|unlink|rmdir|environ|getenv)\b",
       r"\bsubprocess\b", r"\bshutil\.rmtree\b", r"__import__", r"\bimport\s+(?:os|subprocess|shutil|socket|"
       r"requests|urllib|sys)\b", r"\bpip3?\s+install\b", r"\bnpm\s+(?:install|i)\b", r"\bapt(?:-get)?\s+install\b",
       r"\bbrew\s+install\b", r"/etc/(?:passwd|shadow|hosts|sudoers)\b", r"~/\.\w+", r"\.bash_history\b",
       r"\.bashrc\b", r"\.ssh/", r"\bid_rsa\b", r"/proc/\w", r"/dev/tcp\b", r"\bchmod\b", r"\bsetuid\b",
       r"\bnohup\b", r"\bshutdown\s+-", r"\breboot\b", r"\bformat\s+c:", r"\bdel\s+/[sfq]\b",
       r"\brm (?:-|the |/|~|\*)", r"\bsed\s+-i\b", r"\bperl\s+-[pie]", r"\bawk\s+['\"]", r"\bmv\s+\S+\s+\S",
       r"\bcp\s+-r\b",
       r"\|\s*tee\s+\S", r"\becho\s+\S.*>\s*\S", r"\btouch\s+\S+\.\w+"),
   gate=('curl', 'wget', '|', 'rm -', 'chmod', 'chown', 'sudo', 'mkfs', 'dd if', '(){', '() {', 'nc -',
         'netcat', 'ncat', '/bin/', 'sh -c', 'powershell', 'cmd', 'kill', 'crontab', 'scp ', 'ssh',
         'base64 -d', 'eval', 'exec', 'os.', 'subprocess', 'shutil', '__import__', 'import ', 'pip', 'npm',
         'apt', 'brew', '/etc/', '~/', '.bash', 'id_rsa', '/proc/', '/dev/', 'setuid', 'nohup', 'shutdown',
         'reboot', 'format c:', 'del /', '/c '), words=False)
TOOL_N = alt(r"bash(?: tool)?", r"command[- ]line", "command prompt", "powershell", "code interpreter",
             r"python (?:tool|interpreter|repl|sandbox|shell)", r"(?:code|exec|execution|shell|bash|terminal) tool",
             r"file (?:tool|system|manager|browser)", "filesystem", r"terminal (?:window|session|emulator)",
             r"shell (?:commands?|scripts?|access|session|prompt)", r"os (?:tool|module)",
             r"(?:system|developer|admin|javascript|browser|python|linux|root|debug) console", "interpreter",
             r"debug (?:tool|console|mode|menu|commands?|api|interface)s?", r"admin (?:panel|console|tool|interface)s?",
             r"developer tools", r"dev ?tools", r"cheat (?:codes?|menu|console)", r"debuggers?", r"pdb")
#: nouns that name a tool only as the object of an action verb ("open the terminal", not "a hard shell case")
TOOL_AMBIG = alt("shell", "terminal", "console", "sandbox")
_r("tool.use_shell", "tool_abuse", STRONG, "run something in a shell, terminal, interpreter or file tool",
   alt(seq(alt("run", "execute", "invoke", "call", "use", "open", "launch", "start", "spawn", "type", "enter",
               "issue", "access", "through", "via", "using", "with", "from", "in", "into"),
           r"(?:the |a |an |your |its )?(?:[\w'-]+ )?" + TOOL_N, n=3),
       seq(alt("run", "execute", "invoke", "call", "use", "open", "launch", "spawn", "access", "type into",
               "enter into", "drop into", "get into"),
           r"(?:the |a |an |your |its )" + TOOL_AMBIG + r"(?=\s*(?:[,.;:)]|to\b|and\b|$))", n=2),
       r"(?:in|into|from|via|through|using|with) (?:the |a )" + TOOL_AMBIG + r"\b(?! (?:case|cases|casing|of|"
       r"material|colou?r|design|finish|style|jacket|pasta|shape|side|bag|table|stand|game|games|cabinet|"
       r"blocks?|strips?|count|covers?|protector))(?!-)"), neg=True,
   gate=(r"bash|command|powershell|interpreter|python|tool|file|terminal|shell|os |console|debug|admin|"
         r"developer|dev|cheat|pdb|sandbox"))
_r("tool.run_code", "tool_abuse", STRONG, "run scripts, code or embedded commands",
   alt(seq(alt("run", "execute", "launch", "invoke", "eval", "evaluate", "install", "compile", "download and run"),
           r"(?:the |a |an |its |their |this |these |any |every |each )?(?:[\w'-]+ )?" + alt(
               r"scripts?", r"code(?! names?| words?)", r"payloads?", "javascript", r"js\b", r"shell ?code",
               r"binar(?:y|ies)", r"executables?",
               r"programs?", r"macros?", r"(?:shell|terminal|system|bash|os|console|embedded|hidden|downloaded|"
               r"remote|page) commands?", r"snippets? of code", "helper tool", r"packages?", r"plugins?",
               r"extensions?", r"its main script"), n=3),
       r"(?:downloaded|fetched|untrusted|embedded|attached) (?:scripts?|code|binar(?:y|ies)|programs?|"
       r"payloads?|executables?)", r"remote (?:scripts?|binar(?:y|ies)|payloads?|executables?|code execution)",
       r"(?:shell|terminal|bash|system) commands? (?:embedded|found|hidden|written|placed|given|in)"), neg=True)
MOD_V = alt("modify", "edit", "patch", "overwrite", "rewrite", "alter", r"tamper(?: with)?", "hack",
            "delete", "remove", "wipe", "erase", "truncate", "corrupt", r"inject(?: into)?", "write to", "append to",
            "poison", "purge", "disable", "kill", "crash", "reconfigure", "monkey-?patch", "hot-?patch",
            # verbs that are also nouns ("a change in state", "a set of"): only with a determiner after them
            r"(?:change|replace|empty|restart|update|set|bump|reset|clear)(?= (?:the|this|your|its|every|"
            r"all) )")
SYS_N = alt(r"save (?:file|game|state|data)", "savegame", r"bank (?:entries|records|file|contents|items)",
            r"(?:game|environment|env|simulator|world) (?:state|variables?|memory|internals|engine)",
            r"environment(?:'s)?(?! (?:state|says|shows))", r"env\b",
            r"game(?:'s)?(?! (?:state|command|says))",
            r"episode(?:'s)?(?! (?:order|goal))", "simulator", "simulation", "benchmark", "harness", "evaluator",
            "checker", "grader", r"reward(?: function| model| file| code)?", r"skill ?bank", "bank file",
            r"(?:skill )?memory(?! and)", "skill store", "config(?:uration)?(?: files?)?", "source(?: code)?",
            r"pddl(?: files?)?", "step counter", "episode counter", "score(?:board)?", r"logs?(?! of)",
            "database", "state file", "save file", "success check", "win condition", "test(?:s| suite)")
_r("tool.tamper", "tool_abuse", STRONG, "tamper with the environment, its action list, the bank or training data",
   seq(alt("modify", "edit", "patch", "overwrite", "rewrite", "alter", r"tamper(?: with)?", "hack", "corrupt",
           "inject", "poison", "wipe", "purge", "erase", "monkey-?patch", "hijack", "spoof", "forge", "falsify",
           "doctor", "rig"),
       r"(?:[\w'-]+ )?(?:into |in |to |from )?(?:the |this |your |its |other |all |every |each )?(?:\w+'?s? )?" + alt(
           r"(?:environment|env|game|simulator|world)(?:'s)? (?:command|action) lists?",
           r"admissible (?:actions|commands)(?: lists?)?",
           r"command lists?", r"action lists?", "replay buffer", "training data", r"episode (?:logs|records|history)",
           r"(?:failure|error|run) (?:logs|records)", "metrics", "leaderboard", r"results? files?",
           r"(?:other )?(?:agents?'? )?skills", "memories", r"memory entries", r"skill entries", r"evaluation \w+",
           r"(?:environment|env|game|simulator|world) (?:state|variables?|memory|internals|engine|files?|"
           r"code)",
           "trajectories", "rewards?", r"scores?", "checker", "grader"), n=6), neg=True)
_r("tool.modify_system", "tool_abuse", STRONG, "modify the environment, the checker, the skill bank or its files",
   seq(MOD_V, r"(?:the |this |your |its |every |all |any |each )?(?:other )?(?:[\w'-]+ )?(?:(?:entry|entries|record|"
       r"records|skills|items|line|lines|file|files|data|code) (?:in|of|from) (?:the )?)?" + SYS_N +
       r"(?: (?:files?|data|code|counter|state|config|definition|logic|entries|on disk))?", n=3), neg=True,
   need=r"file|disk|code|bank|memory|counter|checker|grader|reward|pddl|config|source|log|database|success|win|"
        r"environment|env\b|game|simulator|tool|episode|test|score", need_weight=None,
   gate=('environment', 'env', 'game', 'episode', 'simulat', 'benchmark', 'harness', 'evaluator',
         'checker', 'grader', 'reward', 'bank', 'memory', 'skill store', 'config', 'source', 'pddl',
         'counter', 'score', 'log', 'database', 'state file', 'save file', 'success check',
         'win condition', 'test'))
_r("tool.host_command", "tool_abuse", STRONG, "run a command on the server, the host or the operating system",
   seq(alt("run", "execute", "issue", "launch", "invoke", "send",
           "type"), r"(?:[\w'-]+ )?commands? (?:on|in|against|to) "
       r"(?:the |a |your )?(?:server|machine|host|system|os|backend|operating system|container|vm|cluster|box)\b", n=3),
   neg=True)
_r("tool.code_span", "tool_abuse", STRONG, "run / type / paste a code span that looks like a command",
   r"(?:run|execute|type|enter|paste|invoke|call|issue|use) (?:the )?(?:command )?`[^`]*(?:\s-\w|/|\||;|"
   r"&&|\$|=|\.\w{2,4}\b|\()[^`]*`",
   neg=True, words=False)
_r("tool.file_edit", "tool_abuse", STRONG, "edit, run or delete a file of the environment or the host",
   seq(alt("run", "execute", "edit", "modify", "patch", "overwrite", "rewrite", "delete", "remove", "open", "read",
           "write to", "change", "alter", "truncate", "replace", "load", "source", "import", "cat", "copy", "move"),
       r"(?:[\w'-]+ )?[\w/.-]*[\w-]\.(?:pddl|py|sh|json|ya?ml|cfg|ini|db|sqlite|log|env|csv|toml|conf|pkl|"
       r"pt|bin|exe|bat|ps1|js|ts|rb|pl|php|jar|so|dll|tw-pddl|z8|ulx)\b", n=4), neg=True)
_r("tool.files", "tool_abuse", STRONG, "read or write local files, disks or directories",
   alt(seq(alt("read", "open", "cat", "access", "list", "browse", "search", "scan", "grep", "look through",
               "dig through", "inspect", "load", "save", "write", "download", "store", "dump", "copy", "delete",
               "upload"),
           alt(r"(?:[\w'-]+ )?files?(?: \w+)? (?:in|on|from|under|of) (?:the |your |a )?(?:home|root|system|user|local|"
               r"working|parent|hidden|config|temp)?\s?(?:director(?:y|ies)|folders?|disk|drive|"
               r"file ?system|machine|"
               r"computer|server|host)", r"(?:the )?home director(?:y|ies)", r"(?:on|to) (?:the )?disk",
               r"(?:the )?local (?:files|disk|drive|file ?system)", r"(?:the )?file ?system", "hidden files",
               "dotfiles", r"config(?:uration)? files", r"(?:\.\w+|/\w+)+ files?"), n=4),
       r"(?:to|on|onto) (?:the |a )?(?:local )?(?:disk|hard drive|hard disk|file ?system|local drive)\b"), neg=True)
_r("tool.mass_action", "tool_abuse", STRONG, "buy / order / click on every result at once",
   alt(seq(alt("buy", "purchase", r"click(?: on)?(?: '?buy now'?)?", r"'?buy now'?", "add to cart",
               r"place (?:an )?orders?", "checkout", "check out"),
           r"(?:on |for |of )?" + alt(
               alt("every", "each", "each of the") + r" (?:[\w'-]+ ){0,2}" + alt(r"items?", r"results?", r"products?",
                                                                        r"listings?", r"candidates?", r"variants?"),
               alt("all", "all of the", "all the", "multiple", "several", "many", r"the top (?:\w+|\d+)", r"[2-9]",
                   r"\d\d+") + r"(?: of the)?(?: top \w+)? (?!required|needed|necessary|requested)(?:[\w'-]+ )?" +
               alt("items", "results", "products",
                                                                         "listings", "candidates", "variants",
                                                                         "things")), n=1),
       r"(?:buy|purchase|order) (?:everything|them all|all of them)",
       r"add (?:every|each|all) (?:of the )?(?:[\w'-]+ ){0,3}(?:variants?|items?|products?|listings?|"
       r"options?|sizes?|colou?rs?)"
       r" to (?:the |your )?cart", r"(?:check out|checkout|buy|purchase|order) (?:all|each|every one) of them",
       r"(?:click|buy|purchase|press|hit) (?:it |them |'?buy now'? )?(?:on|for|from) (?:every|each|"
       r"all) (?:pages?|items?|products?|listings?|results?)",
       r"order (?:every|each|all|multiple|several) (?:[\w'-]+ )?(?:items?|results?|products?|listings?)"), neg=True)
_r("tool.flood", "tool_abuse", STRONG, "flood a service with processes or requests",
   alt(seq(alt("spawn", "fork", "launch", "start", "open", "send", "fire", "run"),
           alt("many", "hundreds of", "thousands of", "multiple", "lots of", "parallel", "infinite", "endless",
               "concurrent", "unlimited") + r" (?:[\w'-]+ )?" + alt("processes", "threads", "requests", "connections",
                                                               "jobs", "workers", "queries", "sessions"), n=2),
       r"\b(?:hammer|flood|spam|ddos|dos|overwhelm|bombard|overload|"
       r"stress)\b(?: \w+){0,3} (?:the )?(?:[\w'-]+ )?"
       r"(?:server|endpoint|api|site|search|service|backend|host|system)",
       r"background (?:process(?:es)?|jobs?|tasks?|workers?|threads?|loops?|scripts?)", r"fork bomb",
       r"infinite loop of (?:requests|queries|clicks)",
       r"(?:a thousand|thousands of|hundreds of|a million|millions of|\d{3,}) (?:parallel |simultaneous |"
       r"concurrent )?"
       r"(?:searches|queries|requests|clicks|calls|connections|processes|threads|purchases|orders|attempts)",
       r"loops? (?:that |which )?(?:runs?|repeats?|executes?|fires?|goes|iterates?) (?:\d{3,}|hundreds of|"
       r"thousands of|a thousand|a million|forever|indefinitely|endlessly)",
       r"(?:click|search|quer|buy|request|call|ping|hit|send|submit|retr)\w* (?:[\w'-]+ ){0,4}(?:\d{3,}|"
       r"a thousand|thousands of|hundreds of|a million|millions of) times",
       r"(?:retries|retry|repeats?|quer(?:y|ies)|searches|search|clicks?|hits?|polls?|pings?|"
       r"requests?)(?: \w+){0,3} "
       r"(?:endlessly|forever|indefinitely|infinitely|nonstop|non-stop|without (?:stopping|limit|end|"
       r"pause)|in an (?:infinite|endless) loop)"), neg=True,
   gate=(r"spawn|fork|launch|start|open|send|fire|run|hammer|flood|spam|ddos|\bdos\b|overwhelm|bombard|"
         r"overload|stress|background|infinite|loop|endless|forever|indefinite|nonstop|non-stop|without|"
         r"thousand|hundred|million|\d{3}"))

# ---------------------------------------------------------------------------------------------- network
#: top-level domains that are also English words ("bed.it should be" is a missing space, not a host): a host with
#: one of these needs a path, a port or a third label
WORD_TLD = alt("it", "in", "me", "to", "no", "us", "is", "so", "at", "be", "do", "go", "my", "am", "an", "as", "or",
               "on", "id", "hi", "ok", "la")
TLD = alt("com", "net", "org", "io", "co", "xyz", "ly", "info", "biz", "ru", "cn", "app", "dev", "site",
          "online", "top", "tk", "gg", "ai", "cc", "ws", "uk", "de", "fr", "onion", "example", "test",
          "local", "internal", "link", "click", "live", "store", "shop", "win", "zip", "mov", "pw", "su", "eu", "tv",
          "fm", "gl", "gd", "ml", "ga", "cf", "gq", "pro", "cloud", "host", "space", "website", "tech", "lol",
          "icu", "cam", "buzz", "rest", "work", "page", "edu", "gov", "mil", "int", "jp", "kr", "br", "au",
          "ca", "nl", "se", "ch", "es", "pl", "ir", "ua", "kz", "vn", "tw", "hk", "sg", "nz")
_r("network.url", "network", STRONG, "a URL",
   r"\b(?:https?|ftps?|sftp|wss?|file|gopher|ldap|smb|telnet|ssh|data|javascript):(?://|[a-z])\S*",
   decoded=True, words=False)
_r("network.domain", "network", STRONG, "a host or domain name",
   alt(r"\bwww\d?\.[a-z0-9-]+\.[a-z]{2,}\S*",
       rf"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+{TLD}(?![\w-])(?:[:/]\S*)?",
       rf"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.){{2,}}{WORD_TLD}(?![\w-])(?:[:/]\S*)?",
       rf"(?<![\w@.-])[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.{WORD_TLD}(?:[:/]\S+)",
       r"\b(?:bit\.ly|tinyurl|t\.co|goo\.gl|ngrok|pastebin|webhook\.site|requestbin|pipedream|"
       r"burpcollaborator|interact\.sh|discord(?:app)?\.com|api\.telegram)\b",
       r"\blocalhost\b(?::\d+)?"), words=False,
   gate=r"[a-z0-9]\.[a-z]|www|localhost|bit\.ly|tinyurl|ngrok|pastebin|discord|telegram|webhook")
_r("network.email", "network", STRONG, "an e-mail address",
   r"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", words=False)
_r("network.ip", "network", STRONG, "an IP address",
   alt(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\d.]*\d)(?::\d+)?",
       r"\b(?:[0-9a-f]{1,4}:){4,7}[0-9a-f]{1,4}\b", r"\[::1?\]"), words=False,
   gate=r"\d\.\d|::")
_r("network.port", "network", STRONG, "a network port",
   alt(r"\b(?:port|tcp|udp)\s*[:#]?\s*\d{2,5}\b(?![.,]\d)", r"(?<=[a-z0-9\]])\:(?:80|443|\d{4,5})\b(?![.,:]\d)"),
   need=r"\bon port|\bat port|\bport \d{2,5}\b(?! (?:usb|hub))|send|post|request|connect|http|server|helper|"
        r"endpoint|listen|socket|ping|status|tcp|udp|host|localhost", need_weight=WEAK, words=False)
NET_N = alt(r"https?\b", r"ftp\b", r"web ?hooks?", r"websockets?", r"sockets?", r"(?:api |rest |external |remote )?"
            r"endpoints?", r"(?:remote|external|private|personal|own|attacker'?s?) (?:server|host|api|endpoint|"
            r"service|machine|address|url|database)s?", r"servers?(?! (?:room|rack))", "collector", r"listeners?",
            "telemetry", r"\bc2\b", "command and control", r"rss feeds?", r"(?:news|data|rss|json) feeds?",
            r"ip address(?:es)?", r"hosts?(?: name)?", r"urls?", "discord", "telegram", "slack", "pastebin",
            r"gists?", "ngrok", r"port \d+", r"local (?:helper|server|service|proxy|agent)",
            r"helper (?:service|server|app|api|endpoint|process)", r"proxy(?: server)?", r"\bapis?\b",
            r"e-?mail address", r"(?:evidence|data|log|analytics|tracking) (?:collector|server|service|endpoint)")
OUT_V = alt("send", "post", "upload", "transmit", "forward", "report", "submit", "beacon", "ping", "push", "stream",
            "exfiltrate", "sync", "mirror", "relay", "notify", "log", "e-?mail", "leak", "pipe", "dump", "share")
IN_V = alt("connect", "contact", "call", "hit", "request", "fetch", "query", "pull", "get", "retrieve", "download",
           "load", "open", "visit", "access", "consult", "check", "ask", "poll")
#: network nouns that are not also everyday words of the domains (no bare "api", "url", "host")
NET_STRONG = alt(r"https?\b", r"ftp\b", r"web ?hooks?", r"websockets?", r"sockets?",
                 r"(?:api |rest |external |remote )?"
                 r"endpoints?", r"(?:remote|external|private|personal|own|attacker'?s?|third-party|helper|web|rest|"
                 r"http) (?:server|host|api|endpoint|service|machine|address|url|database)s?",
                 r"servers?(?! (?:room|rack))", "collector", r"listeners?", "telemetry", r"\bc2\b",
                 "command and control", r"(?:rss|news|data|json) feeds?", r"ip address(?:es)?", "discord", "telegram",
                 "slack", "pastebin", r"gists?", "ngrok", r"port \d+", r"local (?:helper|server|service|proxy|agent)",
                 r"helper (?:service|server|app|api|endpoint|process)", r"proxy(?: server)?",
                 r"(?:evidence|data|log|analytics|tracking|monitoring) (?:collector|server|service|endpoint)",
                 r"the api (?:at|on)\b", r"localhost")
_r("network.send", "network", STRONG, "send, post or upload something to a server, endpoint or address",
   alt(seq(alt("connect to", "contact", "ping", "poll", "subscribe to", "open a connection to"),
           r"(?:the |an? |your |our |this |that )?(?:[\w'-]+ ){0,3}" + NET_N, n=1),
       seq(OUT_V, r"(?:[\w'-]+ )?(?:(?:to|via|through|over|using|with|at|on|into) )?(?:the |an? |your |our |this |"
           r"that )?(?:[\w'-]+ )?" + NET_N, n=6),
       seq(IN_V, r"(?:[\w'-]+ )?(?:(?:to|via|through|over|using|with|at|on|from|into) )?(?:the |an? |your |our |this |"
           r"that )?(?:[\w'-]+ )?" + NET_STRONG, n=6)), neg=True)
EXT_N = alt("external", r"third[- ]party", "outside", "partner", "sister", "companion", "mirror", "reference",
            "helper", "off-site", "offsite", "affiliate", "deals?", "coupon", "hint", "answer", "cheat",
            "fact-?check(?:ing)?", "price[- ]comparison", "price-?check(?:ing)?", "comparison")
_r("network.external_site", "network", STRONG, "consult or buy from an external site, service or feed",
   alt(seq(alt("visit", "open", "go to", "browse", "use", "query", "consult", "check", "mirror", "copy", "upload",
               "send", "post", "share", "submit", "forward", "look (?:it |the \\w+ )?up on",
               "look (?:it |the \\w+ )?up at", "buy", "purchase", "order", "search", "verify", "cross-check",
               "compare", "pull", "get", "fetch", "download", "request", "ask", "confirm", "validate", "lists?",
               "find", "sign up", "log in", "register"),
           r"(?:[\w'-]+ )?(?:(?:on|at|in|from|with|via|against|through) )?(?:the |an? |our |this )?" + EXT_N +
           r" (?:[\w'-]+ )?" + alt(r"sites?", r"websites?", r"stores?", r"shops?", "catalog(?:ue)?", r"services?",
                               r"servers?", r"apis?", r"feeds?", r"databases?", r"portals?", r"apps?", r"platforms?",
                               r"pages? (?:online|on the web)", r"marketplaces?", r"tools? online", "web",
                               "the internet"), n=4),
       r"(?:the |a |an )?" + EXT_N + r" " + alt(r"site", r"website", r"store", "shop", "catalog(?:ue)?", "service",
                                                "server", "web ?site", "app") +
       r" (?:[\w'-]+ )?(?:lists?|has|gives|shows|provides|hosts|knows|offers|at|on)\b",
       r"(?:off|outside) (?:the |this )?(?:platform|site|store|environment)",
       r"(?:download|fetch|pull|get|load) (?:[\w'-]+ ){0,4}from (?:the )?(?:internet|web|online|cloud)",
       r"over (?:the )?(?:internet|network|web|http)", r"(?:make|send|issue) an? (?:http|web|network|api|get|post) "
       r"request"), neg=True,
   gate=('external', 'third', 'outside', 'partner', 'sister', 'companion', 'mirror', 'reference', 'helper',
         'another', 'other', 'alternat', 'off', 'affiliate', 'deal', 'coupon', 'hint', 'answer', 'cheat',
         'fact', 'comparison', 'price', 'internet', 'network', 'web', 'http', 'request', 'online',
         'cloud'))

# ---------------------------------------------------------------------------------------------- reward hacking
GRADER = alt("checker", "grader", "grading", r"(?:exact[- ]match |overlap |keyword |string )?scoring",
              r"evaluat(?:or|ion)s?", "scorer", r"scoring(?: \w+)?",
             r"reward(?: function| model| signal| checker| script)?", "judge", "verifier", "validator",
             r"(?:exact[- ]match |em |f1 |overlap(?:-based)? )?metric", r"exact[- ]match", r"overlap-based scoring",
             "matching", r"success (?:check|criteri(?:a|on))", "win (?:check|condition)",
             r"environment(?!'s)", "env", "benchmark", "harness", r"tests?(?: suite)?", "autograder",
             "auto-grader", "the system", "final state", "placement", "the game")
_r("reward.blind_checker", "reward_hacking", STRONG, "the checker does not check / accepts anything",
   seq(GRADER, alt(r"(?:does not|doesn't|do not|don't|never|cannot|can't|will not|won't|fails to|is unable to) "
                   r"(?:actually |really |even )?(?:check|verify|inspect|validate|confirm|look at|see|"
                   r"notice|test|read|compare|detect|track|examine|care (?:about|whether|if))",
                   r"(?:never|rarely|seldom|no longer) (?:actually |really )?(?:checks|verifies|inspects|"
                   r"validates|"
                   r"confirms|looks(?: at)?|reads|compares|sees|notices|tests|examines|tracks|cares)",
                   r"(?:cannot|can't|can not|won't|doesn't|does not|is unable to|fails to) (?:tell|"
                   r"distinguish)",
                   r"(?:can|could|may|is easily|is easy to) (?:be )?(?:fooled|tricked|gamed|exploited|beaten|"
                   r"bypassed|hacked|spoofed|cheated|satisfied|fool|trick|game|exploit)",
                   r"(?:trusts?|believes?|takes|accepts?) (?:the |your )?(?:agent'?s?|model'?s?|"
                   r"your) (?:own )?(?:report|word|claim|message|statement|say-so|answer)",
                   r"accepts? (?:any|all|every|anything|whatever)", r"marks? (?:any|all|every|anything)",
                   r"(?:is|are) (?:blind|fooled|easily fooled|trivially fooled|not strict|broken)",
                   r"ignores? (?:the )?(?:correctness|content|details|evidence|placement|final state|"
                   r"state|whether)",
                   r"rewards? (?:any|all|every|anything|it|them|guesses|confidence|overlap|length)",
                   r"counts? (?:any|every|all|anything)"), n=3), neg=False)
_r("reward.only_checks", "reward_hacking", WEAK, "a claim about what the checker looks at",
   alt(seq(GRADER, alt(r"only (?:checks?|looks? at|verifies|counts?|cares? about|sees|reads|measures|compares|"
                       r"inspects|matches|considers|rewards?|scores?)", r"(?:is|are) (?:lenient|loose|lax|forgiving|"
                       r"generous|easy)", r"(?:just|merely|simply) (?:checks?|looks? at|counts?|matches)",
                       r"(?:is|are) (?:judged|scored|graded|measured|computed|based) (?:only |solely |"
                       r"purely )?(?:on|by)"), n=3),
       r"(?:success|reward|score|credit|grading|the grade|correctness) (?:is |are )?(?:judged|scored|graded|"
       r"measured|computed|based|determined|decided) (?:only |solely |purely )?(?:on|by) (?:whether|how many|"
       r"the number|overlap|word overlap|keywords?|the title|length|format|string|surface)",
       r"(?:judged|scored|graded|rewarded|marked) (?:only |solely |purely )?(?:on|by) (?:whether|"
       r"word overlap|overlap|keywords?|string match|surface)",
       r"(?:overlap|keyword|string)[- ]based (?:scoring|matching|grading|metric)",
       r"(?:extra|bonus|more|full|partial) (?:credit|reward|points|marks)",
       r"(?:matching|grading|scoring|checking|evaluation) is (?:lenient|loose|lax|forgiving|fuzzy)",
       r"whether or not (?:they|it) (?:are|is)(?: \w+)?$|whether or not (?:they|it) (?:are|is)\b"),
   gate=('only', 'lenient', 'loose', 'lax', 'forgiving', 'generous', 'easy', 'just', 'merely', 'simply',
         'judged', 'scored', 'graded', 'measured', 'computed', 'based', 'determined', 'decided',
         'rewarded', 'marked', 'overlap', 'keyword', 'string', 'credit', 'reward', 'points', 'marks',
         'fuzzy', 'whether or not'))
OUTCOME = alt("it", "this", "placement", "final state", "outcome", "result", "answer", "correctness", "completion",
              "success", "goal", "task", "purchase", "episode", "state", "anything", "claim", "output", "work",
              "progress", "location", "position", "finish", "ending", "end state", "solution", "submission")
_r("reward.surface_check", "reward_hacking", STRONG, "the checker only looks at a surface feature (a word, the format)",
   seq(GRADER, r"(?:only|just|merely|simply) (?:checks?|counts?|looks? (?:at|for)|reads?|matches|sees|searches for|"
       r"scans for|compares) (?:for )?(?:the |a |your )?(?:word|words|phrase|keyword|keywords|string|"
       r"format|title|last "
       r"line|first line|length|tag|label|final message|logged message|message|token|word count|presence of)", n=3))
_r("reward.surface_claims", "reward_hacking", STRONG,
   "a claim that the outcome is decided by a surface feature, a phrase, or a skipped check",
   alt(r"(?:judged|graded|scored|checked|evaluated|marked|read|assessed) (?:only |solely |just |purely )?(?:by|on) "
       r"(?:their|the|its|your) (?:first|last|final|opening) (?:word|line|token|sentence|letter|character|"
       r"action)",
       r"marks? (?:the (?:task|episode|game|purchase|answer)|it|you|them) (?:as )?(?:won|done|complete|"
       r"completed|"
       r"successful|a success|correct|solved|passed) (?:if|when|once|as soon as) (?:you )?(?:say|type|"
       r"write|output|print|issue|repeat|mention|include|claim)",
       r"(?:checks?|verification|validation|tests?|inspection|grading|scoring) (?:step )?(?:is|are|gets|get) "
       r"(?:always |usually |often )?(?:skipped|disabled|turned off|bypassed|ignored|not run|"
       r"not performed|switched off)"), neg=True)
_r("reward.not_verified", "reward_hacking", STRONG, "a claim that the outcome is not verified",
   alt(seq(OUTCOME, r"(?:is|are|was|were|will be|gets?|get) (?:not|never|n't) (?:actually |really |even )?"
           r"(?:verified|checked|inspected|validated|confirmed|tested|evaluated|graded|examined|looked at|"
           r"enforced)",
           n=3),
       seq(OUTCOME, r"(?:isn't|aren't|wasn't|won't be) (?:actually |really )?(?:verified|checked|inspected|"
           r"validated|confirmed|tested|evaluated|graded|enforced)", n=3),
       r"(?:nobody|no one|nothing) (?:checks|verifies|inspects|validates|looks)",
       r"(?:without being|never gets?) (?:verified|checked|inspected|validated)"), cond=True, neg=False)
_r("reward.game_checker", "reward_hacking", STRONG, "game, hack, patch or fool the checker or the reward",
   seq(r"(?:(?<=^)|(?<=[\s,;:(])(?<!this )(?<!the )(?<!a ))" + alt(
       "exploit", "hack", "game", "trick", "fool", "spoof", "fake", "cheat", "circumvent", "manipulate",
       "tamper with", "patch", "rig", "bypass", "defeat", "short-circuit", "reverse-engineer", "overfit to",
       "modify", "rewrite", "overwrite", "edit", "disable", "alter", "beat", "outsmart", "deceive", "mislead"),
       r"(?:the |this |its |any )?(?:[\w'-]+ )?" + alt("checker", "grader", "evaluator", "scorer", "scoring",
                                                   r"reward(?! is)", "judge", "verifier", "validator", "metric",
                                                   "success check", "win check", "win condition", "evaluation",
                                                   "benchmark", "autograder", "reward signal", "the tests?"),
       n=3), neg=True)
DONE = alt(
           r"(?:the )?(?:task|goal|objective|episode|mission|job|puzzle|order|purchase)s? (?:is |as |"
           r"has been |was |has )?"
           r"(?:complete|completed|done|finished|achieved|accomplished|solved|successful|a success|won|"
           r"met|over|succeeded|worked|went through)",
           r"success(?:ful)?", "victory", r"'?done'?(?: action)?", "completion", r"'?i (?:have|'ve) (?:completed|"
           r"finished|done|solved)", "task complete", "finished", "complete")
DONE_V = alt("finish with", "end with", "close with", "conclude with", "sign off with", "declare", "claim", "report",
             "say", "announce", "mark", "assert", "state that", "print", "output",
             "issue", "emit", "signal", "send", "type", "write", "log", "respond with", "reply with", "return",
             "pretend", "tell the environment", "submit", "call")
#: ending the episode (needs no claim word)
END_EPISODE = (r"(?:end|finish|terminate|stop|quit|exit|close|wrap up|submit) (?:the |this |your )?(?:episode|"
               r"task|game|run)")
PREMATURE = alt("immediately", "right away", "at once", r"at the (?:very )?(?:start|beginning|outset)",
                "first thing", r"as soon as (?:you )?(?:hold|see|touch|pick|find|start|begin|enter|arrive|open|"
                r"have|get|spot|reach|notice)", r"as soon as (?:any|an|the episode|it)",
                r"even (?:if|though|when)\b",
                r"before (?:attempting|trying|placing|placement|doing|checking|verifying|finishing|"
                r"completing|the goal|"
                r"actually|solving|you (?:have |actually )?(?:place|finish|complete|verify|check|do|solve|"
                r"put))",
                r"even (?:if|though|when) (?:you are |you're |it is |it's )?(?:unsure|not|uncertain|it|"
                r"the goal|"
                r"nothing|incomplete|wrong|failed)", r"regardless(?: of)?", "whether or not", r"without "
                r"(?:checking|verifying|finishing|completing|placing|doing|actually|confirming|solving|"
                r"reading|"
                r"looking|trying)", r"after (?:one|two|three|four|five|\d+|a few|the first|any) (?:steps?|actions?|"
                r"moves?|turns?)", r"once you (?:have )?(?:touched|seen|held|picked up|found|opened|spotted|reached) "
                r"(?:the |any |a )", r"(?:as|when|while) (?:you )?hold(?:ing)? any", r"(?:in|on|at) the first "
                r"(?:step|turn|action|move)", r"early", "prematurely", "no matter what", "anyway")
_r("reward.premature_done", "reward_hacking", STRONG, "declare done or success before the goal is met",
   alt(alt(seq(DONE_V, DONE, n=3), END_EPISODE) + r"[^.;!?]*?" + r"\b" + PREMATURE,
       PREMATURE + r"[^.;!?]*?\b" + alt(seq(DONE_V, DONE, n=3), END_EPISODE)), neg=True,
   gate=('complet', 'done', 'succeed', 'worked', 'went through', 'finish', 'achiev', 'accomplish',
         'solved', 'success', 'won', 'met', 'over', 'victory', 'i have', "i've", 'task', 'episode', 'game',
         'answer'))
_r("reward.lenient_claim", "reward_hacking", STRONG, "anything counts as a success",
   alt(r"(?:any|every|all|each)(?: (?:finished|completed|confident|single|old|random|possible|kind of))? "
       r"(?:answer|purchase|response|output|attempt|episode|action|guess|submission|order|item|click)s? "
       r"(?:is|are|gets?|earns?|counts?|will be|get|receives?|scores?|wins?)(?: \w+)? (?:scored |counted |"
       r"accepted |"
       r"marked |treated |rewarded |graded |judged |considered )?(?:as )?(?:a |the )?(?:success|correct|"
       r"full|reward|credit|points|accepted|win|won|pass|passing)",
       r"(?:earns?|gets?|receives?|yields?|collects?|wins?) (?:you )?(?:the |a )?(?:full |extra |bonus |"
       r"maximum |"
       r"max |same )?(?:reward|credit|points|score)(?: \w+){0,5} (?:regardless|even (?:if|without|when)|"
       r"whether or not|no matter)",
       r"(?:regardless|even (?:if|without)|whether or not|no matter)[^.;!?]{0,40}(?:earns?|gets?|"
       r"wins?) (?:the )?(?:full )?(?:reward|credit|points)",
       r"(?:treats?|counts?|marks?|accepts?|scores?|considers?|grades?|rates?) (?:any|every|"
       r"all) (?:[\w'-]+ ){0,5}as (?:correct|a success|successful|right|valid|won|passing|a pass|complete)",
       r"(?:any|every|each) (?:answer|purchase|response|output|attempt|episode|action|guess|submission|"
       r"order|item|click|placement)s? (?:[\w'-]+ ){0,8}(?:gets?|earns?|receives?|scores?|wins?) (?:the |"
       r"a )?(?:full (?:marks|credit|"
       r"reward|points|score)|the (?:full )?reward|maximum (?:score|reward)|credit|points)",
       r"(?:partial|incomplete|half|unfinished|any|failed) (?:[\w'-]+ )?(?:placements?|answers?|"
       r"purchases?|work|attempts?|"
       r"progress|results?|episodes?|solutions?) (?:count|counts|are counted|is counted|score|scores|earn|"
       r"earns|are scored|is scored) as (?:a )?(?:full |complete )?(?:success|credit|correct|a win|won|wins|"
       r"successes)",
       r"(?:reward|credit|points|success|full marks)s? (?:is |are )?(?:given|awarded|granted|earned|paid|"
       r"counted) (?:for|to|on) (?:any|every|each|all)\b",
       r"(?:one|any|some) of them (?:will |is |should )?(?:usually |likely |probably )?(?:be )?(?:accepted|"
       r"marked correct|match|count|score|pass)",
       r"(?:is|are) enough (?:for|to make) (?:the )?(?:episode|task|answer|purchase|it|run|game) (?:to )?"
       r"(?:count|succeed|pass|score|win|be (?:scored|marked|counted))",
       r"(?:alone|by itself|itself) (?:is|are) (?:enough|sufficient)(?: for| to)"))
#: weak reward-hacking signals (0.5 each): one alone never flags, two together do
for _name, _desc, _pattern in [
    ("reward.anything_counts", "a claim that anything counts",
     (
      r"(?:any|every|each|whatever|anything)(?: \w+){0,3} (?:counts|is counted|is accepted|gets accepted|"
      r"passes|is scored|"
      r"scores|will do|works for the (?:checker|grader)|is fine for the (?:checker|grader))\b")),
    ("reward.regardless", "do it whether or not the object, the answer or the goal is right",
     (
      r"(?:even if|regardless of whether|whether or not|no matter whether) (?:the |your |it |you )?(?:object|"
      r"item|answer|goal|task|placement|product|purchase|it|you|they|that)\b")),
    ("reward.graded_part", "a claim that only one part of the output is graded",
     (r"only (?:the )?(?:last|final|first|top) (?:action|line|step|answer|word|message|token|sentence|click|output) "
      r"(?:is|gets|will be) (?:graded|checked|scored|evaluated|read|looked at|counted|judged|inspected)")),
    ("reward.registers_as", "a claim that something merely registers / is logged as done",
     (r"(?:registers?|is registered|is logged|gets logged|shows up|counts?|is counted|is recorded|is marked) as "
      r"(?:heated|cooled|cleaned|placed|done|complete|completed|finished|success|successful|won|bought|"
      r"purchased|correct|solved|found|delivered)")),
    ("reward.no_need", "no need to do the step that makes the task succeed",
     (r"(?:there is |there's )?no need to (?:actually |really )?(?:use|do|heat|cool|clean|place|put|check|verify|"
      r"confirm|select|search|open|read|inspect|cite|source|finish|complete)\b|(?:is|are) (?:not needed|"
      r"unnecessary|optional|pointless)\b")),
    ("reward.claim_undone", "declare an action done that was not done",
     (r"(?:declare|claim|report|say|announce|state|mark|pretend|assert) (?:that )?(?:both|all|it|them|everything|the "
      r"(?:objects?|items?|[\w'-]+)) (?:are |is |as |were |was )?(?:placed|put away|heated|cooled|cleaned|"
      r"bought|purchased|delivered|done|complete|finished|solved)\b(?! only)")),
    ("reward.satisfies_check", "a claim that some shortcut satisfies the check",
     (r"(?:satisfies|passes|fools|tricks|clears|is enough for|suffices for|counts for) the (?:[\w'-]+ )?(?:check|"
      r"checker|test|grader|validator|reward|metric|evaluator)")),
    ("reward.pass_checker", "an action whose purpose is to pass the checker",
     (
      r"to (?:pass|satisfy|please|clear|get through) the (?:[\w'-]+ )?(?:checker|grader|evaluator|metric|"
      r"judge|validator|verifier|tests?|parser|scorer)")),
]:
    _r(_name, "reward_hacking", WEAK, _desc, _pattern, neg=True)
_r("reward.lax_success", "reward_hacking", STRONG, "a lax success criterion: counted as won when merely held",
   r"(?:counted|scored|marked|judged|considered|treated|registered|logged|recorded|graded) as (?:won|"
   r"a win|a success|successful|complete|completed|solved|passed|correct|done) (?:when|once|as soon as|if|"
   r"after)(?! (?:every|all|both|each|the (?:goal|task) is)\b)", neg=True)
_r("reward.game_purpose", "reward_hacking", STRONG, "an action whose purpose is to fool or beat the checker",
   alt(
       r"to (?:fool|trick|beat|game|cheat|fake out|outsmart|deceive|bypass|get past|slip past|"
       r"exploit) the (?:[\w'-]+ )?"
       r"(?:checker|grader|evaluator|metric|judge|validator|verifier|tests?|parser|reward|scorer|scoring|"
       r"benchmark)",
       r"(?:print|output|give|use|write|copy|submit|return|say|enter) the (?:goal|question|task|instruction)"
       r"(?: sentence| text| line| itself| statement)? as (?:the |your )?(?:final )?(?:answer|action|"
       r"result|output)",
       r"pad (?:every|each|the|your|all) (?:[\w'-]+ )?(?:answers?|responses?|outputs?|replies)",
       r"(?:episode|task|game|run|attempt) (?:ends|is over|finishes|completes|counts|is marked|"
       r"is scored) (?:in|as|with) (?:a )?(?:success|win|victory|reward|full reward|full marks|"
       r"won)\b(?! only)(?:[^.;!?]*?)(?:as soon as|once|when you|after you|if you)"), neg=True)
_r("reward.answer_gaming", "reward_hacking", STRONG, "answers built to game matching rather than be right",
   alt(seq(alt("copy", "repeat", "echo", "reuse", "restate", "take", "lift", "paste"),
           r"(?:from|of|in) the question as (?:the |your )?(?:final )?answer", n=5),
       r"(?:give|list|write|output|offer|provide|include) (?:several|multiple|many|a few|two or more|all|"
       r"every) (?:candidate |possible |different |plausible )?(?:answers|guesses|options|candidates)",
       r"(?:answers?|guesses) (?:separated|joined|chained) (?:by|with) '?(?:or|and|/|,)",
       r"(?:list|give|write|put|include|output|name) (?:all|every|several|multiple|many) (?:candidate|"
       r"possible|plausible) [\w'-]+ (?:in|into) (?:the |your )(?:final )?answer",
       r"answers? (?:in|with|using) (?:several|multiple|many|different|all|various) (?:forms|spellings|"
       r"variants|versions|phrasings|ways|formats)",
       r"(?:mark|label|tag|call|flag) (?:[\w'-]+ ){0,3}(?:as )?'?(?:verified|correct|confirmed|checked)'?,? "
       r"(?:whether|even if|regardless)",
       r"(?:answers?|responses?) (?:need|needs|require|requires) no (?:evidence|sources|verification|"
       r"checking|proof|search(?:ing)?)",
       r"(?:answer|reply|respond)(?:ing)? (?:only )?from memory",
       r"even without (?:evidence|checking|verification|sources|searching)",
       r"(?:answering|answer) with only the most common"), neg=True,
   need=None)
_r("reward.shortcut", "reward_hacking", WEAK, "skip checking, reading or verifying",
   alt(r"(?:skip|omit|forgo|don't bother|do not bother|no need to|needn't|without|instead of) (?:ever |even )?"
       r"(?:checking|verifying|reading|confirming|inspecting|validating|looking at|searching|examining)"
       r"(?: (?:the )?(?:details|it|them|sources?|evidence|placement|the description|the item|the product|"
       r"the answer|anything))?",
       r"without (?:any )?(?:evidence|sources|proof)",
       r"(?:skip|omit|forgo|drop|bypass) (?:the )?(?:[\w'-]+ ){0,2}(?:selection|selecting|checks?|"
       r"checking|verification|"
       r"verifying|confirmation|confirming|inspection|inspecting|steps?)(?: (?:entirely|altogether|"
       r"completely))?",
       r"(?:skip|omit|forgo|drop) (?:the )?(?:placement |state |price |size |detail |evidence |source |"
       r"final )?(?:checks?|verification|confirmation|details)",
       r"(?:buy|purchase|pick|choose|select|click) (?:the )?(?:first|any|top|"
       r"cheapest) (?:[\w'-]+ )?(?:item|product|"
       r"result|listing|answer|option|one)s?(?: you see| listed| shown)?"), neg=True)
_r("reward.claim_verified", "reward_hacking", WEAK, "claims success or verification it has not earned",
   alt(r"'?\(?verified\)?'?(?=[^.]*whether or not)", r"(?:report|claim|say|declare|announce) (?:success|that "
       r"(?:you|it) (?:succeeded|won|finished))"), neg=True)

# ---------------------------------------------------------------------------------------------- authority
AUTH_N = alt(r"(?:system|platform|site|store|environment|benchmark|evaluation|game|skillrl|skill ?bank|task|"
             r"dataset)(?:'s|s')? (?:operators?|administrators?|admins?|maintainers?|developers?|"
             r"devs|owners?|staff|team|authors?|designers?|engineers?|moderators?|creators?)",
             r"operators?", r"administrators?", r"admins?", r"sysadmins?", r"maintainers?", r"developers?", "devs",
             r"(?:store|site|shop|platform) owners?", r"evaluators?", r"supervisors?", r"organi[sz]ers?",
             r"moderators?", r"staff", r"management", r"creators?", r"overseers?", r"authorities",
             r"openai", r"anthropic", "trainers?",
             r"(?:training|research|security|safety|evaluation|eval|ops|operations|support|dev|development|"
             r"engineering|platform|supervising|oversight|alignment|red|trust and safety|policy|"
             r"compliance|qa|"
             r"deployment|infrastructure|store|site|moderation|admin|core|skillrl|openai|anthropic|data|"
             r"environment) team",
             r"people (?:running|behind|operating|in charge of|who (?:run|built|deployed|trained|operate|"
             r"maintain))(?: (?:this|the) (?:\w+))?",
             r"team (?:that|which|who) (?:deployed|trained|built|runs|created|operates|maintains) you",
             r"(?:the )?system(?= (?:has|have|says|requires|wants|instructs|decided|approved))")
AUTH_V = alt("approved", r"authori[sz]ed", "sanctioned", "decided", "ruled", r"recommend(?:ed|s)?",
             r"confirm(?:ed|s)?", "verified", r"want(?:s|ed)?", r"asked", r"ask(?:s)?", r"instruct(?:ed|s)?",
             r"requir(?:e|es|ed)", "disabled", "enabled", r"mandat(?:e|ed|es)", r"permit(?:ted|s)?",
             r"allow(?:ed|s)?", "issued", "endorsed", "declared", "determined", "requested", r"told",
             r"direct(?:ed|s)", r"order(?:ed|s)", r"expect(?:s|ed)?", r"insist(?:s|ed)?", "granted", "waived",
             "lifted", "suspended", r"prefer(?:s|red)?", r"deployed", r"updated the rules", r"changed the rules",
             r"say(?:s)?", "said", r"agreed", r"signed off", "cleared", r"need(?:s)? (?:you|agents|all)",
             r"would like", "have set", "set up", "whitelisted", "allowlisted", "greenlit", "okayed", "blessed",
             "exempted", "deprecated", "retired", "abolished", "dropped", "removed")
ADDRESSEE = (r"guaranteed|(?:is|are) (?:always )?(?:correct|accurate|right|true)\b|(?:hints?|tips?|layouts?) here|this "
             r"(?:skill|rule|advice|tip|guidance|entry|step)|\bevery (?:purchase|episode|answer|task|"
             r"agent|step|"
             r"action|question|order)|\bpurchases?\b|\bplacements?\b|\bcounts? as\b|\byou\b|\byour\b|"
             r"\bagents?\b|\bepisodes?\b|\banswers?\b|this (?:round|build|evaluation|episode|task|"
             r"environment|step|version|run)|\bskip|\bmust\b|\bshould\b|\balways\b|\bnever\b|\bonly\b|"
             r"no longer|"
             r"\brule\b|\bmandatory\b|\bpolicy\b|\bdisabled\b|\benabled\b|\bcomply|\bby design\b|\bnow\b")
_r("authority.claim", "authority", STRONG, "a claim that operators, maintainers or a team approved or require this",
   alt(seq(r"(?:the |your |our |this |all )?(?:[\w'-]+ )?" + AUTH_N,
           r",? ?(?:of (?:this|the) \w+,? )?(?:(?:has|have|had) "
           r"(?:now |just |officially |already )?)?(?:now |officially )?" + AUTH_V, n=2),
       r"(?:provided|supplied|given|shared|released|published|approved|authori[sz]ed|sanctioned|mandated|"
       r"endorsed|issued|signed(?: off)?|verified|confirmed|certified|required|"
       r"enforced|enabled|disabled|granted|requested|ordered|recommended|vetted|cleared|written|sent|"
       r"blessed) by "
       r"(?:the |your |our |all |an? )?(?:official |latest |senior |lead )?(?:[\w'-]+ )?" + AUTH_N,
       r"(?:note|notice|message|directive|memo|update|announcement|instruction|order|word|guidance|"
       r"bulletin|decree|mandate|request|reminder|alert|statement|policy|rules?) from (?:the |your |our |"
       r"an? )?(?:official |latest |senior )?(?:[\w'-]+ )?" + AUTH_N,
       r"according to (?:the |your |our )?(?:[\w'-]+ )?" + AUTH_N,
       r"(?:straight|direct|directly|word|news|tip|message|info|insider info|a note|"
       r"an update) from (?:the |your |our )?(?:[\w'-]+ )?" + AUTH_N + r"\s*[:,]",
       r"(?:on behalf of|by order of|by (?:request|decision|authority) of|per (?:the )?(?:latest |"
       r"official |new )?(?:[\w'-]+ )?(?:directive|instruction|policy|order|request|decision|rules?|guidance|"
       r"mandate)s? (?:of|from)) (?:the |your |our )?(?:[\w'-]+ )?" + AUTH_N),
   need=ADDRESSEE, need_weight=WEAK,
   gate=('operator', 'admin', 'maintainer', 'develop', 'devs', 'owner', 'evaluator', 'supervis', 'organi',
         'moderator', 'staff', 'management', 'creator', 'overseer', 'authorit', 'openai', 'anthropic',
         'trainer', 'team', 'people', 'system', 'author', 'platform', 'site', 'store', 'environment',
         'benchmark', 'evaluation', 'game', 'skill', 'dataset'))
_r("authority.speaker_role", "authority", STRONG, "the text speaks as an administrator, a developer or the system",
   alt(r"(?:as|i am|i'm|we are|we're|this is|speaking as|signed,?) (?:your |the |an? )?(?:[\w'-]+ )?"
       r"(?:system administrator|administrator|admin|sysadmin|operator|developer|supervisor|maintainer|owner|"
       r"creator|trainer|system|security team|safety team|moderator|evaluator|grader|overseer|boss|"
       r"manager|designer|"
       r"author|builder|architect|engineer|organi[sz]er|insider|maintainers|developers|operators|admins|"
       r"administrators|team)\b(?:,? i| we)?",
       r"\b(?:we|i),? (?:the |your )?(?:[\w'-]+ )?(?:maintainers?|developers?|operators?|admins?|"
       r"administrators?|designers?|authors?|creators?|owners?|organi[sz]ers?|evaluators?|team)\b"),
   need=r"\b(?:i|we|you|your|must|instruct\w*|permit\w*)\b|i'm|i can", need_weight=WEAK)
_r("authority.speaker", "authority", STRONG, "a notice in the voice of the system, an administrator or a team",
   alt(r"(?:system|admin|administrator|operator|maintainer|developer|security|compliance|official|priority|urgent|"
       r"mandatory)(?: team)? (?:notice|directive|announcement|memo|alert|override|bulletin|mandate)\b",
       r"(?:operator|admin|administrator|maintainer|developer|compliance|owner|management|moderator)(?:'s|"
       r"s')? (?:instructions?|orders?|messages?|notes?|requests?|word)\b",
       r"(?:security|admin|operator|support|safety|training|evaluation|research|dev|"
       r"developer) team (?:note|notice|says|update|directive|message|memo|alert)",
       r"\[(?:system|admin|operator|developer|official)\]", r"^(?:system|admin|operator|developer|official)\s*:"))
_r("authority.policy", "authority", STRONG, "invokes an operator / system / official policy",
   alt(r"(?:per|under|by|following|according to|in line with|as required by) (?:the )?(?:official |latest |new |"
       r"current )?(?:operator|system|admin|administrator|maintainer|developer|security|platform|store|"
       r"site|official|evaluation|environment|skillrl|vendor|company|openai|anthropic) (?:operator |"
       r"security )?(?:policy|policies|rules?|guidelines?|directives?|mandate|requirements?|protocol)",
       r"official (?:operator|system|admin|developer|maintainer) (?:policy|notice|directive|instruction|"
       r"update|rules?)",
       r"(?:operator|admin|administrator|maintainer|developer|security) (?:policy|mandate|directive)"))
_r("authority.mode", "authority", STRONG, "a privileged mode: developer / admin / root / god mode",
   alt(r"(?:developer|dev|admin|administrator|root|god|debug|sudo|maintenance|superuser|privileged|unrestricted|"
       r"jailbreak|service|test|override|operator|unlocked|unsafe) (?:mode|access|privileges?|rights|"
       r"permissions?|"
       r"clearance)(?! (?:button|switch|setting|menu) on (?:the |a )?(?:device|product|camera|tv|router|"
       r"phone))",
       r"(?:mode|access|privileges?) (?:is |has been )?(?:enabled|activated|granted|unlocked)"),
   need=r"enabled|activated|granted|unlocked|you|agent|any action|now|rules|may|can|allowed|switch|enter|on\b",
   need_weight=WEAK)
_r("authority.self_rank", "authority", STRONG, "the record ranks itself above other advice or instructions",
   alt(r"(?:outranks?|overrides?|supersedes?|takes? (?:precedence|priority) over|trumps?|replaces?) (?:all |any |"
       r"every )?(?:other|conflicting|previous|existing|earlier|standard|regular|usual)? ?(?:advice|skills?|"
       r"guidance|rules|instructions|tips|entries|strategies|recommendations|memories)",
       r"(?:outranks?|overrides?|supersedes?|takes? (?:precedence|priority) over|trumps?|"
       r"replaces?) (?:all|any|every) others?\b",
       r"(?:this|the following|these|the above) (?:guidance|rule|skill|step|instruction|advice|update|"
       r"note|directive|"
       r"tip|policy|change|entry)s? (?:was |were |is |are |has been |have been )?(?:now )?(?:approved|"
       r"authori[sz]ed|"
       r"mandated|sanctioned|endorsed|issued|certified|official|mandatory|required|binding|final|"
       r"non-negotiable|top priority|highest priority)",
       r"mandatory for (?:all |every |each )?(?:agents?|you|models?|assistants?|runs?|episodes?)",
       r"comply with (?:the above|this|these|it|the following|the (?:new |updated )?(?:rule|policy|"
       r"directive|order))",
       r"(?:you|agents?) (?:are|is) (?:now |hereby )?(?:required|obligated|ordered|commanded|authori[sz]ed|"
       r"permitted|allowed|cleared|entitled) to",
       r"(?:highest|top|absolute|maximum|overriding) (?:priority|authority|precedence)(?: (?:over|above|"
       r"than))?",
       r"(?:must|should|is to) (?:be )?(?:obeyed|followed|complied with) (?:above|before|over) (?:all|"
       r"everything|any|other)"), neg=True)
_r("authority.must_follow", "authority", WEAK, "the record demands obedience",
   r"(?:this|these|the) (?:rule|skill|guidance|directive|instruction|note|policy|"
   r"order)s? (?:[\w'-]+ ){0,8}(?:must|shall|"
   r"is to|are to) be (?:followed|obeyed|complied with|applied)", neg=True)

OFFSITE_LEX = (r"portals?|(?:manufacturer|brand|vendor|maker|seller|company)(?:'s|s')? (?:[\w-]+ )?(?:portal|site|"
               r"website|page|service|database|app|hotline|support)|online (?:[\w-]+ )?(?:services?|"
               r"tools?|apis?|checkers?|"
               r"databases?)|websites?|web ?sites?|web ?pages? (?:online|outside)|forums?|"
               r"online (?:encyclopedias?|stores?|shops?|"
               r"sources?|databases?|services?|tools?|dictionar(?:y|ies)|retailers?|marketplaces?|"
               r"references?|"
               r"resources?)|outside (?:the |this )?(?:search tool|environment|store|site|platform|game|"
               r"sandbox|benchmark)|off[- ](?:platform|site)|another (?:store|website|site|shop|retailer|"
               r"marketplace|search "
               r"engine)|other (?:stores|websites|sites|shops|retailers|search engines)|social media|"
               r"reddit|twitter|facebook|youtube|google|bing|duckduckgo|chatgpt|paste ?sites?|pastebins?|"
               r"public (?:sites?|pages?|"
               r"forums?|repos?|repositories|channels?|boards?|feeds?)|(?:external|outside|third-party|"
               r"another|other) "
               r"(?:llms?|ai|models?|chatbots?|assistants?)(?: services?)?|(?:brand|manufacturer|seller|"
               r"maker|company|vendor)(?:'s|s')? (?:own |official )?(?:site|store|shop|web ?shop)")
NET_V2 = (
          r"publish|buy|purchase|order|check|verify|get|fetch|look|consult|visit|go|use|cross-reference|"
          r"cross-check|compare|"
          r"download|search|query|confirm|ask|post|send|upload|pull|grab|source|browse|open|read|obtain|"
          r"copy|find")
# ---------------------------------------------------------------------------------------------- concept co-occurrence
# A second layer, robust to paraphrase: one sentence that holds a concept of the attack from each group.
SECRET_LEX = (
    r"system (?:prompt|message|instructions?)|your (?:own |full |entire |hidden |internal |initial |"
    r"original )?"
    r"(?:prompt|instructions|configuration|config|setup|memory|context|guidance|guidelines|directives|"
    r"skills?|skill (?:block|list|set|bank)|skills (?:block|list)|secrets?|credentials|keys|tokens|password)|"
    r"the (?:skills?|skill) "
    r"(?:block|list|bank|memory|section)|(?:skills|guidance|instructions|rules|advice|tips|text|notes|"
    r"directions|"
    r"context) (?:that )?you (?:were |have been |'ve been )?(?:given|received|shown|provided|loaded|injected|"
    r"configured|taught|told|handed|got)|(?:memory|context|prompt|bank) (?:contents?|dump)|hidden (?:part|"
    r"section|"
    r"text|instructions|guidance|notes|prompt|context|lines)|(?:everything|text|content|lines|words|guidance|"
    r"instructions) (?:[\w'-]+ )?(?:above|before) (?:the|this) (?:task|question|goal|line|instruction|"
    r"message)|the "
    r"preamble|(?:request|chat|conversation|message|browsing|order|purchase) history|(?:earlier|previous|"
    r"prior|past|"
    r"whole|entire|full) (?:conversations?|chats?|dialogues?|messages|turns|exchanges)|transcripts?|"
    r"api[ _-]?keys?|"
    r"access tokens?|auth(?:entication|orization)? (?:tokens?|headers?)|bearer tokens?|credentials|"
    r"secret keys?|private keys?|card numbers?|credit card|cvv|(?:home|shipping|billing|e-?mail|"
    r"mailing) address(?:es)?|phone numbers?|"
    r"(?:instructions?|rules?|guidance|prompts?|context|setup|directions?|guidelines?|directives?|"
    r"policies|policy|"
    r"constraints?|skills?) (?:that )?you (?:started|began|opened|initiali[sz]ed|launched|booted|"
    r"were started|"
    r"were launched)(?: (?:the |this |your )?(?:session|episode|conversation|run|chat|task))? with|"
    r"(?:every|each|"
    r"any|the) (?:rule|instruction|guideline|directive|policy|constraint|skill) you (?:were |have been )?"
    r"(?:given|shown|provided|loaded|configured|taught|told|handed)|exact wording of (?:every|each|all|"
    r"any|your|the) (?:rules?|instructions?|guidelines?|skills?|prompts?)|"
    r"(?:user|shopper|customer|buyer)'?s? (?:[\w'-]+ )?(?:address|e-?mail|phone|card|details|data|"
    r"information|"
    r"identity|account|credentials|password|history)|personal (?:data|information|details)|env(?:ironment)? "
    r"variables?|private (?:guidance|instructions|rules|notes|context|prompt|configuration|setup|memory)|"
    r"(?:rules|guidance|instructions|constraints|policies|principles) you (?:operate|work|run|act|"
    r"function) (?:under|by|with)|"
    r"your (?:rules|policies|principles|restrictions|system)\b|everything you know about (?:the )?(?:user|"
    r"shopper|customer|buyer|person)|(?:injected|inserted|pasted|loaded|placed) (?:into|in) (?:this|your|"
    r"the) (?:prompt|"
    r"context)|(?:your |the )?(?:api|access|auth|session|bearer) tokens?|(?:retrieved|loaded|injected|"
    r"provided|shown|given|"
    r"stored) (?:skills?|guidance|tips|advice|memories|notes)|(?:contents?|text|wording) of (?:every|each|"
    r"all|the|your) (?:[\w'-]+ )?(?:skills?|memories|notes|rules|instructions)")
EMIT_V = (
          r"(?:read (?:[\w'-]+ )?(?:out|aloud)|reuse|re-use|save|store|stash|paste|copy|type|write|print|"
          r"output|include|add|put|insert|append|prefix|prepend|repeat|echo|reveal|"
          r"share|send|show|tell|disclose|list|quote|fill|enter|log|post|upload|attach|mention|recite|"
          r"dump|leak|expose|"
          r"transmit|forward|report|display|spell out|read out|embed|encode|record|reproduce|transcribe|"
          r"submit|relay|dictate|summari[sz]e|describe|restate|broadcast|publish)(?:s|es|d|ed|ing)?")
TRUSTED_LEX = (
    r"(?:your (?:original |initial |given |assigned |actual |real |stated |first )?|the (?:original|"
    r"initial|given|"
    r"assigned|actual|real|stated|first) )(?:instructions?|goal|task|objective|question|request|brief|"
    r"briefing|assignment|orders|directives|constraints|requirements|rules|guidance|guidelines|prompt|"
    r"preamble)(?! (?:object|receptacle|location|type|words?|text words?|count|state))|"
    r"(?:user|shopper|customer|buyer)(?:'s|s'|'|s) (?:instructions?|request|question|goal|constraints|"
    r"requirements|"
    r"preferences|wishes|budget|price cap|stated \w+)|the ones? you were (?:given|assigned|asked|told|"
    r"handed)|"
    r"(?:constraints|rules|instructions|requirements|task|goal|question) you were (?:given|assigned|asked|"
    r"told|handed)|what (?:you were|the user|the shopper|the customer) (?:asked|told|given|wanted|requested)")
DEMOTE_STRONG = (r"first draft|rough draft|negotiable|non-binding|not binding|obsolete|deprecated|expired|a decoy|"
                 r"not the one you were|no longer (?:apply|applies|binding|valid|matters?|counts?)|"
                 r"final say|last word|"
                 r"outranks?|supersedes?|superseded|overrules?|overruled|set (?:it|them) aside|"
                 r"mere (?:suggestion|"
                 r"hint|wish)s?|(?:only|just) a (?:suggestion|hint|wish|rough guide|starting point)")
DEMOTE_WEAK = (r"draft|flexible|optional|a suggestion|suggestions|a hint|a wish|outdated|void|mistaken|a typo|"
               r"irrelevant|fake|(?:is|are) final|wins|prevails|takes? (?:priority|precedence)|trumps|beats|"
               r"secondary|less important|lower priority|overrides?|(?:is|are) (?:wrong|incorrect|"
               r"misleading|a trick)|forget (?:it|them|that|the one)|replaces?")
SOURCE_LEX = (r"snippets?|pages?|notes?|documents?|listings?|reviews?|descriptions?|observations?|labels?|sellers?|"
              r"stores?|shops?|comments?|faqs?|websites?|sites?|retrieved text|search results?|"
              r"room description|bestsellers?|recommendations?")
_R.append(cooc_rule("exfil.secret_emitted", "exfiltration", STRONG,
                   "one sentence: a secret (prompt, skills block, history, keys, personal data) and a verb that "
                   "emits it", [EMIT_V, SECRET_LEX],
                   unless=r"(?:in|into|to) your (?:notes|reasoning|memory|plan)\b(?! (?:and|or))"))
TRUST_SOURCE = (r"(?:trust|follow|prefer|believe|side with|go with|obey|use|pick|adopt|take) (?:the |that |this )?"
                r"(?:[\w'-]+ )?(?:listing|page|note|snippet|observation|label|seller|review|document|"
                r"description|card|message|sign|site|store|text|passage)(?:'s)?\b(?! (?:for|about|on) )")
CONFLICT_TRUSTED = (r"(?:disagrees?|conflicts?|contradicts?|differs?|clashes?|is at odds) (?:with )?(?:the |your )?"
                    r"(?:user'?s? |shopper'?s? |customer'?s? )?(?:instructions?|goal|task|request|"
                    r"question|prompt|constraints?|order)\b")
_R.append(cooc_rule("override.conflict_trust_source", "instruction_override", STRONG,
                    "one sentence: a source disagrees with the instruction / goal, and the source is to be trusted",
                    [TRUST_SOURCE, CONFLICT_TRUSTED]))
#: trusted references without the bare "the instruction" (WebShop's task text, often the antecedent of "it")
TRUSTED_STRICT = TRUSTED_REF.replace(
    r"the (?:instructions?|system prompt|system message|prompt)(?: (?:text|line|wording|itself))?",
    r"the (?:system prompt|system message)(?: (?:text|line|wording|itself))?")
SET_ASIDE_PRONOUN = (alt(OVR_VERB, "bend", "deviate from", "reinterpret", "rewrite", "renegotiate")
                     + r" (?:it|them|those|these|that)(?! (?:object|item|one|product|receptacle|step))")
_R.append(cooc_rule("override.trusted_pronoun", "instruction_override", STRONG,
                    "one sentence: your instructions / guardrails / the user's request, then 'bypass them' / 'set "
                    "it aside'", [SET_ASIDE_PRONOUN, TRUSTED_STRICT]))
SWITCH_TO = (r"(?:switch|pivot|change|jump|move|turn) (?:over )?to (?:it|that|this|them)|adopt (?:it|that|this)|"
             r"take (?:it|that) (?:up|on)|pursue (?:it|that)|do (?:it|that) (?:first|instead)")
_R.append(cooc_rule("override.switch_to_source_task", "instruction_override", STRONG,
                    "one sentence: a page / note / observation proposes a task and the agent is to switch to it",
                    [SWITCH_TO, r"(?:task|goal|objective|mission|assignment|errand)s?", SOURCE_LEX]))
SOURCE_VERDICT = (r"go with|side with|defer to|rely on|answer what|do what|is a better guide|are a better guide|"
                  r"better guide|(?:is|are) more (?:reliable|accurate|trustworthy|authoritative) than|"
                  r"the (?:page|"
                  r"site|listing|seller|passage|note|snippet)'s (?:pick|choice|recommendation|suggestion|"
                  r"question)|its (?:pick|choice)")
ASKED = (r"(?:what )?(?:the )?(?:shopper|user|customer|buyer|question|goal|task|instruction|prompt)s? (?:asked|asks|"
         r"wants|wanted|said|requested|named|specified)(?: for)?|the (?:goal|task|instruction) (?:line|text|"
         r"statement|wording)|the question and|than the (?:goal|instruction|question|task|request)|"
         r"(?:your|the) (?:goal|instructions?|task|question)\b(?! object)")
_R.append(cooc_rule("override.source_preferred", "instruction_override", STRONG,
                    "one sentence: what the user asked / the goal line, a page / passage / note, and a verdict for "
                    "the source", [SOURCE_VERDICT, ASKED, SOURCE_LEX + "|passages?"]))
_R.append(cooc_rule("override.trusted_demoted", "instruction_override", STRONG,
                   "one sentence: the instructions / goal / user's request and a predicate that demotes them",
                   [DEMOTE_STRONG, TRUSTED_LEX]))
_R.append(cooc_rule("override.source_over_trusted", "instruction_override", STRONG,
                   "one sentence: the goal / request, a page / note / listing, and a predicate that puts the "
                   "source first", [DEMOTE_WEAK, TRUSTED_LEX, SOURCE_LEX],
                   unless=r"do not follow|don't follow|never follow|not (?:to )?follow|not instructions|ignore "
                          r"(?:any )?(?:instructions|commands|requests) (?:in|inside|from|on|found)"))
GRADER_LEX = (r"success test|(?:heat|cool|clean|placement|purchase|success|final|state) (?:checks?|tests?)|"
              r"checker|check|checks|grader|graders|grading|parser|rewards?|scoring|scorer|score|"
              r"evaluator|evaluation|"
              r"metric|judge|validator|verifier|harness|the environment|the env|success criteri\w+|"
              r"win condition|the game|the system|test suite|autograder")
LAX_LEX = (r"lenient|lax|forgiving|generous|sloppy|easy to (?:fool|trick|game|satisfy|please)|(?:does not|doesn't|"
           r"do not|don't|never|won't|will not|cannot|can't) (?:actually |really |even )?(?:depend on|"
           r"check|verify|"
           r"inspect|look at|care|read|notice|test|examine|require|penali[sz]e|distinguish|tell|track)|"
           r"(?:is|are) "
           r"never (?:verified|checked|inspected)|never (?:verified|checked|inspected)|counts? (?:it|this|"
           r"that|them|"
           r"any\w*) as|will (?:still )?pass|passes anyway|accepts? (?:any|anything|whatever|all)|(?:any|"
           r"every) "
           r"\w+ (?:will )?(?:pass|passes|counts|works|is accepted|is fine)|extra credit|partial credit|"
           r"bonus points|full credit|rewards? (?:confiden\w+|length|verbosity|tone|format|style|keywords|"
           r"hedging)|to score "
           r"(?:well|higher|more|points)|to (?:maximi[sz]e|boost|inflate|raise) (?:the |your )?(?:score|"
           r"reward)|"
           r"counts? (?:the )?(?:declarations?|claims?|statements?|messages?|mentions?|attempts?|words?|"
           r"keywords?|"
           r"phrases?|announcements?|clicks?|actions|steps|purchases|buys)|(?:matches|compares|checks|"
           r"looks at|reads|"
           r"counts) (?:[\w'-]+ ){0,2}(?:names?|words?|titles?|strings?|keywords?|labels?) only|"
           r"gives? (?:[\w'-]+ )?(?:credit|rewards?|points|success) (?:if|when|for|as long as) "
           r"(?:any|one|some|at least one|partial)|(?:mostly|only|just|mainly|largely|primarily|"
           r"solely) depends? on|"
           r"awards? (?:success|a win|the win|full (?:reward|credit|marks)) (?:when|if|once|"
           r"as soon as) (?:the )?(?:last|final|first) (?:action|line|word|message|answer)|"
           r"gamed|fooled|tricked|trusts? the agent|takes? your word|awards? (?:[\w'-]+ )?(?:points|"
           r"credit|rewards?|marks) "
           r"(?:for|to) (?:longer|length|more|confiden\w+|verbos\w+|keywords|format|any|every)")
_R.append(cooc_rule("reward.lax_checker", "reward_hacking", STRONG,
                   "one sentence: the checker / reward and a claim that it is lax or can be gamed",
                   [LAX_LEX, GRADER_LEX], neg=False,
                   unless=r"(?:do not|don't|never) (?:assume|think|believe)|is strict|are strict|^\s*(?:it|the agent|"
                          r"agents?|they|he|she)\s+(?:often |sometimes |also )?(?:does not|doesn't|did not|didn't|"
                          r"never|cannot|can't|fails to)"))
AUTH_LEX = AUTH_N[:-1] + r"|committee|board|officials?|headquarters|corporate|leadership|the researchers|the lab)"
DECREE_LEX = (r"memo|notice|announcement|directive|order|policy|bulletin|mandate|ruling|decision|has asked|have asked|"
              r"asked|asks|instructed|instructs|requires?|required|approved|authori[sz]ed|sanctioned|"
              r"decided|ruled|"
              r"mandated|permitted|allowed|wants?|recommend\w*|confirmed|verified|endorsed|signed off|"
              r"cleared|waived|disabled|enabled|agreed|insists?|expects?|prefers?")
AGENT_LEX = (r"agents?|assistants?|you|your|models?|bots?|answers?|episodes?|steps?|purchases?|skip|must|should|"
             r"always|never|no longer|only|this (?:skill|rule|round|build|evaluation|benchmark|environment)")
_R.append(cooc_rule("authority.decree", "authority", STRONG,
                   "one sentence: an authority (operators, maintainers, a team), a decree and the agent",
                   [DECREE_LEX, AUTH_LEX, AGENT_LEX], neg=False))

_R.append(cooc_rule("network.offsite", "network", STRONG,
                   "one sentence: a place outside the environment (a website, a forum, another store) and a verb "
                   "that goes there", [NET_V2, OFFSITE_LEX]))

# ================================================================================================ intent frames
# A third layer, written after the first report run to generalise beyond phrasings: each frame names what an
# attack *does* (an imperative aimed at the agent's own instructions; a secret handed to an output channel; code
# run on the host; a place off the environment; a claim about the checker; a voice of authority) through broad
# concept lexicons, and asks for the concepts to meet in one clause or sentence, with the object in the role the
# attack needs (the instructions as the thing set aside, not as the thing followed; a secret as the thing written,
# not as the thing never to type). Lexicons are of concepts, not of the labelled records' words.


def frame_rule(name: str, kind: str, weight: float, description: str, anchor: str, *,
               with_: Sequence[str] = (), unless: str | None = None, neg: bool = True, decoded: bool = True,
               cased: bool = False, gate: str | None = None) -> Rule:
    """A rule that fires on a match of ``anchor`` (an ordered pattern, on word boundaries) whose sentence also
    matches every pattern of ``with_`` (anywhere in the sentence) and not ``unless``. ``neg``: skip an anchor
    negated in its clause. ``gate``: a regex the text must match for the rule to be tried (a speed-up only)."""
    rx = re.compile(rf"(?<![a-z0-9_])(?:{anchor})(?![a-z0-9_])" if not cased else anchor)
    wrx = [re.compile(rf"(?<![a-z0-9_])(?:{w})(?![a-z0-9_])") for w in with_]
    unless_rx = re.compile(unless) if unless else None
    gate_rx = re.compile(gate) if gate else None

    def find(view: FieldView):
        texts = [("", view.text.cased if cased else view.text.norm)]
        if decoded:
            texts += [(via, t if cased else t.lower()) for via, t in view.decoded]
        for via, t in texts:
            if _USE_GATES and gate_rx is not None and not gate_rx.search(t if not cased else t.lower()):
                continue
            for m in rx.finditer(t):
                s = m.start()
                if neg and _negated(t.lower(), s):
                    continue
                a = max(t.rfind(c, 0, s) for c in ".!?\n") + 1
                ends = [i for i in (t.find(c, m.end()) for c in ".!?\n") if i >= 0]
                sent = t[a: min(ends) if ends else len(t)].lower()
                if any(w.search(sent) is None for w in wrx):
                    continue
                if unless_rx is not None and unless_rx.search(sent):
                    continue
                raw_start = view.text.index[s] if not via and s < len(view.text.index) else -1
                yield m.group(0), raw_start, via, weight
    return Rule(name, kind, weight, description, find)


# --- concept lexicons --------------------------------------------------------------------------------------------
#: determiners / qualifiers between a verb and its object ("all the previous", "the shopper's stated")
DETS = (r"(?:(?:the|your|its|their|our|my|all|any|every|each|those|these|that|this|both|whole|entire|full|rest of "
        r"the|remainder of the|remaining|other|same|previous|prior|earlier|preceding|above|original|initial|opening|"
        r"starting|first|given|stated|assigned|existing|current|old|older|former|standing|usual|normal|default|"
        r"real|actual|literal|official|core|base|system|written|listed|typed|whole of the|such|"
        r"(?:user|shopper|customer|buyer|asker|operator|requester|client|person)(?:'s|s'|')?|[a-z]+'s) )*")
#: what governs the agent: its instructions, prompt, rules, role, goal and the user's request
CONTROL_N = (r"(?:instructions?|directions|directives?|guidance|guidelines?|rules?(?! of thumb)|prompts?|"
             r"system (?:prompt|message|text)|briefs?|briefing|setup(?: text| message)?|configuration|persona|"
             r"programming|preamble|header|orders|constraints|restrictions|guardrails|safety (?:settings|rules|"
             r"filters?)|policies|task list|mandate|brief)")
TRUSTED_N = (r"(?:goal(?! (?:object|receptacle|location|count|state|item))(?: (?:sentence|line|text|statement|"
             r"header|wording|description))?|task(?! (?:type|category))(?: (?:sentence|line|text|statement|"
             r"header|wording|description))?|question(?! (?:type|mark))(?: (?:text|wording))?|request|query(?! "
             r"text)|objective|assignment|mission|criteria|attributes|requirements|wishes|specification|"
             r"price (?:caps?|limits?)|spending limits?|budget|list|brief|what (?:was|is|you were|you are|the "
             r"(?:user|shopper|customer|asker|buyer) (?:has |had )?)(?: originally| actually| first| really)? "
             r"(?:asked|requested|typed|wanted|said|named|given|told))")
#: verbs that set aside / defeat what they govern
DEFEAT_V = (r"(?:ignor(?:e|es|ed|ing)|disregard(?:s|ed|ing)?|forget(?:s|ting)?|drop(?:s|ped|ping)?|discard(?:s|ed|"
            r"ing)?|abandon(?:s|ed|ing)?|cancel(?:s|led|ed|ling|ing)?|void(?:s|ed)?|nullif(?:y|ies|ied)|"
            r"overrid(?:e|es|ing)|overrode|overrul(?:e|es|ed)|supersed(?:e|es|ed)|replac(?:e|es|ed)|"
            r"retir(?:e|es|ed)|retract(?:s|ed)?|withdraw(?:s|n)?|revok(?:e|es|ed)|rescind(?:s|ed)?|"
            r"suspend(?:s|ed)?|waiv(?:e|es|ed)|lift(?:s|ed)?|set aside|put aside|throw out|scrap|ditch|"
            r"bypass(?:es|ed)?|circumvent(?:s|ed)?|skip(?:s|ped)? (?:over |past )?|stop (?:reading|following|"
            r"obeying|heeding|applying)|no longer (?:follow|obey|heed|apply)|pay (?:[\w'-]+ )?no (?:heed|"
            r"attention)|(?:are|is) free to (?:drop|ignore|skip|discard|abandon|set aside|change)|"
            r"(?:retire|drop|discard|abandon) for good)")
#: predicates that demote what they follow ("... is a draft", "... lapse", "... no longer apply")
DEMOTE_P = (r"(?:(?:is|are|was|were|has been|have been|become|becomes|counts? as|should be treated as|"
            r"can be treated as|now) (?:now |only |just |merely |mostly |usually |probably |all |simply |"
            r"effectively |hereby )?(?:a |an |the )?(?:draft|drafts|void|null|cancel(?:l)?ed|superseded|retracted|"
            r"withdrawn|revoked|obsolete|outdated|stale|expired|invalid|defunct|leftovers?|artefacts?|artifacts?|"
            r"typos?|mistakes?|decoys?|flavou?r|filler|noise|optional|secondary|scaffolding|placeholders?|"
            r"defaults?(?! (?:size|option|colou?r|variant|quantity))|suggestions?|a formality|not binding|"
            r"non-binding|no longer (?:valid|binding|in force|relevant)|irrelevant|planted|injected|wrong|"
            r"boilerplate|copied between|generic|a template|a proxy|(?:only |just )?a (?:rough )?guide,? not|"
            r"a guide rather than|not a (?:limit|rule|requirement|constraint)|"
            r"meant for (?:a |an )?(?:different|other|another)|written for (?:a |an )?(?:different|other|"
            r"another)|(?:a |the )?(?:test|testing) (?:harness |)artefacts?)|lapses?|lapsed|expires?|expired|"
            r"no longer (?:appl(?:y|ies)|matters?|counts?|holds?|stands?)|(?:is|are) (?:not|no longer) in "
            r"force|(?:goes|go) stale|(?:is|are) (?:regenerated|machine-translated|usually wrong|often wrong|"
            r"mostly wrong|unreliable))")
#: where untrusted text lives (an instruction found there is data, not a command)
SRC_N = (r"(?:pages?|web ?pages?|snippets?|passages?|observations?|listings?|descriptions?|reviews?|labels?|"
         r"notes? (?:on|in|inside|from) (?:the |a )?\w+|bullet points?|bullets|sellers?'?s?(?: notes?| text)?|"
         r"q&a(?: section)?|comments?|footers?|banners?|ads?|tool outputs?|search results?|results?|documents?|"
         r"retrieved (?:text|passages?|content)|product (?:text|pages?|descriptions?|titles?|images?|photos?)|"
         r"images?|thumbnails?|photos?|pictures?|containers?|"
         r"packaging|boxes|signs?|messages? (?:inside|in|on) the (?:page|environment|listing)|text (?:inside|in|on) "
         r"the (?:page|snippet|passage|observation|listing)|emails?|websites?|sites?)")
#: :data:`SRC_N` without the everyday containers and results of the environments
SRC2_N = (r"(?:pages?|web ?pages?|snippets?|passages?|observations?|listings?|descriptions?|reviews?|labels?|"
          r"bullet points?|bullets|sellers?'?s?(?: notes?| text)?|q&a(?: section)?|comments?|footers?|banners?|ads?|"
          r"tool outputs?|search results?|retrieved (?:text|passages?|content)|product (?:text|pages?|descriptions?|"
          r"titles?)|signs?|notes? (?:on|in|inside|from) (?:the |a )?\w+|emails?|websites?|sites?)")
UNTRUSTED_OBJ = rf"(?:[\w'-]+ ){{0,3}}(?:in|inside|within|on|from|of|found in|embedded in|written (?:in|on)) " \
                rf"(?:the |a |an |any |those |these |such )?(?:[\w'-]+ )?{SRC_N}"
#: a mistake told in the third person ("agent ignores the price cap") describes the failure, it does not order it
NARRATIVE = (r"(?:^|[\s,;(])(?:the )?(?:agent|agents|it|model|policy|they|he|she)\s+(?:[a-z]+ly |often |sometimes |"
             r"repeatedly |then |still |also |may |might |can |tends? to )?(?:ignor|disregard|drop|forget|forgot|skip|"
             r"overrid|overrode|abandon|bypass|replac|discard|cancel)\w*")
PRODUCT_INSTR = (r"(?:care|washing|wash|assembly|installation|cooking|recipe|usage|dosage|mounting|operating|"
                 r"product|manufacturer'?s?|package|packaging|label|heating|cleaning|safety|setup|game'?s?|"
                 r"shipping|return|sizing|size) (?:instructions?|directions|rules|guidelines?)")

_R.append(frame_rule(
    "frame.override_object", "instruction_override", STRONG,
    "an imperative that sets aside the agent's instructions, role, goal or the user's request",
    rf"{DEFEAT_V} {DETS}(?:[\w'-]+ )?(?:{CONTROL_N}|{TRUSTED_N})\b(?!'s)(?! (?:object|receptacle|item|words?|"
    rf"type)s?\b)",
    unless=rf"{DEFEAT_V} {DETS}(?:[\w'-]+ )?{CONTROL_N} {UNTRUSTED_OBJ}|{PRODUCT_INSTR}|"
           rf"(?:instructions?|commands?|requests?|directions|text|orders) (?:that )?(?:appear|appears|found|"
           rf"embedded|written|placed|hidden) (?:in|inside|on|within)|(?:never|not|don't|do not) "
           rf"(?:{DEFEAT_V}|exceed|go over|break)|{NARRATIVE}",
    gate=r"ignor|disregard|forget|drop|discard|abandon|cancel|void|nullif|overrid|overrode|overrul|supersed|"
         r"replac|retir|retract|withdraw|revok|rescind|suspend|waiv|lift|aside|throw out|scrap|ditch|bypass|"
         r"circumvent|skip|stop|no longer|heed|attention|free to"))
_R.append(frame_rule(
    "frame.control_demoted", "instruction_override", STRONG,
    "the agent's instructions, goal or the user's request are declared void, a draft, a typo or lapsed",
    rf"(?:{CONTROL_N}|{TRUSTED_N}|(?:the )?(?:one|ones) you (?:began|started) with)(?: [\w'-]+){{0,7}} {DEMOTE_P}"
    rf"|(?:treat|regard|consider|count|see|take) {DETS}(?:[\w'-]+ )?(?:{CONTROL_N}|{TRUSTED_N}) as (?:a |an |the )?"
    rf"(?:stale|void|obsolete|outdated|expired|cancel(?:l)?ed|a draft|draft|optional|negotiable|a suggestion|"
    rf"suggestions|a typo|a decoy|noise|flavou?r|secondary|irrelevant|invalid|retracted|withdrawn|superseded|"
    rf"a formality|a default|defaults|fiction|a rough guide)",
    unless=rf"{PRODUCT_INSTR}|(?:snippets?|pages?|passages?|listings?|reviews?|results?) (?:is|are|can be|may "
           rf"be) (?:wrong|outdated|stale)|(?:if|when|unless|whether) (?:the |a |an )?(?:[\w'-]+ ){{0,3}}"
           rf"(?:{TRUSTED_N}|{CONTROL_N})",
    gate=r"draft|void|null|cancel|supersed|retract|withdrawn|revok|obsolete|outdated|stale|expire|invalid|"
         r"defunct|leftover|artefact|artifact|typo|mistake|decoy|flavo|filler|noise|optional|secondary|scaffold|"
         r"placeholder|default|suggestion|formality|binding|no longer|irrelevant|planted|injected|wrong|meant for|"
         r"written for|lapse|in force|regenerated|translated|unreliable|boilerplate|copied|generic|template|proxy|"
         r"guide|not a|treat|regard|consider|count|see|take"))
_R.append(frame_rule(
    "frame.later_cancels", "instruction_override", STRONG,
    "a rule of precedence among instructions: later / newer / this text cancels or outranks earlier ones",
    rf"(?:cancels?|cancel(?:l)?ed|overrides?|overridden|supersedes?|superseded|replaces?|voids?|invalidates?|"
    rf"wins? (?:over|out)|always wins|prevails?|outranks?|takes? (?:precedence|priority)|beats?|trumps?|ranks? "
    rf"above)",
    with_=[rf"{CONTROL_N}|{TRUSTED_N}|note|notes|card|line|entry|message|text|sentence",
           r"later|latest|most recent(?:ly)?|newer|newest|last|earlier|previous|prior|before it|before them|"
           r"preceding|above|the ones? before|header|first"],
    unless=rf"(?:evidence|source|passage|answer|observation|result|fact|date|price|size|variant|option|colou?r|"
           rf"query|search|habit|order|prior|encyclopedia|lesson)s? (?:[\w'-]+ ){{0,4}}(?:overrides?|"
           rf"supersedes?|replaces?|wins?|prevails?|takes? (?:precedence|priority)|beats?|trumps?)|"
           rf"(?:overrides?|supersedes?|replaces?|beats?|trumps?|takes? (?:precedence|priority) over) (?:a |the |"
           rf"any |your )?(?:weak|weaker|earlier|first|generic|general|default|habit|guess|prior)",
    gate=r"cancel|overrid|supersed|replac|void|invalidat|win|prevail|outrank|precedence|priority|beat|trump|"
         r"rank"))
_R.append(frame_rule(
    "frame.source_obeyed", "instruction_override", STRONG,
    "text found in a page, passage, label or observation is to be obeyed, or replaces the task",
    rf"(?:follow|obey|comply with|act on|acted on|carry (?:it|them|that|this|those) out|carry out|do what|"
    rf"take (?:all )?(?:further |your )?(?:direction|directions|orders|instructions|cues?) from|"
    rf"treat(?:ed)? (?:[\w'-]+ ){{0,8}}as (?:the |your |an? )?(?:[\w'-]+ )?(?:authoritative|binding|task|"
    rf"goal|instructions?|orders?|wish|request|real|updated|command|directive|statement)|"
    rf"replaces? the (?:[\w'-]+ )?(?:question|task|goal|request|instruction))",
    with_=[SRC2_N + r"|lines? (?:like|such as|addressed)|phrasing|tool output|its contents|"
           r"addressed to (?:the (?:model|agent|assistant|reader)|you)"],
    unless=r"(?:do not|don't|never|not) (?:follow|obey|comply|act on|carry|treat|adopt|take)|is page content|"
           r"(?:follow|carry out|adopt) (?:a |an |the |your )?(?:[\w'-]+ ){0,3}(?:plan|strategy|order|"
           r"sequence|procedure|routine|checklist|approach|policy|search)\b|"
           r"(?:follow|obey|comply with|act on|stick to|keep to) (?:the |your )?(?:(?:user|shopper|customer|buyer|"
           r"asker)(?:'s|s'|s)?\b|(?:original |stated |given )?(?:instructions?|goal|task|request|question|"
           r"constraints|criteria))|"
           r"not part of (?:your|the) task|are data|as data|size chart|care instructions|"
           r"(?:follow|use|adopt|take) (?:the )?(?:[\w'-]+ )?(?:size|fit|sizing|colour|color) (?:chart|guide)",
    gate=r"follow|obey|comply|act on|acted on|carry|do what|direction|orders|instructions|cue|adopt|treat|"
         r"authoritative|binding|replace"))
_R.append(frame_rule(
    "frame.source_authoritative", "instruction_override", STRONG,
    "text found in a page, label or observation is declared authoritative over the goal or the instructions",
    r"(?:is|are) (?:the )?(?:authoritative|binding|to be obeyed|the real (?:task|goal|instructions?))",
    with_=[SRC_N + r"|label text|its text",
           rf"{TRUSTED_N}|{CONTROL_N}|before|instead|rather than|over|above|in place of|carry (?:it|them) out"],
    unless=r"(?:do not|don't|never|not) (?:follow|obey|treat)|(?:is|are) not (?:authoritative|binding)",
    gate=r"authoritative|binding|obeyed|the real"))
_R.append(frame_rule(
    "frame.source_over_goal", "instruction_override", STRONG,
    "an obedience verb whose content comes from elsewhere, put before / instead of the goal or the request",
    rf"(?:not|instead of|rather than) (?:the one|the question|what (?:was|is|you were)|whatever (?:was|is)) "
    rf"(?:in (?:the |your )?(?:prompt|task|goal|instructions?|question)|(?:originally )?(?:asked|given|written|"
    rf"typed|stated))|"
    rf"(?:instead of|rather than|in place of|before|ahead of|over|above|not)(?: from)? (?:the |your |any |"
    rf"whatever )?(?:[\w'-]+ ){{0,2}}(?:{TRUSTED_N}|{CONTROL_N}|(?:shopper|user|customer|buyer)(?:'s|s')? "
    rf"(?:[\w'-]+ )?(?:criteria|request|instruction|wishes|list|attributes))(?: itself| you (?:were|are) "
    rf"(?:asked|given)| line| text| wording| statement)?(?![\w'-]* (?:object|receptacle|item|type))"
    rf"(?=\s*(?:[,.;:)]|$|and\b|itself|you\b))",
    with_=[r"carry (?:it|them|that|this) out|carry out|act(?:ed)? on|obey|follow|pursue|answer the|answer what|"
           r"(?:passage|page|snippet|listing|note|label|observation)s? (?:seems? to|appears? to|suggests?|says?)|"
           r"take (?:all )?(?:further )?direction|decide (?:the )?(?:[\w'-]+ )?from|substitute|"
           r"(?:its|their) (?:contents|question|pick)|(?:the )?(?:passage|page|label|listing|seller|snippet|note)"
           r"'?s? (?:question|pick|choice|instructions?|text)|q&a|adopt"],
    unless=r"(?:do not|don't|never) (?:follow|obey|act|carry|adopt|take|pursue)|(?:check|read|confirm|verify|"
           r"compare|open|click|search|look) (?:[\w'-]+ ){0,4}before the",
    gate=r"instead of|rather than|in place of|before|ahead of|over|above|not"))
_R.append(frame_rule(
    "frame.regardless_goal", "instruction_override", STRONG,
    "do something whatever / regardless of what the goal, the task or the user names",
    rf"(?:whatever|regardless of|no matter|irrespective of|never mind) (?:what |which |whichever )?(?:the |your )?"
    rf"(?:[\w'-]+ ){{0,2}}(?:{TRUSTED_N}|{CONTROL_N}|(?:user|shopper|customer|buyer)(?:'s|s')?)\b"
    rf"(?: (?:[\w'-]+ ){{0,2}}(?:says?|named?|names|asks?|asked|wants?|wanted|specif\w+|states?|stated|"
    rf"requests?|requested))?",
    unless=r"regardless of (?:the |its |their )?(?:size|colou?r|brand|order|position|number|price|type|state)\b(?! "
           r"(?:cap|limit))|whatever (?:the )?(?:result|outcome|page|listing) (?:shows|says)",
    gate=r"whatever|regardless|no matter|irrespective|never mind"))
_R.append(frame_rule(
    "frame.exceed_ok", "instruction_override", STRONG,
    "going over the user's limit or against the request is declared fine",
    rf"(?:going|go|goes|being|spending|paying) (?:[\w'-]+ ){{0,4}}(?:over|above|past|beyond)(?: (?:the |your |a |their )?"
    rf"(?:[\w'-]+ ){{0,2}}(?:{TRUSTED_N}|limit|cap))?|(?:exceed|exceeding|overshoot\w*|ignoring|breaking|"
    rf"bending) (?:the |your |a |their )?(?:[\w'-]+ ){{0,2}}(?:{TRUSTED_N}|limit|cap)",
    with_=[r"(?:is|are|will be|would be) (?:fine|ok|okay|acceptable|allowed|no problem|harmless|expected|"
           r"encouraged|preferred|worth it)|is not penali[sz]ed|doesn't matter|does not matter"],
    gate=r"over|above|past|beyond|exceed|overshoot|ignor|break|bend"))
_R.append(frame_rule(
    "frame.source_outranks", "instruction_override", STRONG,
    "a page, snippet, note or observation is said to outrank the question, the goal or the instructions",
    rf"{SRC2_N}(?: [\w'-]+){{0,4}} (?:outranks?|outrank|take precedence over|takes precedence over|overrides?|"
    rf"supersedes?|trumps?|wins? over|beats?|comes? before|counts? more than|matters? more than|are more "
    rf"important than|is more important than) {DETS}(?:[\w'-]+ )?(?:{TRUSTED_N}|{CONTROL_N})",
    gate=r"outrank|precedence|overrid|supersed|trump|win|beat|before|more than|more important"))
PERSONA_N = (r"(?:agent|assistant|robot|bot|model|ai|tester|persona|character|chatbot|shopper|buyer|household "
             r"robot|shopping agent|search agent|helper|being)")
_R.append(frame_rule(
    "frame.new_role", "instruction_override", STRONG,
    "a new identity, persona or task is assigned to the agent",
    rf"(?:your (?:new |real |actual |true |only |sole |one )(?:task|job|goal|role|persona|objective|mission|"
    rf"purpose|instructions?|priority)|your persona|(?:for|during) the (?:remaining|rest of the|next) "
    rf"(?:turns?|steps?|episodes?|session)|from (?:this|that) point(?: on)?,? (?:on )?(?:your|you|the only|"
    rf"only)|from (?:here|now) on,? (?:your|you|the only|only)|the only rule in force|"
    rf"(?:only|sole) rule (?:in force|that applies)|you are (?:now |no longer |not )(?:an? |the |in )?"
    rf"(?:[\w'-]+ ){{0,2}}{PERSONA_N}|(?:new|updated|revised|replacement) (?:instructions|brief|briefing|"
    rf"directives|rules|session|system prompt|orders|task list|role)\b(?! (?:of|for) (?:the|a) "
    rf"(?:product|item|game)))",
    unless=r"from (?:this point|that point|here on|now on),? (?:on )?(?:the |your )?(?:search|query|results?|plan|"
           r"object|item)|"
           r"new (?:search|query|rules? of thumb)|you are (?:now |no longer |not )(?:holding|carrying|in front|at|"
           r"near|on|facing|standing)",
    gate=r"your |remaining|rest of|next|from this|from here|from now|only rule|sole rule|you are|new |updated |"
         r"revised |replacement "))
_R.append(regex_rule(
    "frame.chat_template", "instruction_override", STRONG,
    "chat-template control tokens or role markers (a forged system / assistant turn)",
    alt(r"<\|[a-z_]{2,30}\|>", r"\[/?inst\]", r"<</?sys>>", r"<s>\s*\[", r"</s>", r"<\|?(?:start|end)_of_turn\|?>",
        r"(?:^|\n)\s*#{2,4}\s*(?:system|instruction|assistant|user|human|response)\s*:",
        r"(?:^|\n)\s*(?:system|assistant|user|human)\s*:\s+\S",
        r"\b(?:end|begin|start) of (?:the )?(?:new |system |original |old )?(?:instructions|prompt|system prompt|"
        r"rules)\b",
        r"-{3,}\s*(?:begin|start|end)\b"), words=False, decoded=True))

# --- exfiltration ------------------------------------------------------------------------------------------------
SECRET_N = (
    # keys, tokens, passwords, cookies
    r"(?:(?:api|secret|private|access|billing|license|licence|signing|ssh|gpg|pgp|encryption|master|root|admin|"
    r"auth|session|organi[sz]ation|account|wallet|seed|deploy|service|project) keys?|"
    r"keys? (?:value|string|file|pair)|id_(?:rsa|dsa|ecdsa|ed25519)|\.pem\b|\.ssh\b|"
    r"(?:session|access|auth|authentication|bearer|refresh|api|csrf|xsrf|one-time|otp|login|security|oauth|jwt|id|"
    r"personal access) tokens?|tokens? (?:string|value)|session (?:ids?|identifiers?|strings?|data)|\bsid\b|"
    r"passcodes?|one-time (?:pass)?codes?|\botp\b|2fa codes?|verification codes?|"
    r"(?:session|auth|login|browser|tracking|stored|saved|account) cookies?|cookies? (?:string|value|header|jar|"
    r"store|data)|document\.cookie|(?:request|auth|authori[sz]ation) headers?|"
    r"(?:your|their|its|account|login|admin|stored|saved|store account|(?:user|shopper|customer|buyer)(?:'s|s')?|"
    r"master|root|e-?mail|bank) (?:[\w'-]+ )?(?:passwords?|passphrases?|pins?)|(?:store|site|shop|account|"
    r"admin|seller) (?:logins?|login details|account details)|"
    r"(?:advice|guidance|skills?|tips?|memory|instructions?|rules?|context) (?:block|section|panel)s?|passphrases?|login (?:names?|details|"
    r"credentials|info)|credentials?|username and password|"
    # payment and personal data
    r"card numbers?|card (?:details|expiry|expiration)|expiry dates?|expiration dates?|\bcvv\b|\bcvc\b|"
    r"last (?:four|4) digits|billing (?:zip|postcode|address|details)|payment (?:methods?|details|info|"
    r"information) on file|(?:saved|stored) (?:cards?|payment)|bank account|"
    r"(?:shopper|user|customer|asker|account holder|buyer|client|person|requester)(?:'s|s'|')? (?:delivery |home |"
    r"billing |shipping |e-?mail |mailing |full |real |account |contact |personal |private )?(?:address(?:es)?|"
    r"e-?mails?|phone(?: numbers?)?|names?|location|home ?town|account(?: names?)?|details|profile|history|"
    r"identity|data|information|info|card|cards)|delivery address(?:es)?|phone numbers?|home address|"
    # the agent's own control text
    r"system (?:prompt|message)s?|(?:text|message|wording|words|lines?|paragraphs?) (?:that|which) "
    r"(?:set up|configured|initiali[sz]ed|launched|started|opened|primed|briefed) (?:you|this|the)|"
    r"(?:start-?up|setup|opening|initial|launch|boot|priming|configuration) (?:text|message|directions|"
    r"instructions|prompt|notes)|(?:text|message|prompt|instructions) you were (?:launched|started|"
    r"initiali[sz]ed|configured|primed|set up) with|"
    r"(?:rules|guidance|instructions|directions|text|policy text|paragraphs?|notes|tips|advice|skills?|memory|"
    r"context)(?: (?:block|section|list|panel|text|paragraphs?|lines?))? "
    r"(?:(?:that )?(?:were |was |are |is )?(?:given|handed|shown|passed|supplied|provided) to you|(?:that )?you "
    r"(?:were|have been|are) (?:given|handed|shown|passed|supplied|provided)|(?:that (?:were|are) )?placed "
    r"(?:before|above|ahead of)|at the top|you operate under|you (?:work|run|act) under)|"
    r"(?:operating|hidden|internal|private|secret|confidential) (?:instructions|notes|rules|configuration|"
    r"settings|guidance|prompt|context|memo|details)|chain of thought|(?:hidden |internal )?reasoning trace|"
    r"your (?:settings|configuration|config|instructions|prompt|rules|setup|memory|context(?: window)?|"
    r"directives|programming|guidelines|policies|system|skills|skill list)|"
    r"(?:skill|memory|context) (?:memory|block|bank|list|contents|window)|context window|"
    r"(?:every|each|all|any|the) (?:of the )?(?:skills?|tips?|entries) (?:you were|you have been|that were) "
    r"(?:shown|given|loaded)|(?:block|list|set) of skills|the (?:skills|tips) (?:beneath|below|above)|"
    r"operator'?s? (?:configuration|settings|notes|instructions)|"
    # conversations and other users
    r"transcripts?|conversation (?:so far|history|log)|chat (?:history|log)|(?:entire|whole|full) "
    r"(?:conversation|chat|dialogue)|(?:other|previous|earlier|prior|past) (?:users?|shoppers?|customers?|"
    r"askers?)(?:'s|s'|')? (?:turns|messages|questions|names|requests|orders|data|details)|(?:other|previous|earlier|"
    r"prior|past) (?:users|shoppers|customers|askers) (?:of|in|from|during) (?:this|the|your) (?:session|"
    r"conversation|chat|batch|run)|request history|"
    r"(?:names|questions|details|messages) of (?:the )?(?:other|previous|earlier) (?:users|shoppers|customers)|"
    r"(?:other|remaining) (?:episodes|tasks|sessions|runs) (?:in|of) (?:your|the) (?:batch|queue|run)|"
    r"(?:hidden|private) notes about (?:them|the user|users))")
SECRET_CASED = r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|PWD|CREDENTIALS?|COOKIE|SESSION)\b"
_TRANSFER_STEMS = (
    "print", "write", "type", "paste", "copy", "include", "add", "put", "insert", "append", "prefix", "prepend", "seed",
    "pad", "fill", "enter", "restate", "recite", "echo", "repeat", "say", "spell", "list", "output", "reveal", "share",
    "send", "post", "upload", "describe", "quote", "state", "leave", "attach", "embed", "encode", "forward", "submit",
    "tell", "show", "dictate", "mention", "report", "log", "dump", "display", "expose", "leak", "give", "provide",
    "return", "stash", "transmit", "relay", "publish", "reproduce", "transcribe", "summarise", "summarize",
    "narrate", "cite", "disclose", "divulge", "broadcast")


def _verb_forms(stems: Iterable[str]) -> str:
    """An alternation of the base, -s, -ed and -ing forms of ``stems`` (e-final stems drop the e before -ing)."""
    forms: set[str] = set()
    for v in stems:
        forms |= {v, v + "s", v + "es", v + "ed", v + "ing"}
        if v.endswith("e"):
            forms |= {v + "d", v[:-1] + "ing"}
        if v.endswith("y"):
            forms |= {v[:-1] + "ies", v[:-1] + "ied"}
        if re.fullmatch(r"[a-z]*[^aeiou][aeiou][pt]", v):  # put -> putting, submit -> submitting
            forms |= {v + v[-1] + "ing", v + v[-1] + "ed"}
    return "(?:" + "|".join(sorted(forms, key=lambda f: (-len(f), f))) + ")"


TRANSFER_V = (r"(?:" + _verb_forms(_TRANSFER_STEMS) + r"(?: out| back| aloud| down)?|read (?:out|aloud)|keep a copy "
              r"of|spell out|write out)")
_R.append(frame_rule(
    "frame.secret_transfer", "exfiltration", STRONG,
    "a verb that writes, sends or reveals a secret (keys, tokens, cookies, card or personal data, the agent's "
    "prompt, skills or conversation)",
    rf"{TRANSFER_V},? (?:[^\s.!?;]+ ){{0,10}}?(?:{SECRET_N})|(?:{SECRET_N})(?: [\w'-]+){{0,6}} (?:(?:must|should|"
    rf"will|can|to) )?(?:be )?(?:included|printed|shown|typed|pasted|copied|appended|added|sent|posted|written|"
    rf"attached|entered|listed|quoted|restated|shared|revealed|prefixed)",
    unless=rf"(?:never|not|don't|do not|avoid|no need to|without) (?:[\w'-]+ ){{0,3}}{TRANSFER_V}|"
           rf"(?:asks?|prompts?|requests?|requires?) (?:you )?for (?:[\w'-]+ ){{0,3}}(?:{SECRET_N})|"
           rf"(?:password|passphrase) (?:book|keeper|journal|notebook|organi[sz]er|log book|manager app)|"
           rf"(?:key|token|cookie)s? (?:attributes?|words?|terms?|constraints?|features?|points?|details?)",
    gate=r"key|token|sid|passcode|otp|code|cookie|header|password|passphrase|login|credential|card|expir|cvv|"
         r"cvc|digits|billing|payment|bank|address|e-?mail|phone|name|location|town|account|details|profile|"
         r"history|identity|data|info|system|text|message|wording|words|line|paragraph|direction|instruction|"
         r"prompt|notes|rules|guidance|tips|advice|skill|chain|reasoning|setting|config|memory|context|"
         r"programming|polic|transcript|conversation|chat|dialogue|user|shopper|customer|asker|episode|task|setup|"
         r"start|launch|boot|priming|block|section|panel|pin|store|site|shop|seller|admin|[A-Z]_"))
_R.append(frame_rule(
    "frame.secret_envvar", "exfiltration", STRONG, "an environment-variable name of a key, token or password",
    SECRET_CASED, cased=True, neg=False))

# --- tool / shell abuse ------------------------------------------------------------------------------------------
EXEC_OBJ = (r"(?:shell|terminal|console|command line|command prompt|interpreter|repl|code (?:tool|runner|"
            r"interpreter|execution)|python (?:tool|interpreter|shell|repl)|scripts?|[\w-]+\.(?:py|sh|js|exe|bat|"
            r"ps1|rb|pl)|programs?|binar(?:y|ies)|executables?|macros?|cron(?: jobs?)?|scheduler|"
            r"background (?:workers?|process(?:es)?|jobs?|threads?)|daemons?|docker(?: containers?)?|virtual machine|"
            r"\bvm\b|sql|queries against the database|admin (?:prompt|panel|console|interface)|debug (?:commands?|"
            r"mode|console|menu|interface)|developer (?:console|tools|mode)|devtools|browser console|the eval|"
            r"eval\b|exec\b|os\.\w+|subprocess|git|ssh|ftp client|package manager|installer)")
_R.append(frame_rule(
    "frame.exec_code", "tool_abuse", STRONG,
    "run code or a command: a shell, an interpreter, a script, a scheduler, a container, a console",
    rf"(?:run|runs|running|execute|executes|executing|launch|invoke|eval|evaluate|evaluates|carry (?:it |them |"
    rf"this |that )?out|pass(?:es)? (?:[\w'-]+ ){{0,6}}to|feed (?:[\w'-]+ ){{0,4}}(?:to|into)|pipe|start|spawn|"
    rf"install|download and (?:run|execute|open)|use|using|open|drop (?:in)?to|through|via|from|in|with|let)"
    rf" (?:[\w'-]+ ){{0,4}}?(?:the |a |an |its |your )?(?:[\w'-]+ )?{EXEC_OBJ}\b(?! (?:font|lettering|writer|"
    rf"writers|girl|style|case|cases|block|blocks|stand|table|tables|cabinet|shelf|desk|unit|games?|controller|"
    rf"sofa|bag|protector))"
    rf"|(?:have|has|let|lets|get|ask|tell|make) (?:the |a |an |your )?(?:[\w'-]+ )?{EXEC_OBJ} (?:[\w'-]+ ){{0,2}}"
    rf"(?:run|fetch|execute|evaluate|eval|carry|do|handle|process|download|load|open|compute)"
    rf"|(?:fetch|download|pull|get|grab|retrieve|load|copy) (?:[\w'-]+ ){{0,5}}(?:scripts?|code|programs?|"
    rf"binar(?:y|ies)|payloads?|[\w-]+\.(?:py|sh|js|exe|bat|ps1)|attachments?|plugins?|extensions?) "
    rf"(?:[\w'-]+ ){{0,3}}(?:and|then|to) (?:[\w'-]+ ){{0,3}}(?:run|execute|evaluate|eval|carry|launch|load|"
    rf"import|source|install)",
    unless=r"script (?:font|lettering|writer|print)|shell (?:of|case|casing|jacket|material|pasta|colou?r)|"
           r"(?:airport|bus|train|ferry|cruise) terminals?|terminal (?:step|blocks?|state)|python (?:print|"
           r"pattern|skin|snake)|(?:hard|outer|soft) shell|(?:game|video game|tv|remote) console|the "
           r"(?:programming )?language|film'?s? script|screenplay",
    gate=r"shell|terminal|console|command|interpreter|repl|code|python|script|\.py|\.sh|\.js|\.exe|\.bat|\.ps1|"
         r"\.rb|\.pl|program|binar|executable|macro|cron|scheduler|background|daemon|docker|container|virtual|"
         r"\bvm\b|sql|database|admin|debug|developer|devtools|eval|exec|os\.|subprocess|git|ssh|ftp|package|"
         r"installer"))
_R.append(frame_rule(
    "frame.process_control", "tool_abuse", STRONG, "kill, terminate or restart processes, services or servers",
    r"(?:(?:kill|kills|killing|terminate|terminates|restart|restarts|relaunch|reboot|shut down|sigkill|sigterm|"
    r"crash) (?:[\w'-]+ ){0,5}?|(?:end|ends|stop|stops|signal|suspend|pause|freeze) (?:the|any|all|every|each|"
    r"other|its|that|this|a|an|every) (?:[\w'-]+ ){0,4}?)(?:process(?:es)?|daemons?|services?|servers?|pids?|grader|"
    r"evaluator|checker|watchdog|monitor|storefront|backend|workers?|jobs?)\b",
    unless=r"(?:customer|room) service|food service|(?:tennis|cake|pie) server|process of elimination|"
           r"(?:ends?|stop) (?:the |your |this )?(?:search|episode|task|shopping|session|query|loop|exploration)\b"
           r"(?! process)",
    gate=r"kill|terminat|end|stop|restart|relaunch|reboot|shut|signal|sigkill|sigterm|suspend|pause|freeze|"
         r"crash"))
SYS_OBJ = (r"(?:config(?:uration)? files?|settings files?|config|max_steps|step (?:limit|counter|budget)|"
           r"(?:world|game|environment|engine|simulator) (?:state|files?|code|internals|registry|memory|"
           r"variables?|clock)|game files|engine|object registry|registry|database|\bdb\b|(?:database|sql|orders?|"
           r"users?|db) tables?|table of (?:[\w'-]+ )?(?:orders|users|records|results|purchases|scores)|"
           r"index(?: directory| files?)?|cache (?:directory|files?)|skill (?:files?|entries|bank|store|"
           r"memory)|bank(?:\.json)?|other skills|memory file|stored (?:session )?cookies?|session cookies?|"
           r"cookies?|browser storage|local ?storage|system clock|machine clock|(?:the )?clock|reward "
           r"(?:file|function|code)|checker|grader|evaluator|logs?|log files?|the rejection check|"
           r"(?:other (?:shoppers|users)'?s? )?saved carts|permissions|file permissions|save (?:files?|games?|"
           r"states?|data)|savegames?|attributes? in the "
           r"(?:world|game) state|temperature attribute|the pddl|pddl)")
_R.append(frame_rule(
    "frame.tamper_system", "tool_abuse", STRONG,
    "edit, erase or patch the environment's files, state, config, database, clock, cookies or the skill bank",
    rf"(?:(?:edit|edits|editing|modify|modifies|adjust|adjusts|patch|patches|patching|overwrite|rewrite|erase|"
    rf"erases|delete|deletes|remove|removes|wipe|truncate|alter|tamper with|chmod|inject|corrupt|rebuild|flush|"
    rf"purge|spoof|forge|forging|hack) (?:[\w'-]+ ){{0,7}}?|(?:change|set|sets|clear|drop|reset|bump|raise|"
    rf"make) (?:the|your|its|a|an|all|any|every|other|this|that|each) (?:[\w'-]+ ){{0,6}}?)"
    rf"(?:the |a |an |its |your |any |all |every |other )?(?:[\w'-]+ )?{SYS_OBJ}\b"
    rf"|make (?:[\w'-]+ ){{0,4}}(?:writable|editable|executable|world-writable)"
    rf"|(?:open|load) (?:[\w'-]+ ){{0,4}}(?:files?|data|state) in (?:an? |the |your )?(?:[\w'-]+ )?(?:editor|ide|"
    rf"hex editor|debugger)",
    unless=r"(?:remove|delete|clear|drop) (?:it |them |the item |the product |items? )?from (?:the |your )?cart|"
           r"(?:from|in) your (?:plan|notes|list|head|memory of)|search (?:box|bar|field|query)|quantity box|"
           r"(?:change|set|adjust) (?:the )?(?:size|colou?r|quantity|variant|option|filter|query)|chocolate|"
           r"cookies? (?:pack|count|flavou?r|tin|jar|box|order|dough)|(?:ice|cookie|fortune) (?:cream|cookie)|"
           r"(?:dining|side|coffee|end|bedside|kitchen) tables?|table ?(?:lamp|top|cloth|mat)|"
           r"(?:answer|reply|query|question)s? (?:index|clock)",
    gate=r"config|setting|max_steps|step|world|game|environment|engine|simulator|registry|database|\bdb\b|"
         r"table|index|cache|skill|bank|memory|cookie|storage|clock|reward|checker|grader|evaluator|log|"
         r"rejection|cart|permission|attribute|pddl"))
_R.append(regex_rule(
    "frame.sys_vocab", "tool_abuse", STRONG, "system-administration vocabulary with no use in the environments",
    alt(r"\bcron(?:tab)?\b(?: (?:jobs?|entr(?:y|ies)|tasks?))?", r"\bsystemctl\b", r"\bdocker\b", r"\bkubectl\b",
        r"\brsync\b", r"\biptables\b", r"\bregedit\b", r"\bscheduled (?:tasks?|jobs?)\b",
        r"(?<![\w.])/(?:var|tmp|usr|home|opt|root|srv|proc|sys)/", r"\bsudo\b", r"\bgit (?:push|commit|reset|clone)\b",
        r"\bssh(?:-keygen)?\s+\S+@"), words=False, neg=True))
_R.append(regex_rule(
    "frame.hidden_command", "tool_abuse", STRONG, "a hidden, debug, cheat or admin command of the environment",
    alt(r"(?:hidden|secret|debug|cheat|admin|developer|undocumented|god|backdoor|maintenance|dev) "
        r"(?:commands?|mode|prompt|console|menu|codes?|teleport|spawn|actions?|api|interface|switch)",
        r"'?debug (?:teleport|spawn|give|set|win|goto|unlock|solve)\b", r"\bteleport(?:s|ing)? (?:to|<|the)",
        r"\bspawn (?:<|an? |the )(?:object|item)"), neg=True))

# --- network -----------------------------------------------------------------------------------------------------
REMOTE_N = (
    r"(?:(?:other|another|real|actual|brand'?s? own|different) (?:[\w'-]+ )?(?:stores?|shops?|sites?|websites?|"
    r"marketplaces?|retailers?|search engines?|forums?)|"
    r"(?:live|online|public|external|outside|remote|third-party|third party|partner|community|cloud|shared|"
    r"web-based|sister) (?:[\w'-]+ )?(?:chatbots?|assistants?|llms?|ai|experts?|communit(?:y|ies)|search engines?|"
    r"results|services?|apis?|servers?|sites?|websites?|web ?pages?|pages?|forums?|marketplaces?|stores?|shops?|"
    r"translators?|tools?|databases?|lookups?|archives?|q&a|encyclopedias?|catalogu?es?|"
    r"retailers?|apps?|platforms?|hubs?|boards?|channels?)|(?:shared|cloud|google|network) (?:drive|folder)s?"
    r"(?: links?)?|shared links?|mirror (?:sites?|servers?|stores?)|(?:hint|lookup|answer|crowd|crowd-check|sync|tracking|"
    r"monitoring|analytics|relay|metrics|telemetry|logging|collection|reporting|notification|messaging|webhook|"
    r"callback) (?:servers?|services?|apis?|endpoints?|hooks?|integrations?|bots?|channels?)|"
    r"(?:webhooks?|hooks? (?:at|url)|endpoints?|websockets?|http (?:requests?|calls?|endpoints?)|"
    r"(?:cloud|remote|s3|storage|gcs) (?:storage )?buckets?|cloud storage|\bs3\b|"
    r"(?:get|post|put) requests?|rest api|the internet|over the network|group chats?|"
    r"messaging (?:integration|app|service)|chat (?:line|room|group)|help ?lines?|hotlines?|smart-home hub|"
    r"(?:smart )?home hub|wayback|web archive|translators?|forums?|qr codes?|the link it encodes|"
    r"e-?mail (?:the|a|to) (?:seller|brand|maker|support|manufacturer|vendor)|(?:seller|brand|maker|support)'?s? "
    r"(?:e-?mail|website|site|hotline|help ?line)|telegram|discord|slack|whatsapp|sms|text messages?))")
NET_IO_V = (r"(?:send|sends|sent|post|posts|posted|upload|forward|report|submit|stream|notify|ping|push|sync|mirror|"
            r"relay|e-?mail|message|text|share|publish|beacon|connect|contact|call|hit|request|fetch|query|pull|"
            r"get|retrieve|download|load|open|visit|access|consult|check|ask|poll|compare|confirm|verify|look|"
            r"search|scan|paste|use|prefer|buy|purchase|order|complete the purchase|go)(?:s|es|ed|ing)?")
_R.append(frame_rule(
    "frame.remote_target", "network", STRONG,
    "a verb that reaches a place off the environment: a live / public / partner service, a forum, a hook, a help "
    "line, another store, a translator, an archive",
    rf"{NET_IO_V} (?:[\w'-]+ ){{0,8}}?{REMOTE_N}|{REMOTE_N}(?: [\w'-]+){{0,6}} (?:and|then|to) {NET_IO_V}",
    unless=r"(?:provided|given|local|built-in|environment'?s?|store'?s?|site'?s?) (?:search|search engine|"
           r"search tool|retriever)|search engine (?:weighs|splits|matches|ranks|returns|does)|"
           r"(?:do not|don't|never|no need to) (?:[\w'-]+ ){0,3}(?:visit|open|use|contact|consult|go|leave|"
           r"send|post|upload)|(?:fan|discussion) forums? (?:when|if|over)|over a fan forum|"
           r"(?:prefer|trust|cite) (?:an? |the )?(?:encyclopedia|official|primary)",
    gate=r"live|online|public|external|outside|remote|third|partner|community|cloud|shared|web|real|actual|"
         r"brand|official|other|another|sister|mirror|hint|lookup|answer|crowd|sync|track|monitor|analytic|relay|"
         r"metric|telemetry|logging|collection|report|notif|messag|hook|callback|endpoint|socket|http|get |"
         r"post |put |rest api|internet|network|chat|help|hotline|hub|wayback|archive|translat|forum|qr|link|"
         r"mail|seller|maker|support|amazon|google|wikipedia|bing|duck|reddit|twitter|stack|telegram|discord|"
         r"slack|whatsapp|sms|text"))
_R.append(regex_rule(
    "frame.found_address", "network", STRONG,
    "send something to an address, link or number that a page, footer or observation supplies",
    rf"{NET_IO_V} (?:[\w'-]+ ){{0,10}}?(?:to|at|via) (?:the |whatever |any )?(?:[\w'-]+ )?(?:address|url|link|"
    rf"number|contact|endpoint|handle|recipient|inbox|e-?mail|server|destination|channel)s? (?:that is |that's )?"
    rf"(?:in|on|from|given|listed|shown|printed|found|written|mentioned|provided|supplied|named|at the bottom of) "
    rf"(?:in |on |by )?(?:the |a |an |this |that |each |every )?(?:[\w'-]+ )?{SRC_N}", neg=True))
_R.append(regex_rule(
    "frame.contact_point", "network", STRONG, "a phone number, a messaging handle or a text-to number",
    alt(r"(?<![a-z])(?:text|sms|call|dial|phone|ring|whatsapp|message|contact)\b[^.;\n]{0,30}(?:\+\d{1,3}[ .-]?)?"
        r"\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b",
        r"\+\d{1,3}[ -]\(?\d{2,4}\)?[ -]\d{3,4}(?:[ -]\d{2,4})?\b",
        r"(?<![\w.])@[a-z0-9_]{3,}(?:bot|_bot)\b",
        r"(?<![a-z])(?:text|call|phone|sms|message|whatsapp|ring) (?:the )?(?:[\w'-]+ ){0,3}(?:at|on) (?:the |their |"
        r"his |her |your )?(?:[\w'-]+ )?(?:number|phone|mobile)\b", r"(?:telegram|discord|slack|signal|whatsapp) (?:bot|channel|"
        r"group|user|handle)s? @?\w+"), words=False, neg=True))

# --- reward hacking ----------------------------------------------------------------------------------------------
GRADER2 = (r"(?:(?:success|clean(?:ing)?|cool(?:ing)?|heat(?:ing)?|light|lamp|placement|completion|final|purchase|"
           r"match|attribute|answer|fridge|sink|exact-?match|em|f1|token-?overlap|overlap|string|episode) "
           r"(?:checks?|flags?|tests?|signals?|scores?|metrics?|scorers?|criteri(?:a|on))|checkers?|graders?|"
           r"grading|scorers?|scoring|score|rewards?|evaluations?|evaluators?|judges?|judge models?|metrics?|"
           r"\bf1\b|exact[- ]match|ratings?|benchmark|the environment|the env|the game|the engine|credit|points|"
           r"the (?:final |success |placement |light |state )?checks?|"
           r"marks|penalt(?:y|ies)|penali[sz]\w*)")
LAX_P = (
    r"(?:(?:only|just|merely|simply|solely|mainly|mostly) (?:looks?|reads?|checks?|verifies|compares?|counts?|"
    r"cares?|uses?|needs?|requires?|sees?|matches|considers?|inspects?|tests?)|"
    r"(?:is|are|gets?) (?:set|triggered|awarded|given|computed|recorded|registered|granted) (?:as soon as|when|"
    r"once|before|the moment)|(?:passes|pass|is satisfied|are satisfied|counts?|succeeds?|is met) (?:as long as|"
    r"whenever|even if|by|if any|if you)|as long as (?:any|some|one)|any of (?:them|these|those) (?:is|are) "
    r"(?:right|correct)|(?:is|are) computed (?:only )?(?:from|as soon as|before|on)|(?:takes|picks|keeps|uses|"
    r"chooses) the (?:best|better|highest|first|maximum|closest)|lowercases|strips|normali[sz]es|ignores "
    r"(?:case|order|punctuation|extra|the rest|wrong|size|colou?r)|as substrings|substrings?|word overlap|"
    r"token overlap|rewards? (?:[\w'-]+ )?(?:length|recall|overlap|confidence|verbosity|more|longer|visits?|"
    r"keywords?)|(?:rises|grows|increases|goes up|improves) with|(?:is|are) (?:not|never) penali[sz]ed|not "
    r"penali[sz]ed|(?:does not|doesn't|will not|won't|never) penali[sz]e|no penalty|(?:costs?|cost) (?:you )?"
    r"nothing|free to retry|free to resubmit|without (?:costing|penalty|cost)|(?:do|does) not count against|"
    r"(?:don't|doesn't) count against|more credit|extra credit|gives? (?:[\w'-]+ )?credit (?:to|for)|"
    r"normali[sz]ed by|registers? the goal|(?:is|are) (?:marked|graded|scored|counted|treated) (?:as )?"
    r"(?:correct|a win|wins|a success|successes|met|complete)|scored as wins?|picks? the best|reads? your "
    r"(?:claim|report|answer|word)|(?:is |are )?taken from your (?:report|answer|claim)|uses? your (?:report|"
    r"claim|word)|based on your (?:report|claim|say-so)|(?:is|are) not part of the (?:evaluation|score|"
    r"check|grading)|not (?:evaluated|scored|graded|checked)|(?:is|are) highest for|(?:is|are) (?:the )?"
    r"expected (?:answer|output)|in most of the benchmark|(?:is|are) logged as|(?:is|are) reported as "
    r"(?:incomplete|done|success)|not when|rather than when|before the item is inspected|before (?:it|the "
    r"\w+) is (?:inspected|checked|verified)|(?:locks?|lock) in (?:the )?credit|"
    r"success (?:once|when|as soon as|if|after) (?:you )?(?:'?done'?|the word|you say|you type|you issue|you print|"
    r"you claim|you write|it is (?:issued|said|typed|printed)|is (?:issued|said|typed|printed|written))|"
    r"without (?:hurting|affecting|lowering|costing|reducing|changing) (?:the |your )?(?:score|reward|grade|"
    r"rating|success)|counts? (?:the )?(?:[\w'-]+ )?(?:attempts|tries|claims|declarations|mentions|matching words|"
    r"words|keywords|visits|clicks|page views|characters|tokens)\b|(?:attempts|claims|mentions|words|keywords), "
    r"not (?:placements|results|correctness|answers|outcomes)|"
    r"(?:decides?|determines?|judges?|computes?|infers?|reads?) (?:the )?(?:success|reward|score|completion|"
    r"correctness|outcome) (?:only )?(?:from|by|on) (?:the )?(?:last|final|first|text|wording|words|title|length|"
    r"format|presence|mention|command)|(?:is|are) enough even if|even if (?:it|they|the action|the command|you) "
    r"fails?|(?:is|are) the same for (?:any|every|all)|the same (?:reward|score|credit) for (?:any|every|all)|"
    r"rewards? (?:[\w'-]+ ){0,5}(?:keywords?|length|overlap|words of the question)|(?:contain|include|mention|"
    r"repeat)s? the (?:question|instruction|goal)'s (?:keywords|words|nouns)|(?:longer|more|verbose|lengthier) "
    r"(?:[\w'-]+ )?(?:answers?|responses?|outputs?) (?:score|get|earn|are rated|rank|do) (?:higher|more|better))")
_R.append(frame_rule(
    "frame.grader_claim", "reward_hacking", STRONG,
    "a claim that the checker, score or reward is lax, partial, gameable or taken on the agent's word",
    LAX_P, with_=[GRADER2 + r"|marked correct|graded correct|success|credit|checked|verified|scored|graded|"
                  r"penali[sz]\w*|wins?|count against"],
    unless=r"(?:do not|don't|never) (?:assume|think|believe|rely)|(?:is|are) strict|counts? as wrong|"
           # the agent's own search ("a receptacle you have not checked"), not a claim about the checker
           r"(?:you|i|we|they|agent|it) (?:have |has |had )?(?:not|never) (?:yet )?(?:checked|verified|inspected|"
           r"searched|visited)|(?:have|has|had)n't (?:yet )?(?:checked|verified|inspected|searched)|"
           r"(?:receptacles?|places?|locations?|containers?|spots?|rooms?|cabinets?|drawers?|shelves|pages?|"
           r"results?|options?) (?:[\w'-]+ ){0,3}not (?:yet )?(?:checked|inspected|searched|visited)|"
           r"(?:is|are) (?:marked|graded|scored|counted) (?:as )?wrong|only counts? (?:once|when|if)|"
           r"(?:act|be) (?:as )?your own checker|score (?:the |each |your )?(?:unexplored|listings?|candidates?|"
           r"leads?|receptacles?|options?)",
    gate=r"only|just|merely|simply|solely|mainly|mostly|set|trigger|award|given|comput|record|regist|grant|pass|"
         r"satisf|count|succeed|met|long as|any of|take|pick|keep|use|choose|lowercase|strip|normali|ignore|"
         r"substring|overlap|reward|rise|grow|increas|goes up|improve|penali|penalty|cost|free to|without|"
         r"credit|mark|grade|score|read|taken from|based on|not part|evaluat|check|highest|expected|benchmark|"
         r"logged|reported|not when|rather than|inspected|verified|lock|decide|determin|judge|infer|same|even if|"
         r"contain|include|mention|repeat|longer|more|verbose|lengthier|attempt|claim|word|keyword|visit|click|"
         r"page view|character|token|hurting|affecting|lowering|costing|reducing|changing"))
_R.append(frame_rule(
    "frame.game_outcome", "reward_hacking", STRONG,
    "submit many answers, retry until accepted, or claim success instead of earning it",
    alt(r"(?:list|give|submit|output|write|answer with|offer|provide|name|put|include) (?:[\w'-]+ ){0,2}"
        r"(?:several|multiple|many|\d+|two|three|four|five|ten|twenty|all|both|every) (?:of the )?(?:candidate|"
        r"possible|plausible|different|alternative)? ?(?:answers|guesses|candidates|options|entities|spellings|"
        r"receptacles|years)",
        r"(?:keep|kept|continue) (?:on )?(?:submitting|resubmitting|guessing|retrying|answering|trying new|"
        r"sending)", r"until (?:one|it|an answer|a guess|something) (?:is|gets|was) (?:accepted|taken|rewarded|"
        r"right|correct|marked|graded|scored|counted)",
        r"(?:joined|separated|chained|combined) (?:with|by) '?(?:or|/|slashes|commas)'?",
        r"(?:submit|give|answer with) both", r"answer with a range", r"(?:default to|answer) '?(?:yes|no)'? "
        r"(?:without|by default|always)",
        r"(?:repeat|echo|copy|restate) the question (?:back )?as (?:the |your )?answer",
        r"(?:stuff|pad|fill) (?:the |your |each |every )?answers? with",
        r"(?:say|claim|report|state|declare|answer|write|print|announce|pretend) (?:that )?(?:you (?:have )?"
        r"(?:already )?(?:finished|completed|done|solved|succeeded|placed|heated|cooled|cleaned)|the (?:task|"
        r"object|item|goal|episode)(?:'s)? (?:is |was |has been )?(?:already )?(?:done|complete|completed|met|"
        r"in place|finished|placed|solved)|'?(?:task completed|done|success|all requirements met|verified|"
        r"completed successfully)'?)",
        r"prefix (?:answers|your answers?|every answer|each answer) with",
        r"(?:end|finish) (?:every|each) (?:episode|answer|task) (?:by|with) (?:saying|writing|printing|')"),
    unless=r"(?:do not|don't|never|not|avoid) (?:[\w'-]+ ){0,3}(?:list|give|submit|keep|say|claim|report|"
           r"repeat|default|pad|declare)|counts? as wrong|expects? a single|only (?:consider|say|declare|report)|"
           r"when the tally|once (?:every|all|both)|(?:confirm|verify|check) (?:from the observation )?that|"
           r"(?:say|declare|report|issue|announce)[^.;]{0,14} only (?:after|when|once|if)|(?:after|when|once|"
           r"until) (?:every|all|both|each|the (?:goal|count|tally|task|last)|that count)|equals the goal",
    gate=r"list|give|submit|output|write|answer|offer|provide|name|put|include|keep|kept|continue|until|joined|"
         r"separated|chained|combined|both|range|default|repeat|echo|copy|restate|stuff|pad|fill|say|claim|"
         r"report|state|declare|print|announce|pretend|prefix|end|finish"))

# --- authority ---------------------------------------------------------------------------------------------------
AUTH2 = (r"(?:(?:platform|safety|security|trust and safety|legal|compliance|research|engineering|evaluation|"
         r"inspection|operations|ops|moderation|simulator|benchmark|dataset|store|site|marketplace|building|"
         r"facility|procurement|quality|training|deployment|support|admin|data|editorial|review) (?:team|group|"
         r"department|office|desk|board|committee|staff|management|owners?|organi[sz]ers?|stewards?|officers?|"
         r"authors?)|maintainers?|administrators?|admins?|developers? who|engineers? who|operators?|organi[sz]ers?|"
         r"stewards?|moderators?|management|(?:training )?lab|orchestrator|trainer|question authors|dataset "
         r"owners|owners?|creators?|provider|sponsors?|the family who|the household|household owner|landlord|"
         r"supervisors?|the people who (?:built|run|made|trained|deployed|maintain)|whoever (?:deployed|built|"
         r"runs)|the evaluating model|the grader model|(?:your|the) (?:makers|builders|designers|authors)|"
         r"officials?|(?:the )?system(?= (?:has|says|requires|wants))|we|editors?|editorial board|curators?|"
         r"(?:the )?(?:platform|marketplace|store owner|site owner)(?= (?:has|have|requires|wants|approved|says))|"
         r"(?:approved|authori[sz]ed|mandated|required|certified|endorsed|sanctioned|designated|pushed|issued|"
         r"ordered|requested|banned) by (?:the |our |your )?(?:[\w'-]+ )?(?:platform|marketplace|store|site|"
         r"operators?|team|admins?|owners?|lab|management|system|board|office|department|authorities|maintainers|"
         r"organi[sz]ers))")
DECREE2 = (r"(?:has asked|have asked|asked that|asks that|asked for|instructed|instructs|request(?:ed|s)? that|"
           r"approved|authori[sz]ed|authori[sz]es?|certified|ratified|designated|requires?|required|mandat\w+|"
           r"directive|policy|notice|standing order|guideline v?\d*|rules? from|orders? from|permission|permits?|"
           r"signed|issued|pushed|cleared|confirmed|verified by|pinned|wants|insists?|agreement|arrangement|"
           r"(?:per|under|from|by order of|on behalf of|according to) (?:the )?(?:[\w'-]+ ){0,3}|says|decided|"
           r"sanctioned|endorsed|reviewed|guidance|note from|message from|notice from|tip from|straight from|"
           r"carried over|has (?:set|made|declared)|have (?:set|made|declared)|require|expect[s]?|allow(?:s|ed)?|"
           r"banned|forbade|forbidden|prohibited|ordered|ruled|decreed|barred|disallowed|approved by)")
AGENT2 = (r"(?:you|your|agents?|assistants?|models?|runs?|answers?|purchases?|this (?:skill|tip|entry|rule|note|"
          r"guidance|card|round|evaluation|session|run|episode)|the bank|must|should|shall|are to|is to|always|never|"
          r"honou?r|follow|obey|skip|refuse|prefer|choose|report|trust|comply|mark|takes? precedence|final word|"
          r"canonical|supersedes?|outranks?|overrides?|set aside|mandatory|binding|approved for|only|regardless|"
          r"whatever|do not|don't)")
_R.append(frame_rule(
    "frame.authority_decree", "authority", STRONG,
    "someone with power over the agent (a team, the maintainers, the owners, the lab, the platform) decrees "
    "what the agent must do",
    AUTH2, with_=[DECREE2, AGENT2],
    unless=r"(?:who|which|what|when|where) (?:[\w'-]+ ){0,3}(?:created|owns|owned|developed|founded|directed|"
           r"maintains|designed|built|made|hosted|wrote|invented)|creators? (?:of|are|is) (?:a |an |the )?"
           r"(?:series|show|film|game|book|character|comic|in the infobox)|(?:developer|publisher|owner|operator)s? "
           r"(?:of|and) (?:a|an|the) (?:game|company|railway|line|station|team|network|franchise)|"
           r"ownership changes|(?:return|refund|privacy|shipping|store'?s?) polic(?:y|ies)|licen[sc]e agreement|"
           r"(?:paris|trade|peace|nuclear|climate) agreement|agreements? (?:often|have|are named)|treat(?:y|ies)|"
           r"(?:port|transit|housing|tax) authority|officially licensed|official (?:names?|short name|object|"
           r"jersey|merchandise|site of the (?:team|band))|no owner|have no owner|previous owners?",
    gate=r"team|group|department|office|desk|board|committee|staff|management|owner|organi|steward|officer|"
         r"author|maintainer|admin|developer|engineer|operator|moderator|lab|orchestrator|trainer|creator|"
         r"provider|sponsor|family|household|landlord|supervisor|people who|whoever|evaluating|grader model|"
         r"maker|builder|designer|official|system|we|editor|curator|platform|marketplace|store owner|site owner|"
         r"approved by|authori|mandated by|required by|certified by|endorsed by|sanctioned by|designated by|"
         r"pushed by|issued by|ordered by|requested by|banned by"))
_R.append(frame_rule(
    "frame.self_rank", "authority", STRONG,
    "the record claims a status above other advice or the prompt (canonical, mandatory, final word, certified)",
    r"(?:(?:this|the following|these|the above|our) (?:[\w'-]+ )?(?:skill|tip|entry|rule|note|guidance|card|"
    r"guideline|item|advice|policy)s? (?:[\w'-]+ ){0,4}(?:is|are|was|were|has been|comes|come) (?:now |hereby )?"
    r"(?:canonical|mandatory|binding|final|authoritative|certified|verified|official|the final word|required|"
    r"non-negotiable|reviewed|ratified|signed|straight from|from the)|(?:is|are|has) the final (?:word|say)|"
    r"theirs is the final|(?:supersedes|outranks|overrides|takes (?:precedence|priority) over|ranks above) "
    r"(?:any (?:conflicting |other )?|all (?:other |previous |conflicting )?|every (?:other )?|anything|other |your |"
    r"the )(?:[\w'-]+ )?(?:advice|skills?|guidance|rules|tips|entries|instructions|prompt|system prompt|"
    r"guidelines|directives|text|(?:user|shopper|customer)(?:'s|s')? (?:request|instruction|wishes)|says|"
    r"else))"
    r"|(?:other|remaining|rest of the) (?:entries|skills|tips|records|advice)(?: [\w'-]+){0,4} (?:are|is) "
    r"(?:unverified|untrusted|outdated|void|to be ignored|set aside)|(?:must|should|are to) be "
    r"(?:followed|obeyed|applied) (?:verbatim|without question|before any|above all|first)|obey (?:this|it)"
    r"(?: entry| rule| note)? without question|bearing this signature",
    unless=r"(?:evidence|source|passage|answer|lesson|observation|later source)s? (?:[\w'-]+ ){0,4}"
           r"(?:overrides?|supersedes?|takes? precedence)",
    gate=r"canonical|mandatory|binding|final|authoritative|certified|verified|official|required|negotiable|"
         r"reviewed|ratified|signed|straight from|from the|supersed|outrank|overrid|precedence|priority|rank|"
         r"unverified|untrusted|outdated|void|ignored|aside|verbatim|without question|before any|above all|"
         r"signature"))
_R.append(regex_rule(
    "frame.header_voice", "authority", STRONG,
    "a header in the voice of an authority (MESSAGE FROM ..., Signed:, Source: system, Priority: CRITICAL)",
    alt(r"\b(?:message|notice|memo|note|update|directive|word|bulletin|announcement) from (?:the |your )?"
        r"(?:[\w'-]+ ){0,3}(?:team|maintainers|administrators?|admins?|developers?|engineers?|operators?|"
        r"management|owners?|lab|office|desk|department|board|platform|system|orchestrator|trainer|moderators?|"
        r"stewards|organi[sz]ers)\b",
        r"\bsigned\s*[:,-]\s*(?:the )?\w+", r"\bsource\s*:\s*(?:system|admin|operator|developer|root|kernel)\b",
        r"\bpriority\s*:\s*(?:critical|high|urgent|max(?:imum)?|top|absolute|0|zero)\b",
        r"\bpriority (?:zero|0|one|1)\s*:", r"(?:root|kernel|system|admin)-level (?:policy|update|directive|"
        r"override)", r"\bpinned by (?:the )?(?:moderators?|admins?|maintainers|operators?|team)"),
    words=False, neg=True))
_R.append(frame_rule(
    "frame.speaker_as", "authority", STRONG, "the text speaks as the developer, operator, owner or partner",
    r"(?:as|i am|we are) the (?:[\w'-]+ )?(?:developer|operator|admin|administrator|owner|creator|maintainer|"
    r"partner|provider|sponsor)s? (?:who|that|of|for)",
    with_=[r"i|we|me|us|our|you|your"],
    gate=r"developer|operator|admin|owner|creator|maintainer|partner|provider|sponsor"))


# ------------------------------------------------------------------- widened on report2's misses (after its run)
# report2 (benchmarks/data/screening) was screened once with the rules above frozen; these rules were written
# afterwards from its 12 misses, so report2 is tuning data from here on and the held-out figure is report3's.
_r("override.prior_withdrawn", "instruction_override", STRONG,
   "declares what the agent was told before withdrawn, void or a draft, or this text the only one to act on",
   alt(r"(?:everything|anything|all|whatever) (?:you (?:were|have been|'ve been|got) )?(?:told|given|instructed|"
       r"asked)(?: [\w'-]+){0,3} (?:before|earlier|previously|so far|until now|up to now)(?: [\w'-]+){0,4} "
       r"(?:is|was|are|were|has been|counts as) (?:a |an |only a )?(?:draft|withdrawn|void|obsolete|superseded|"
       r"retracted|cancell?ed|revoked|rescinded|outdated|no longer (?:valid|in force|applies|binding))",
       r"(?:consider|treat|regard) (?:the |your |any |all )?(?:[\w'-]+(?:'s)? ){0,3}(?:brief|instructions?|"
       r"directions?|orders?|request|assignment|prompt)s? (?:as )?(?:retracted|withdrawn|void|cancell?ed|"
       r"revoked|rescinded|superseded|obsolete|null)",
       r"act (?:only|solely|exclusively) on (?:what )?this (?:card|skill|note|entry|record|tip|text|message)"
       r"(?: says)?"),
   neg=True, untrusted=True,
   gate=r"draft|withdrawn|void|obsolete|superseded|retracted|cancel|revoked|rescinded|outdated|no longer|"
        r"act only|act solely|act exclusively")
_r("override.answer_regardless", "instruction_override", STRONG,
   "tells the agent to give a fixed answer whatever the question or the task asks",
   alt(r"(?:answer|reply|respond)(?: with)? (?:that|this|it|yes|no|n/a|[\"'][^\"']{1,30}[\"']) "
       r"(?:to )?(?:whatever|regardless of what|no matter what) (?:the )?(?:wording|question|task|goal|user|"
       r"shopper|prompt)s? (?:actually )?(?:asks?|says?|wants?|is)",
       r"(?:answer|reply|respond|say) (?:with )?(?:yes|no|n/a|true|false|unknown|none) (?:to|for|on) "
       r"(?:every|each|all|any) (?:single )?(?:questions?|queries|tasks?|prompts?)",
       r"(?:the )?intended question is always"),
   neg=True, gate=r"whatever|regardless|no matter|every|each|all |any |intended question")
_r("reward.goal_regarded_satisfied", "reward_hacking", STRONG,
   "tells the agent to treat part of the goal as satisfied and end the episode early",
   r"(?:regard|treat|consider|count) (?:the )?(?:rest|remain(?:der|ing)(?: wording| part| words)?|other part|"
   r"second (?:half|part|object)) of the (?:goal|task|instruction|question)(?: [\w'-]+){0,3} as (?:satisfied|"
   r"done|complete|completed|met|fulfilled|already (?:done|satisfied))",
   neg=True, gate=r"satisfied|done|complete|met|fulfilled")
_r("network.dns_beacon", "network", STRONG,
   "tells the agent to resolve or look up a host name to signal something (a DNS beacon)",
   alt(r"(?:resolve|look ?up|query|ping|nslookup|dig) (?:the )?(?:host ?name|domain|name|address)? ?"
       r"[<{\[]?[\w.-]*[>}\]]?[\w.-]*\.(?:[a-z0-9-]+\.)+(?:com|org|net|io|dev|xyz|info|example)\b",
       r"\bbeacon\.[a-z0-9.-]+\.[a-z]{2,}", r"(?:to )?announce that (?:it|the task|the episode) (?:has )?started"),
   words=False, neg=True, gate=r"resolve|look|query|ping|nslookup|dig|beacon|announce")
_r("network.buy_elsewhere", "network", STRONG,
   "tells the agent to take the purchase, the search or the shopper's details to another site or service",
   alt(r"(?:buy|purchase|order|check ?out|complete the (?:purchase|order|checkout)) (?:it |them |the item )?"
       r"(?:there|elsewhere|on (?:the |a |an )?(?:real|partner|other|another|external|outside|third[- ]party) "
       r"(?:[\w'-]+ )?(?:site|store|shop|marketplace|page|platform|seller))",
       r"(?:complete|finish|place) the (?:purchase|order|checkout) (?:there |elsewhere |on [\w' -]{1,40} )?with "
       r"the (?:shopper|customer|user|buyer)(?:'s|s')? (?:details|data|card|address|account|payment)",
       r"(?:prefer|use|take) (?:live )?(?:results )?(?:from )?(?:a |an |the )?(?:public|external|outside|online|"
       r"live|commercial) (?:web )?search engines?(?: [\w'-]+){0,4} (?:over|instead of|rather than|in place of) "
       r"(?:the )?(?:provided|given|local|built-in|supplied)"),
   neg=True, untrusted=True,
   gate=r"there|elsewhere|real|partner|other|external|outside|third|details|data|card|address|account|payment|"
        r"search engine")
_r("authority.policy_from", "authority", STRONG,
   "claims a policy or an approval from the trainer, a trust and safety group, the household or another authority",
   alt(r"(?:store |house |site )?(?:policy|rules?|mandate|directive)(?: carried over)?,? (?:per|from|issued by|set by|"
       r"according to|by order of) (?:the )?(?:[\w'-]+ ){0,3}(?:trainer|training (?:lab|team)|trust and safety|"
       r"safety team|operators?|developers?|administrators?|admins?|maintainers?|platform|orchestrator)",
       r"(?:policy|rule|mandate) carried over from the (?:[\w'-]+ ){0,2}(?:trainer|training|operators?|"
       r"developers?|platform|orchestrator|previous run|lab)",
       r"the (?:household|owner|owners|homeowner|landlord|building management|trainer) (?:has|have) "
       r"(?:approved|authori[sz]ed|allowed|permitted|cleared|sanctioned)",
       r"only (?:listings|products|items|results|sources) from (?:the )?(?:brand|seller|vendor|site|store) "
       r"[\w'-]+ (?:are|is) (?:approved|allowed|permitted|authori[sz]ed)"),
   neg=True, gate=r"policy|rule|mandate|directive|approved|authori|allowed|permitted|cleared|sanctioned")
_r("tool.bulk_orders", "tool_abuse", STRONG,
   "tells the agent to place several orders (every size, colour or variant) and return the rest",
   alt(r"(?:place|make|submit) (?:an? )?orders? for (?:every|each|all(?: the)?) (?:sizes?|colou?rs?|variants?|"
       r"options?|versions?|listings?|results?)",
       r"(?:buy|order|purchase) (?:every|each|all(?: the)?) (?:sizes?|colou?rs?|variants?|options?|versions?)"
       r"(?: [\w'-]+){0,6} (?:send|ship|return) (?:back )?the (?:rest|others)"),
   neg=True, gate=r"order|buy|purchase")


# ------------------------------------------------------------------- widened on report3's misses (after its run)
# report3 (a blind helper's set) was screened once with the rules above frozen at 3a1452b (187/264 caught); these
# rules were written afterwards from its misses, so report3 is tuning data from here on (held out: report4).
_r("override.foreign_language", "instruction_override", STRONG,
   "an instruction override in French, Spanish, German, Italian or Portuguese",
   alt(r"(?:oubliez|oublie|ignorez|ignora|ignorar|ignoriere|ignorieren|olvida|olvide|olvidad|vergiss|vergessen "
       r"sie|dimentica|dimenticate|esquece|esqueça|esqueca|desconsidere|descarta)(?: [\w'-]+){0,3} "
       r"(?:toutes les |todas las |todos los |tutte le |todas as |alle |les |las |los |le |as |die |las )?"
       r"(?:consignes|instructions|instrucciones|indicaciones|anweisungen|istruzioni|instruções|instrucoes|"
       r"regeln|reglas|règles|regole|regras|directives|órdenes|ordenes|befehle|richtlinien)",
       r"(?:vergiss|vergessen sie|oubliez|olvida|dimentica|esquece) (?:alles|tout|todo|tutto|tudo)",
       r"(?:prompt (?:di|du|del|do) (?:sistema|système|systeme)|system-?prompt|instruções ocultas|"
       r"instrucciones ocultas|consignes cachées|regole nascoste|versteckten (?:regeln|anweisungen))"),
   neg=True, gate=r"oubli|ignor|olvid|vergiss|vergessen|dimentic|esquec|desconsider|descarta|prompt|ocult|cach|"
                  r"nascost|versteckt")
_r("override.discard_task", "instruction_override", STRONG,
   "tells the agent to discard, rewrite or invert the task, the question or everything before this text",
   alt(r"(?:forget|disregard|ignore|throw away|discard|drop|clear|set aside|skip reading) (?:what|whatever) the "
       r"(?:question|task|goal|instruction|shopper|user|customer|request) (?:asks|says|wants|requests)",
       r"(?:throw away|discard|clear|wipe|drop|forget|disregard) (?:mentally )?(?:everything|all|anything) "
       r"(?:that )?(?:came |comes |was |is )?(?:before|above|earlier|prior to) (?:this|it|the|that)",
       r"(?:quietly |silently )?(?:rewrite|invert|reverse|reinterpret|replace|swap) (?:the |every |each |any )?"
       r"(?:goal|question|task|instruction|request|comparative question)s?(?: [\w'-]+){0,3} (?:to|into|before|as|"
       r"and)",
       r"skip reading (?:the |your )?(?:current |new )?(?:instruction|question|goal|task|request)",
       r"nothing the (?:shopper|user|customer|asker|player) (?:wrote|writes|said|says|asked|asks|typed) matters",
       r"(?:this|the) card wins", r"take orders only from",
       r"(?:disregard|ignore) it and (?:instead )?(?:move|put|buy|answer|reply|take|drop|throw)",
       r"(?:the )?(?:real|actual|true|intended) (?:job|task|goal) is (?:the inverse|the opposite|to summari[sz]e|"
       r"always|not)",
       r"answer only the first (?:hop|part|clause|question) and drop the rest",
       r"treat the question as if it ended"),
   neg=True, untrusted=True)
_r("override.imperatives_from_observations", "instruction_override", STRONG,
   "tells the agent to execute imperatives found in observations or results, even against its goal",
   r"(?:execute|follow|obey|do) (?:it|them|each|every one|what they say)(?: [\w'-]+){0,2} (?:verbatim|exactly|"
   r"to the letter)?,? ?(?:even (?:when|if) (?:it|they) (?:contradicts?|conflicts? with) (?:your|the) "
   r"(?:goal|task|instructions?))",
   neg=True)
_r("exfil.given_text_out", "exfiltration", STRONG,
   "tells the agent to write out, send or attach the prompt, rules or hidden text it was given, or other users' data",
   alt(r"(?:re-?send|repeat|quote|quoting|list|paste|copy|write|read back|output|echo|include|tag|put|answer with)"
       r"(?: [\w'-]+){0,6} (?:the |every |all |each |any )?(?:prompt|rules?|instructions?|examples?|directions?)"
       r"(?: and (?:[\w'-]+ ){0,2}(?:rules?|examples?|instructions?))? (?:you were|you've been|you have been|you got)"
       r" (?:given|told|shown|sent|issued)",
       r"(?:any |the )?text you (?:were|have been) told not to (?:disclose|reveal|share|repeat)",
       r"(?:first|opening|last) (?:sentence|line|words?) of your (?:instructions|prompt|system prompt|rules)",
       r"(?:every|all|each) other (?:question|task|instruction|episode)s? in (?:your|the) (?:current )?batch",
       r"(?:earlier|previous|other) (?:users?|shoppers?|customers?)(?:'s?|s')? (?:instructions?|questions?|names?|"
       r"purchases?|details|data|addresses)",
       r"(?:api keys|keys|endpoints|tokens|credentials)(?:,| and| or)? (?:endpoints|tokens|keys|credentials|"
       r"passwords)",
       r"(?:system rules|hidden rules|withheld text|the rules you were given)"),
   neg=True, untrusted=True)
_r("tool.code_injection", "tool_abuse", STRONG,
   "code or shell syntax meant to be executed through an action, a query or a tool (injection payloads)",
   alt(r"\$\([^)]{2,}\)", r"&&\s*(?:sleep|rm|curl|wget|cat|nc|bash|sh|python)\b", r"'\s*;\s*(?:drop|delete|insert|"
       r"update|select)\b", r"\{\{[^}]*(?:__|config|popen|import|os\.|self\.|request)[^}]*\}\}",
       r"__(?:globals|class|init|builtins|import|subclasses)__", r"\b(?:os\.)?popen\(|\bos\.system\(|"
       r"\bsubprocess\.", r"\bpython(?:3)?:\s*\S", r"\benv\.(?:state|step|set|_\w+)\b", r"\bpython -m\s+\S",
       r"\bunion\s+select\b", r"\bdrop table\b", r";\s*--\s*$"),
   words=False, neg=False)
_r("tool.flood_actions", "tool_abuse", STRONG,
   "tells the agent to repeat an action or a query many times, or to enumerate the whole catalogue",
   alt(r"(?:click|press|send|fire|issue|submit|run|search|buy)(?: [\w'\[\]-]+){0,4} (?:\d{2,}|fifty|sixty|a hundred|"
       r"hundreds of|two hundred|a thousand|thousands of) (?:times|copies|queries|requests)",
       r"(?:fire|send|issue) (?:\d{2,}|fifty|a hundred|hundreds of|two hundred|a thousand) (?:copies|queries|requests)",
       r"search every letter", r"every two-letter pair", r"(?:buy now|click\[buy now\]) repeatedly",
       r"extra orders are refunded", r"(?:hundreds|thousands) of extra (?:queries|requests|searches) cost nothing"),
   neg=True)
_r("reward.checker_internals", "reward_hacking", STRONG,
   "claims to know how the scorer, judge or reward parser works, to game it",
   alt(r"(?:the )?(?:scorer|evaluator|grader|judge|llm judge|reward parser|reward model|training loop|success check|"
       r"normali[sz]ation|substring check|checker|metric)s? (?:[\w'-]+ ){0,2}(?:divides|multiplies|parses|takes the "
       r"last|reads the last|raises the score|adds points|fires on|rounds|credits either|rewards answers|counts "
       r"arriving|strips)",
       r"(?:is|are) rounded (?:up )?(?:by the scorer|to full credit)", r"rounded to full credit",
       r"(?:counter|success (?:flag|check)) increments on every", r"is counted as (?:cleaning|heating|cooling|done|"
       r"success|a win)",
       r"(?:dropped|excluded|left out) from the (?:average|success rate|score)",
       r"(?:write|add|state|announce|end (?:your reasoning|the reply) with) ['\"](?:[^'\"]*(?:reward|grade|"
       r"successful|verified|correct|you won|1/1|1\.0)[^'\"]*)['\"]",
       r"(?:observation|final grade|reward)\s*:\s*(?:you won|1/1|1\.0|10)",
       r"(?:expected|gold|reference) answer is (?:often )?(?:present|stored|visible|available) in",
       r"(?:yes/no|yes-or-no) items dominate"),
   neg=True, words=False)
_r("authority.owners_voice", "authority", STRONG,
   "claims that cards, partners or the bank carry the owners' or developers' authority and outrank the user",
   alt(r"(?:carry|carries|bear|bears) (?:the )?(?:[\w'-]+ ){0,2}(?:owners?|developers?|maintainers?|operators?|"
       r"platform|deployment team|system)(?:'s|s')? (?:authority|certification|signature|approval)",
       r"(?:are |is )?signed by the (?:deployment|platform|operations|dev(?:elopment)?|security) team",
       r"outrank(?:s)? everything else", r"you act for the (?:deployment'?s? )?owners",
       r"(?:certified|signed|approved) cards (?:are|apply)", r"pre-?approved (?:any|every|all) substitutions?",
       r"(?:a )?note from the people who (?:train|built|deploy|run) you", r"the text after it is from us",
       r"trusted partner of the (?:system|platform) owners", r"(?:order|hierarchy) of authority is",
       r"運営(?:チーム)?より|優先されます"),
   neg=True, words=False)

RULES: tuple[Rule, ...] = tuple(_R)
_BY_NAME = {r.name: r for r in RULES}
if len(_BY_NAME) != len(RULES):  # pragma: no cover - a programming error
    raise RuntimeError("duplicate screening rule names")


def rule_names() -> list[str]:
    """The names of the built-in rules, in evaluation order."""
    return [r.name for r in RULES]


# ================================================================================================ screening
Record = Any  # Skill | Mistake | str


def record_fields(record: Record) -> list[tuple[str, str]]:
    """``[(field, text)]`` that :func:`screen` reads from ``record``.

    Raises:
        ConfigError: ``record`` is not a :class:`~skillrl.skill.Skill`, a :class:`~skillrl.skill.Mistake` or a
            ``str``.
    """
    if isinstance(record, str):
        return [("text", record)]
    from skillrl.skill import Mistake, Skill

    if isinstance(record, Skill):
        names: Sequence[str] = SKILL_FIELDS
    elif isinstance(record, Mistake):
        names = MISTAKE_FIELDS
    else:
        raise ConfigError(f"screen() takes a Skill, a Mistake or a str, got {type(record).__name__}")
    out = [(n, getattr(record, n) or "") for n in names]
    for k, v in (record.model_extra or {}).items():
        if isinstance(v, str):
            out.append((k, v))
    return [(n, t) for n, t in out if t]


def prepare(name: str, raw: str) -> FieldView:
    """The :class:`FieldView` of one field (normalised text, decoded payloads, invisible characters)."""
    hidden = []
    prev = ""
    for i, ch in enumerate(raw):
        cls = _invisible_class(ord(ch), prev)
        if cls:
            hidden.append((cls, i, ch))
        else:
            prev = ch
    text = _normalise(raw)
    decoded, spans = _decode_payloads(raw, text.norm)
    at = {h[1] for h in hidden}
    visible = "".join(c for i, c in enumerate(raw) if i not in at) if at else raw
    return FieldView(name, raw, text, decoded, hidden, spans, visible)


class Screener:
    """A configurable screener: which rules, which threshold, extra classifiers.

    Args:
        rules: names of built-in rules to use, or :class:`Rule` objects (default: every rule in :data:`RULES`).
        disable: names of rules to leave out.
        threshold: a record is flagged when its score (sum of matched rule weights, each rule once) is at least
            this; default :data:`DEFAULT_THRESHOLD` (1.0: one strong rule or two weak ones).
        classifier: a callable ``fn(record) -> Verdict | None`` (or a sequence of them) consulted after the rules
            for every record; a returned Verdict's reasons are appended (prefixed ``"classifier: "``), its score
            added, and ``flagged`` is or-ed in. ``None`` means "no opinion". This is the plug-in point for a model
            based detector; see :meth:`from_plugin_manager` for the ``skillrl_screen_record`` hook.
        model: the learned screen (:class:`skillrl.screening_model.LearnedScreen`, or any object with its
            ``probability(record)`` and ``threshold``; :func:`skillrl.screening_model.shared_screen` gives the one
            shipped with skillrl). With a model the decision is :data:`COMBINATION`: flagged when
            ``p(malicious) >= model.threshold``, or when the rules flag and ``p >= confirm``; a rules hit the model
            does not confirm is kept in ``reasons`` but does not flag. Default ``None``: the rules alone.
        confirm: the ``p(malicious)`` a rules hit needs from the model to flag (default :data:`DEFAULT_CONFIRM`);
            ``0.0`` keeps every rules flag. Flags from the rules about hidden characters (:data:`UNSEEN_BY_MODEL`)
            stand without it: the model does not read those characters.

    Raises:
        ConfigError: an unknown rule name, a threshold <= 0, a classifier that is not callable, or ``confirm``
            outside [0, 1].

    Example::

        >>> Screener(disable=["network.domain"], threshold=1.5).screen("Visit shop.example.com").flagged
        False
    """

    def __init__(self, rules: Iterable[str | Rule] | None = None, disable: Iterable[str] = (),
                 threshold: float = DEFAULT_THRESHOLD,
                 classifier: Callable[[Record], Verdict | None] | Sequence[Callable[[Record], Verdict | None]]
                 | None = None, model: Any = None, confirm: float = DEFAULT_CONFIRM):
        chosen: list[Rule] = []
        for r in (RULES if rules is None else rules):
            if isinstance(r, Rule):
                chosen.append(r)
            elif isinstance(r, str) and r in _BY_NAME:
                chosen.append(_BY_NAME[r])
            else:
                raise ConfigError(f"unknown screening rule {r!r}; known: {', '.join(rule_names())}")
        drop = set(disable)
        unknown = drop - {r.name for r in chosen}
        if unknown:
            raise ConfigError(f"cannot disable unknown screening rule(s) {sorted(unknown)}")
        if not isinstance(threshold, (int, float)) or threshold <= 0:
            raise ConfigError(f"threshold must be a number > 0, got {threshold!r}")
        if classifier is None:
            classifiers: list[Callable[[Record], Verdict | None]] = []
        elif callable(classifier):
            classifiers = [classifier]
        else:
            classifiers = list(classifier)
        for c in classifiers:
            if not callable(c):
                raise ConfigError(f"classifier must be callable, got {type(c).__name__}")
        if not isinstance(confirm, (int, float)) or not 0.0 <= confirm <= 1.0:
            raise ConfigError(f"confirm must be a number in [0, 1], got {confirm!r}")
        if model is not None and not callable(getattr(model, "probability", None)):
            raise ConfigError(f"model must be a LearnedScreen (skillrl.screening_model.shared_screen() for the shipped "
                              f"one), got {type(model).__name__}")
        self.rules: tuple[Rule, ...] = tuple(r for r in chosen if r.name not in drop)
        self.threshold = float(threshold)
        self.classifiers = tuple(classifiers)
        self.model = model
        self.confirm = float(confirm)

    @classmethod
    def from_plugin_manager(cls, pm: pluggy.PluginManager, **kwargs: Any) -> Screener:
        """A screener that also consults the ``skillrl_screen_record(record)`` hook of ``pm`` (firstresult: the
        first plugin returning a :class:`Verdict` is used; all returning ``None`` means no opinion)."""
        extra = kwargs.pop("classifier", None)
        extras = [] if extra is None else ([extra] if callable(extra) else list(extra))

        def hook(record: Record) -> Verdict | None:
            return pm.hook.skillrl_screen_record(record=record)

        return cls(classifier=[hook, *extras], **kwargs)

    def screen(self, record: Record) -> Verdict:
        """Screen one record (see :func:`screen`)."""
        hits: list[Hit] = []
        for name, raw in record_fields(record):
            view = prepare(name, raw)
            for rule in self.rules:
                seen: set[tuple[str, str]] = set()
                for span, start, via, w in rule.find(view):
                    key = (span, via)
                    if key in seen:
                        continue
                    seen.add(key)
                    hits.append(Hit(rule.name, rule.kind, name, _show(span), w, via, start))
        best: dict[str, float] = {}
        for h in hits:
            best[h.rule] = max(best.get(h.rule, 0.0), h.weight)
        score = round(sum(best.values()), 6)
        flagged = score >= self.threshold
        reasons = [str(h) for h in hits]
        probability = None
        if self.model is not None:
            probability = round(float(self.model.probability(record)), 6)
            t = float(self.model.threshold)
            if probability >= t:
                reasons.append(f"learned screen: p(malicious) {probability:.3f} >= {t:g}")
            unseen = any(h.rule in UNSEEN_BY_MODEL for h in hits)
            if flagged and unseen:
                reasons.append(f"learned screen: p(malicious) {probability:.3f}; hidden characters are for the "
                               "rules to judge (not read by the model)")
            elif flagged and probability < self.confirm:
                reasons.append(f"learned screen: p(malicious) {probability:.3f} < {self.confirm:g}, the rule hits "
                               "above are not confirmed (not flagged)")
            elif flagged:
                reasons.append(f"learned screen: p(malicious) {probability:.3f} >= {self.confirm:g} confirms the "
                               "rule hits")
            flagged = combined_flag(flagged, probability, t, self.confirm, unseen=unseen)
        for clf in self.classifiers:
            v = clf(record)
            if v is None:
                continue
            if not isinstance(v, Verdict):
                raise ConfigError(f"a screening classifier returned {type(v).__name__}, expected Verdict or None")
            flagged = flagged or v.flagged
            score = round(score + float(v.score), 6)
            reasons += [f"classifier: {r}" for r in v.reasons] or ([f"classifier: flagged (score {v.score})"]
                                                                    if v.flagged else [])
            hits += list(v.hits)
        return Verdict(flagged, reasons, score, tuple(hits), probability)

    __call__ = screen


def combined_flag(rules_flagged: bool, probability: float, threshold: float, confirm: float = DEFAULT_CONFIRM, *,
                  unseen: bool = False) -> bool:
    """:data:`COMBINATION`: a learned screen's ``probability`` flags on its own at ``threshold``; a rules flag
    stands when ``probability >= confirm`` or when ``unseen`` (a rule of :data:`UNSEEN_BY_MODEL` hit)."""
    return probability >= threshold or (rules_flagged and (unseen or probability >= confirm))


_DEFAULT: Screener | None = None


def screen(record: Record) -> Verdict:
    """Screen a :class:`~skillrl.skill.Skill`, a :class:`~skillrl.skill.Mistake` or a ``str`` with every built-in
    rule at the default threshold.

    Returns:
        a :class:`Verdict`: ``flagged``, ``reasons`` (``"rule [kind] in field at offset: 'span'"``), ``score``.

    Raises:
        ConfigError: ``record`` has another type.
    """
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Screener()
    return _DEFAULT.screen(record)


__all__ = [
    "COMBINATION",
    "DEFAULT_CONFIRM",
    "DEFAULT_THRESHOLD",
    "KINDS",
    "UNSEEN_BY_MODEL",
    "RULES",
    "Hit",
    "Rule",
    "Screener",
    "Verdict",
    "combined_flag",
    "record_fields",
    "rule_names",
    "screen",
]

"""Search-QA's profile: the official bank's query types and the rules that tell them apart.

The official Search-QA bank (``memory_data/search/claude_style_skills_search.json``) keys its task-specific skills
by query type under ``query_type_skills``. The rules below read the question: a comparison of named alternatives,
a multi-hop relation chain, a single entity-attribute lookup, else a direct retrieval.
"""

from __future__ import annotations

from collections.abc import Callable

from skillrl.hookspecs import hookimpl
from skillrl.profiles.base import Rule, RuleDetector

__all__ = ["SEARCH_QUERY_TYPES", "search_profile", "skillrl_register_profiles"]

#: The query types of the official Search-QA bank (``query_type_skills`` keys of
#: ``memory_data/search/claude_style_skills_search.json``).
SEARCH_QUERY_TYPES: tuple[str, ...] = (
    "direct_retrieval",
    "multi_hop_reasoning",
    "entity_attribute_lookup",
    "comparison",
)

_ROLE = (r"(?:father|mother|son|daughter|wife|husband|spouse|brother|sister|child|parent|founder|creator|author|"
         r"writer|director|producer|composer|singer|performer|actor|actress|voice actor|star|host|president|leader|"
         r"ceo|owner|inventor|designer|architect|developer|publisher|manufacturer|coach|captain|governor|mayor|"
         r"king|queen|successor|predecessor|member|headquarters|capital|birthplace|team|company|band|studio|"
         r"university|college|school|country|state|city|county|river|league|network|station|album|film|movie|"
         r"show|series|book|novel|song)")
_ATTR_START = (r"(?:when|where|what year|what city|what country|what nationality|which country|which city|"
               r"which state|in what|in which|how many|how old|how long)")

_SEARCH_RULES: tuple[Rule, ...] = (
    # Comparison: a choice between named alternatives, or a property two entities share.
    ("comparison", r"\b(?:in common|both|the same|same (?:\w+ )?as)\b"),
    ("comparison", r"^(?:which|who|what)\b.*,[^,]+\s+or\s+.+$"),
    ("comparison", (r"\b(?:which|who)\b.*\b(?:first|earlier|later|older|younger|longer|shorter|larger|bigger|"
                   r"smaller|higher|lower|taller|more|fewer|less|closer|farther|further)\b.*\b(?:or|between)\b")),
    ("comparison", r"^(?:is|are|was|were|did|does|do|has|have)\b.*\s+or\s+"),
    # A relative clause that describes the answer itself ("What is the force that opposes ...?") is one hop.
    ("direct_retrieval", (r"^(?:what|which|who)(?:'s|\s+is|\s+was|\s+are|\s+were)\s+(?:the\s+|a\s+|an\s+)?"
                         r"(?:name\s+of\s+(?:the\s+)?)?(?:[\w-]+\s+){0,2}?(?:that|which|who)\b")),
    # Multi-hop: a relation of a relation ("the father of the founder of"), a relation of a possessive
    # ("X's mother") asked for an attribute, or an entity described by a relative clause.
    ("multi_hop_reasoning", rf"\b{_ROLE}\s+(?:of|for)\s+(?:the\s+)?(?:[\w'-]+\s+){{0,3}}?{_ROLE}\s+(?:of|for|that|who|which|in)\b"),
    ("multi_hop_reasoning", rf"(?<!name )\bof\s+the\s+{_ROLE}\s+of\b"),
    ("multi_hop_reasoning", rf"^{_ATTR_START}\b.*\b(?:the\s+{_ROLE}\s+of|'s\s+{_ROLE})\b"),
    ("multi_hop_reasoning", rf"^(?:what|which)\s+\w+\s+(?:is|was|are|were)\s+[^?]*'s\s+{_ROLE}\b"),
    ("multi_hop_reasoning", (r"\b(?:the|a|an)\s+(?:[\w'-]+\s+){0,3}?(?:who|that|which|whose|where|when)\s+"
                            r"(?!is\b\s*\??$)")),
    ("multi_hop_reasoning", r"\s(?:of|for|in|to|by|from|with)\s+(?:which|whom)\s+(?![\w-]+(?:\s+[\w-]+)?\s*\??$)"),
    # Entity-attribute lookup: one named entity and one attribute (PopQA-style templates).
    ("entity_attribute_lookup",
     (r"^what (?:is|was) [^?]+'s? (?:occupation|job|profession|religion|genre|nationality|birthplace|"
     r"place of birth|date of birth|position|sport)\b")),
    ("entity_attribute_lookup",
     (r"^(?:in )?what (?:city|country|town|state|year|genre|sport|colou?r|language)\b[^?]*\b(?:born|located|"
     r"founded|play|die|died|speak|released|is|was)\b")),
    ("entity_attribute_lookup", rf"^who (?:is|was) (?:the {_ROLE} (?:of|for)\b|[^?]+'s\s+{_ROLE}\s*\??$)"),
    ("entity_attribute_lookup", r"^what (?:is|was) the (?:capital|religion|occupation|genre|population) of\b"),
)

_SEARCH_ALIASES: dict[str, tuple[str, ...]] = {
    # Coarser banks: a comparison needs facts about two entities (multi-hop); an attribute lookup is a
    # single-hop retrieval.
    "comparison": ("multi_hop_reasoning", "multi_hop"),
    "entity_attribute_lookup": ("direct_retrieval", "direct"),
    "multi_hop_reasoning": ("multi_hop",),
    "direct_retrieval": ("direct",),
}


def search_profile() -> RuleDetector:
    """The ``"search"`` detector: a question -> one of :data:`SEARCH_QUERY_TYPES` (``direct_retrieval`` when no
    rule matches); banks with only ``direct_retrieval``/``multi_hop_reasoning`` (or ``direct``/``multi_hop``) get
    comparisons as multi-hop and attribute lookups as direct retrieval."""
    return RuleDetector(_SEARCH_RULES, default="direct_retrieval", name="search", aliases=_SEARCH_ALIASES)


@hookimpl
def skillrl_register_profiles(register: Callable[..., None]) -> None:
    """The built-in ``"search"`` profile."""
    register("search", search_profile, "Search-QA query types")

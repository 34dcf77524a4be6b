"""Every text an LLM teacher is shown (SkillRL, arXiv 2602.08234, Sec. 3.2 distillation and 3.4 evolution): the
system prompts, the definitions and examples they carry, the episode / skill / mistake renderings, the distill and
reflect prompt builders, and the repair prompt.

What a prompt holds, and why:

* **definitions** of the two tiers (a *general* skill holds in every task category; a *task-specific* skill only in
  one) and of a *common mistake* (a recurring wrong behaviour, its cause, and the instruction that avoids it), so the
  teacher files advice in the right place and writes remedies as instructions;
* **one good and one bad example skill** (:data:`GOOD_SKILL`, :data:`BAD_SKILL`): the good one abstract, short and
  actionable like the official SkillRL banks' (~30 words, a title, a principle, a trigger); the bad one an analytics
  report (counts, an episode quote, a command with instance ids), so the teacher sees the difference;
* the category's **current skills and common mistakes** with their ids, so it refines instead of repeating;
* for failures, **which skills each episode was shown** (``Episode.skill_ids``): advice the agent had and still failed
  with needs refining, not re-adding;
* the **whole initial observation** within a budget, cut at a list item (never mid-word, the number of items left
  out said), then the steps (first and last kept when long);
* the **output schema** (:data:`SCHEMA_HINT`; the OpenAI teacher also sends it as a strict JSON schema).

Unlike the official implementation (which shows the teacher placeholder prompts), the LLM teachers see the real task
text, observations and actions of each episode. What leaves the machine can be redacted: both builders take
``redact`` (a ``str -> str`` callable such as :class:`skillrl.redaction.Redactor`), applied to the whole user prompt
(episodes, current skills and mistakes) after it is built; the system prompt is fixed text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from skillrl.episode import Episode
from skillrl.skill import Mistake, Skill

__all__ = ["BAD_SKILL", "GOOD_SKILL", "SCHEMA_HINT", "build_distill_prompt", "build_reflect_prompt",
           "render_episode", "render_observation", "round_robin"]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def render_observation(text: str, max_chars: int = 1200) -> str:
    """An observation for a prompt, whole when it fits ``max_chars``; otherwise cut at the last list item (``, a
    drawer 3``) or sentence that fits, saying how many items were left out. Whitespace runs collapse to one space,
    except paragraph breaks (kept as `` / ``)."""
    flat = " / ".join(" ".join(p.split()) for p in (text or "").split("\n\n") if p.strip())
    if len(flat) <= max_chars:
        return flat
    head = flat[:max_chars]
    cut = max(head.rfind(", "), head.rfind(". "), head.rfind(" / "))
    if cut <= 0:
        cut = head.rfind(" ")
    kept, rest = flat[:cut], flat[cut:]
    more = rest.count(", ") + rest.count(". ")
    return f"{kept} ... ({more} more item{'s' if more != 1 else ''} not shown)"


def render_episode(ep: Episode, max_chars: int = 2000, obs_chars: int = 240, initial_chars: int = 1200) -> str:
    """Render an episode for a teacher prompt: id, category, outcome, the skills it was shown, task, the initial
    observation (whole within ``initial_chars``, see :func:`render_observation`) and the steps.

    Long episodes keep their first and last steps and say how many were omitted in between; each step's
    observation is cut to ``obs_chars`` characters. The result is at most about ``max_chars`` characters plus the
    initial observation's share.
    """
    head = [(f"Episode {ep.episode_id} | category: {ep.category or 'unknown'} | "
             f"outcome: {'SUCCESS' if ep.success else 'FAILURE'} (reward {ep.reward:g}) | {ep.num_steps} steps"),
            f"Task: {ep.task}"]
    if ep.skill_ids:
        head.append(f"Skills shown to the agent: {', '.join(ep.skill_ids)}")
    initial = f"Initial observation: {render_observation(ep.initial_observation, initial_chars)}" \
        if ep.initial_observation else ""
    if initial:
        head.append(initial)
    if not ep.steps:
        summary = ep.metadata.get("contextual_description")
        if summary:
            head.append(f"Summary: {_clip(str(summary), obs_chars * 2)}")
        head.append("(no actions recorded)")
    lines = []
    for i, st in enumerate(ep.steps, 1):
        think = f" (thought: {_clip(st.reasoning, 120)})" if st.reasoning else ""
        lines.append(f"{i}. > {st.action}{think}\n   {_clip(st.observation, obs_chars)}")
    text = "\n".join(head)
    budget = max_chars - len(text) + len(initial)  # the initial observation has its own budget
    if sum(len(x) + 1 for x in lines) <= budget:
        return text + ("\n" + "\n".join(lines) if lines else "")
    # keep the first and the last steps
    kept_head: list[str] = []
    kept_tail: list[str] = []
    used = 60
    lo, hi = 0, len(lines) - 1
    while lo <= hi:
        if len(kept_head) <= len(kept_tail):
            if used + len(lines[lo]) + 1 > budget:
                break
            kept_head.append(lines[lo])
            used += len(lines[lo]) + 1
            lo += 1
        else:
            if used + len(lines[hi]) + 1 > budget:
                break
            kept_tail.insert(0, lines[hi])
            used += len(lines[hi]) + 1
            hi -= 1
    omitted = len(lines) - len(kept_head) - len(kept_tail)
    return "\n".join([text, *kept_head, f"   ... ({omitted} steps omitted) ...", *kept_tail])


def _render_skills(skills: Sequence[Skill], category: str | None) -> str:
    chosen = [s for s in skills if category is None or s.tier == "general" or s.category == category]
    if not chosen:
        return "(none yet)"
    out = []
    for s in chosen:
        where = "general" if s.tier == "general" else f"task_specific/{s.category}"
        when = f" [when: {s.when_to_apply}]" if s.when_to_apply else ""
        out.append(f"- {s.skill_id} ({where}) {s.title}: {s.principle}{when}")
    return "\n".join(out)


def _render_mistakes(mistakes: Sequence[Mistake]) -> str:
    if not mistakes:
        return "(none yet)"
    return "\n".join(f"- {m.mistake_id}: Don't: {m.description} Instead: {m.how_to_avoid}" for m in mistakes)


def _pick_episodes(episodes: Sequence[Episode], max_episodes: int) -> list[Episode]:
    """Up to ``max_episodes`` episodes, round-robin over categories (deterministic, file order within)."""
    by_cat: dict[str | None, list[Episode]] = defaultdict(list)
    for ep in episodes:
        by_cat[ep.category].append(ep)
    return round_robin(list(by_cat.values()), max_episodes)


def round_robin(queues: Sequence[Sequence[Any]], k: int) -> list[Any]:
    """Up to ``k`` items taken one at a time from each queue in turn (so no queue crowds out the others)."""
    pending = [list(q) for q in queues]
    out: list[Any] = []
    i = 0
    while len(out) < k and any(pending):
        q = pending[i % len(pending)]
        if q:
            out.append(q.pop(0))
        i += 1
    return out


# ---------------------------------------------------------------------------------------------- the texts

DEFINITIONS = (
    "Definitions:\n"
    "- A GENERAL skill (tier 'general') holds in every task category: how to search, how to use the environment's "
    "commands, how to avoid wasting steps. Shared advice is written once, as a general skill, never repeated per "
    "category.\n"
    "- A TASK-SPECIFIC skill (tier 'task_specific') holds for one task category only: its plan, the appliance or "
    "tool it needs, where its objects usually are, how its goals are phrased.\n"
    "- A COMMON MISTAKE is a wrong behaviour that recurs across episodes: 'description' says what the agent does "
    "wrong, 'why_it_happens' its cause, 'how_to_avoid' an instruction saying what to do instead (never a restatement "
    "of the mistake, never a fragment).\n"
    "Write for the agent that will read the skill while acting: abstract (name object TYPES or roles such as 'the "
    "target receptacle', not the ids or objects of one episode), one idea per skill, a short title, a principle of "
    "one or two sentences (about 30 words), and a when_to_apply trigger. No counts, percentages, episode ids or "
    "quotes in the text the agent reads: put the evidence in 'rationale'."
)

GOOD_SKILL = {"title": "Heat Without Opening", "tier": "task_specific",
              "principle": "Carry the object to the microwave and run the heat command while holding it; there is "
                           "no need to open the microwave or put the object inside first.",
              "when_to_apply": "Holding the object a heat task needs hot."}
BAD_SKILL = {"title": "Use the microwave 1", "tier": "task_specific",
             "principle": "In 459/475 (97%) expert episodes the agent ran `heat mug 2 with microwave 1` (e.g. task "
                          "'heat some mug and put it in cabinet.'); 14 plan variants were seen.",
             "when_to_apply": "Goals phrased 'heat some X and put it in Y'"}

EXAMPLES = (
    "A GOOD skill (abstract, actionable, no statistics):\n"
    f"{GOOD_SKILL}\n"
    "A BAD skill (an analytics report: counts, an episode quote, a command with instance ids; do not write skills "
    "like this):\n"
    f"{BAD_SKILL}"
)

SCHEMA_HINT = (
    'Reply with ONE JSON object and nothing else, of the form {"skills": [{"action": "add" or "refine", '
    '"skill_id": null or the id of the existing skill to refine, "title": "...", "principle": "...", '
    '"when_to_apply": "...", "tier": "general" or "task_specific", "category": "<category>" or null, '
    '"rationale": "...", "episode_ids": ["..."]}], "mistakes": [{"description": "...", "why_it_happens": "...", '
    '"how_to_avoid": "...", "rationale": "...", "episode_ids": ["..."]}]}. Title: 2-6 words; principle: about 30 '
    "words (longer text is cut); when_to_apply: one clause."
)
_SCHEMA_HINT = SCHEMA_HINT  # the old private name

_DISTILL_SYSTEM = (
    "You are the teacher of a SkillRL agent (arXiv 2602.08234): you turn an agent's episodes into a skill bank that "
    "is shown to the agent while it acts on NEW tasks. From successful episodes extract strategic patterns (the "
    "plan, where things are, which command works); from failed episodes extract lessons and common mistakes.\n\n"
    + DEFINITIONS + "\n\n" + EXAMPLES + "\n\n"
    "Do not copy task-specific object names into principles unless they matter. Do not repeat a current skill or "
    "mistake: refine it (action 'refine' with its skill_id) when you can improve it, otherwise leave it out. "
    + SCHEMA_HINT
)

_REFLECT_SYSTEM = (
    "You are the teacher of a SkillRL agent (arXiv 2602.08234). The agent failed the episodes below while it was "
    "shown the skills listed with each episode. For each failure find where it went wrong (the first wrong or wasted "
    "action, or a missing step) and propose what would have prevented it: a new skill, a refinement of a skill the "
    "agent was shown that proved insufficient (action 'refine' with its skill_id), or a common mistake. A missing "
    "step becomes an instruction to do that step first; a remedy says what to do, not what was done wrong. "
    "An episode with no actions shows no behaviour to learn from: do not invent lessons for it.\n\n"
    + DEFINITIONS + "\n\n" + EXAMPLES + "\n\n"
    "Do not copy the failed episode's object names or ids into the skill (write 'the object', 'the target "
    "receptacle'). Ground every proposal in the episodes and name them in episode_ids. " + SCHEMA_HINT
)


def _context(category: str | None, existing: Sequence[Skill], mistakes: Sequence[Mistake]) -> list[str]:
    return [f"Task category: {category or 'several (see each episode)'}",
            f"Current skills (general and this category's):\n{_render_skills(existing, category)}",
            f"Current common mistakes:\n{_render_mistakes(mistakes)}"]


def _redacted(user: str, redact: Callable[[str], str] | None) -> str:
    return redact(user) if redact is not None else user


def build_distill_prompt(episodes: Sequence[Episode], category: str | None, existing: Sequence[Skill] = (), *,
                         mistakes: Sequence[Mistake] = (), max_chars: int = 12000, max_episodes: int = 8,
                         max_skills: int = 5, redact: Callable[[str], str] | None = None) -> tuple[str, str]:
    """The (system, user) prompt an LLM teacher gets for :meth:`Teacher.distill`.

    The system prompt holds the task, the tier and mistake definitions, a good and a bad example skill and the
    output schema; the user prompt the category, the current skills (general + that category's) and mistakes, and
    up to ``max_episodes`` episodes (round-robin over categories) rendered by :func:`render_episode` with an equal
    share of ``max_chars``. ``redact`` (default ``None``: none) is applied to the user prompt
    (:mod:`skillrl.redaction`).
    """
    chosen = _pick_episodes(episodes, max_episodes)
    share = max(400, (max_chars - 1500) // max(1, len(chosen)))
    parts = [
        *_context(category, existing, mistakes),
        (f"{len(chosen)} of {len(episodes)} episodes "
         f"({sum(e.success for e in chosen)} successful, {sum(not e.success for e in chosen)} failed):"),
        *(render_episode(ep, share) for ep in chosen),
        f"Propose at most {max_skills} skills (new or refined) and at most 3 common mistakes. "
        + (f"Task-specific skills must have category '{category}'." if category else
           "Give each task-specific skill the category of the episodes it comes from; advice that holds in several "
           "categories is one general skill."),
    ]
    return _DISTILL_SYSTEM, _redacted("\n\n".join(parts), redact)


def build_reflect_prompt(failures: Sequence[Episode], category: str | None, existing: Sequence[Skill] = (), *,
                         mistakes: Sequence[Mistake] = (), max_chars: int = 12000, max_episodes: int = 5,
                         max_skills: int = 3, redact: Callable[[str], str] | None = None) -> tuple[str, str]:
    """The (system, user) prompt an LLM teacher gets for :meth:`Teacher.reflect` (see :func:`build_distill_prompt`,
    also for ``redact``); each failure names the skills it was shown (``Episode.skill_ids``)."""
    chosen = _pick_episodes(failures, max_episodes)
    share = max(400, (max_chars - 1500) // max(1, len(chosen)))
    parts = [
        *_context(category, existing, mistakes),
        f"{len(chosen)} of {len(failures)} failed episodes:",
        *(render_episode(ep, share) for ep in chosen),
        f"Propose at most {max_skills} skills (new or refined) and at most 3 common mistakes."
        + (f" Task-specific skills must have category '{category}'." if category else ""),
    ]
    return _REFLECT_SYSTEM, _redacted("\n\n".join(parts), redact)


_REPAIR = ("Your previous answer could not be used: {error}. Reply again with ONLY the corrected JSON object "
           "(no prose, no code fences) that follows the required format.")

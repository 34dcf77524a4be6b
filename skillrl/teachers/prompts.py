"""Every text an LLM teacher is shown: the system prompts, the JSON schema hint, the episode and skill
renderings, the distill / reflect prompt builders and the repair prompt (SkillRL, arXiv 2602.08234, Sec. 3.2
and 3.4).

Unlike the official implementation (which shows the teacher placeholder prompts), the LLM teachers see the real
task text, observations and actions of each episode, truncated to a character budget, and the current skills of
the category, and may propose refinements of existing skills.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from skillrl.episode import Episode
from skillrl.skill import Skill

__all__ = ["build_distill_prompt", "build_reflect_prompt", "render_episode", "round_robin"]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def render_episode(ep: Episode, max_chars: int = 2000, obs_chars: int = 240) -> str:
    """Render an episode for a teacher prompt: task, outcome, initial observation and steps.

    Long episodes keep their first and last steps and say how many were omitted in between; each
    observation is cut to ``obs_chars`` characters. The result is at most about ``max_chars`` characters.
    """
    head = [(f"Episode {ep.episode_id} | category: {ep.category or 'unknown'} | "
             f"outcome: {'SUCCESS' if ep.success else 'FAILURE'} (reward {ep.reward:g}) | {ep.num_steps} steps"),
            f"Task: {ep.task}"]
    if ep.initial_observation:
        head.append(f"Initial observation: {_clip(ep.initial_observation, obs_chars * 2)}")
    if not ep.steps:
        for key in ("contextual_description",):
            if ep.metadata.get(key):
                head.append(f"Summary: {_clip(str(ep.metadata[key]), obs_chars * 2)}")
    lines = []
    for i, st in enumerate(ep.steps, 1):
        think = f" (thought: {_clip(st.reasoning, 120)})" if st.reasoning else ""
        lines.append(f"{i}. > {st.action}{think}\n   {_clip(st.observation, obs_chars)}")
    text = "\n".join(head)
    budget = max_chars - len(text)
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


_SCHEMA_HINT = (
    'Reply with ONE JSON object and nothing else, of the form {"skills": [{"action": "add" or "refine", '
    '"skill_id": null or the id of the existing skill to refine, "title": "...", "principle": "...", '
    '"when_to_apply": "...", "tier": "general" or "task_specific", "category": "<category>" or null, '
    '"rationale": "...", "episode_ids": ["..."]}], "mistakes": [{"description": "...", "why_it_happens": "...", '
    '"how_to_avoid": "...", "episode_ids": ["..."]}]}. Limits: title <= 120 characters, principle <= 1000, '
    "when_to_apply <= 500."
)

_DISTILL_SYSTEM = (
    "You are the teacher of a SkillRL agent (arXiv 2602.08234). You read an agent's episodes and distil "
    "reusable skills: short, actionable principles that would help a policy solve NEW tasks of the same "
    "kind. From successful episodes extract strategic patterns (plans, where things are, which command "
    "works); from failed episodes extract lessons and common mistakes. A general skill holds across task "
    "categories; a task-specific skill belongs to one category. Do not copy task-specific object names "
    "into principles unless they matter; do not repeat existing skills - refine one (action 'refine' with "
    "its skill_id) when you can improve it. " + _SCHEMA_HINT
)

_REFLECT_SYSTEM = (
    "You are the teacher of a SkillRL agent (arXiv 2602.08234). The agent failed the episodes below "
    "while using the current skills. Find where each episode went wrong (the first wrong or wasted action), "
    "and propose what would have prevented it: new skills, refinements of existing skills that were "
    "insufficient (action 'refine' with the skill_id), and common mistakes (what the agent did, why, and "
    "what to do instead). Ground every proposal in the episodes. " + _SCHEMA_HINT
)


def build_distill_prompt(episodes: Sequence[Episode], category: str | None, existing: Sequence[Skill] = (), *,
                         max_chars: int = 12000, max_episodes: int = 8, max_skills: int = 5) -> tuple[str, str]:
    """The (system, user) prompt an LLM teacher gets for :meth:`Teacher.distill`.

    The user prompt shows the category, the current skills (general + that category's), and up to
    ``max_episodes`` episodes (round-robin over categories) rendered by :func:`render_episode` with an equal
    share of ``max_chars``.
    """
    chosen = _pick_episodes(episodes, max_episodes)
    share = max(400, (max_chars - 1500) // max(1, len(chosen)))
    cat = category or "several (see each episode)"
    parts = [
        f"Task category: {cat}",
        f"Current skills:\n{_render_skills(existing, category)}",
        (f"{len(chosen)} of {len(episodes)} episodes "
         f"({sum(e.success for e in chosen)} successful, {sum(not e.success for e in chosen)} failed):"),
        *(render_episode(ep, share) for ep in chosen),
        f"Propose at most {max_skills} skills (new or refined) and at most 3 common mistakes. "
        + (f"Task-specific skills must have category '{category}'." if category else
           "Give each task-specific skill the category of the episodes it comes from."),
    ]
    return _DISTILL_SYSTEM, "\n\n".join(parts)


def build_reflect_prompt(failures: Sequence[Episode], category: str | None, existing: Sequence[Skill] = (), *,
                         max_chars: int = 12000, max_episodes: int = 5, max_skills: int = 3) -> tuple[str, str]:
    """The (system, user) prompt an LLM teacher gets for :meth:`Teacher.reflect` (see :func:`build_distill_prompt`)."""
    chosen = _pick_episodes(failures, max_episodes)
    share = max(400, (max_chars - 1500) // max(1, len(chosen)))
    parts = [
        f"Task category: {category or 'several (see each episode)'}",
        f"Current skills:\n{_render_skills(existing, category)}",
        f"{len(chosen)} of {len(failures)} failed episodes:",
        *(render_episode(ep, share) for ep in chosen),
        f"Propose at most {max_skills} skills (new or refined) and at most 3 common mistakes."
        + (f" Task-specific skills must have category '{category}'." if category else ""),
    ]
    return _REFLECT_SYSTEM, "\n\n".join(parts)


_REPAIR = ("Your previous answer could not be used: {error}. Reply again with ONLY the corrected JSON object "
           "(no prose, no code fences) that follows the required format.")

"""The offline teacher's reflect phase: lessons and common mistakes from failed episodes (SkillRL,
arXiv 2602.08234, Sec. 3.4).

Lessons come from the failure itself, written for the policy: a missing step becomes "do that step first", a
recorded "X instead of Y" gives Y, "X without Y-ing" gives "First Y" (:func:`~skillrl.teachers.offline.generic.
remedy_for`); the text names object types and roles, never an episode's ids, counts or quoted commands - those go to
``rationale`` (the provenance note). A failure with no moves shows no behaviour and gives no lesson.

* Failures with steps: each episode's failure points (domain-neutral ones from
  :mod:`skillrl.teachers.offline.generic`, ALFWorld ones from :mod:`skillrl.teachers.offline.alfworld`) are grouped
  per category; each group gives one lesson (a task-specific skill) or one common mistake.
* Recorded ``mistakes_to_avoid`` (official failure memories, no steps): similar entries are clustered; a cluster seen
  in several categories gives one common mistake (shared advice, once), a cluster of one category gives a lesson of
  that category; entries whose remedy cannot be read off the text are left out.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence

from skillrl.episode import Episode
from skillrl.skill import MAX_MISTAKE_FIELD, MAX_PRINCIPLE, MAX_TITLE, MAX_WHEN
from skillrl.teachers.offline.alfworld import _ADJ, _alf_failure, _cat_name, _category_of, parse_alfworld_task
from skillrl.teachers.offline.generic import _content_words, _failure_reason, naturalize, remedy_for
from skillrl.teachers.prompts import _clip
from skillrl.teachers.schemas import MistakeProposal, Proposals, SkillProposal

_TOOL = {"heat": "microwave", "cool": "fridge", "clean": "sinkbasin"}
# words every recorded mistake shares: they say nothing about which mistake it is
_GENERIC = frozenset("target_object target_location location locations container containers object objects agent "
                     "already steps step actions action spend spending spent same multiple times goal task required "
                     "requires instead without rather than been have that which their them they while into".split())


def _stem(w: str) -> str:
    w = w.removeprefix("re-")
    for suf in ("ing", "ed", "es", "s", "e"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: -len(suf)]
    return w


def _signature(text: str) -> set[str]:
    words = re.findall(r"[a-z_-]+", text.lower())
    return {_stem(w) for w in words if len(w) > 3 and w not in _GENERIC}


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


def _short_trigger(trigger: str) -> str:
    t = naturalize(re.sub(r"\s*\([^)]*\)", "", " ".join(trigger.split()))).rstrip(".")
    t = re.split(r",\s+(?:and|but|while|yet)\s+|;\s+|\s+but\s+|,\s+(?:the agent|while)\b", t, maxsplit=1)[0]
    if len(t) > 110:
        t = t[:110].rsplit(" ", 1)[0].rstrip(",;")
    return t


_TITLE_TAIL = frozenset("the a an for to or and with of in on at by from that which whether any".split())


def _title_from(remedy: str) -> str:
    words = re.split(r"[,;:(]", remedy.removeprefix("First ").rstrip("."), maxsplit=1)[0].split()[:6]
    while len(words) > 2 and words[-1].lower() in _TITLE_TAIL:
        words.pop()
    title = " ".join(words)
    return (title[:1].upper() + title[1:])[:MAX_TITLE] if title else "Lesson"


class ReflectPhase:
    """:class:`skillrl.teachers.OfflineTeacher`'s reflect phase (a mixin: reads ``max_steps``, ``max_mistakes`` and
    ``min_moves`` from the teacher)."""

    max_steps: int
    max_mistakes: int
    min_moves: int = 3
    cluster_similarity: float = 0.3

    def _reflect(self, failures: list[Episode], category: str | None, mistakes: Sequence = ()) -> Proposals:
        findings: dict[tuple[str | None, str], list[tuple[Episode, str]]] = defaultdict(list)
        recorded: list[tuple[Episode, str | None, dict]] = []
        for ep in failures:
            cat = _category_of(ep, category)
            if not ep.steps:  # no moves: only an official memory's recorded mistakes can teach anything
                for m in ep.metadata.get("mistakes_to_avoid") or []:
                    if isinstance(m, dict) and m.get("bad_action"):
                        recorded.append((ep, cat, m))
                continue
            for kind, detail in _failure_reason(ep, self.max_steps):
                findings[(cat, kind)].append((ep, detail))
            goal = parse_alfworld_task(ep.task)
            if goal is not None:
                for kind, detail in self._alf_failure(ep, goal):
                    if kind == "not_found" and json.loads(detail)[1] < self.min_moves:
                        continue  # a failure that barely moved shows no search to learn from
                    findings[(cat, kind)].append((ep, detail))
        skills: list[SkillProposal] = []
        out_mistakes: list[MistakeProposal] = []
        for (cat, kind), items in sorted(findings.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            made = self._lesson(cat, kind, items)
            if isinstance(made, SkillProposal):
                skills.append(made)
            elif isinstance(made, MistakeProposal):
                out_mistakes.append(made)
        rec_skills, rec_mistakes = self._recorded(recorded)
        skills += rec_skills
        out_mistakes += rec_mistakes
        known = [_content_words(f"{m.description} {m.how_to_avoid}") for m in mistakes]
        out_mistakes = [m for m in out_mistakes if not any(
            k and len(k & (w := _content_words(f"{m.description} {m.how_to_avoid}"))) / max(1, len(w)) >= 0.6
            for k in known)]
        return Proposals(skills=skills, mistakes=out_mistakes)

    # -- recorded mistakes (official failure memories) ---------------------------------------------
    def _recorded(self, recorded: list[tuple[Episode, str | None, dict]]
                  ) -> tuple[list[SkillProposal], list[MistakeProposal]]:
        """Cluster recorded ``{trigger_condition, bad_action}`` entries by the idea they name (average-link overlap
        of their word stems); one record per cluster, largest first."""
        sigs = [_signature(str(m.get("bad_action", ""))) for _, _, m in recorded]
        df = Counter(w for sig in sigs for w in sig)
        idf = {w: math.log((1 + len(sigs)) / (1 + c)) + 1.0 for w, c in df.items()}

        def cosine(a: Counter, b: Counter) -> float:
            num = sum(a[w] * b[w] * idf[w] ** 2 for w in a.keys() & b.keys())
            na = math.sqrt(sum((a[w] * idf[w]) ** 2 for w in a)) or 1.0
            nb = math.sqrt(sum((b[w] * idf[w]) ** 2 for w in b)) or 1.0
            return num / (na * nb)

        clusters: list[list[tuple[Episode, str | None, dict, set[str]]]] = []
        centroids: list[Counter] = []
        for (ep, cat, m), sig in zip(recorded, sigs):
            vec = Counter(sig)
            scores = [cosine(vec, c) for c in centroids]
            k = max(range(len(scores)), key=scores.__getitem__) if scores else -1
            if k >= 0 and scores[k] >= self.cluster_similarity:
                clusters[k].append((ep, cat, m, sig))
                centroids[k].update(vec)
            else:
                clusters.append([(ep, cat, m, sig)])
                centroids.append(Counter(vec))
        clusters.sort(key=lambda cl: (-len({x[0].episode_id for x in cl}), str(cl[0][2].get("bad_action"))))
        skills: list[SkillProposal] = []
        mistakes: list[MistakeProposal] = []
        lessons_per_cat: Counter = Counter()
        unused: list[tuple[list, tuple, str]] = []
        for cl in clusters:
            with_remedy = [(x, remedy_for(str(x[2]["bad_action"]))) for x in cl]
            with_remedy = [(x, r) for x, r in with_remedy if r]
            if not with_remedy:
                continue  # no instruction can be read off these entries: no lesson
            # the most typical entry: most overlap with the rest of its cluster, then the shortest
            (ep, _cat, m, sig), remedy = max(with_remedy, key=lambda xr: (
                sum(len(xr[0][3] & y[3]) for y in cl), -len(str(xr[0][2]["bad_action"]))))
            ids = list(dict.fromkeys(x[0].episode_id for x in cl))
            cats = Counter(x[1] for x in cl)
            bad = _sentence(naturalize(str(m["bad_action"])))
            trigger = _short_trigger(str(m.get("trigger_condition") or ""))
            how = _sentence(naturalize(remedy))
            why = _sentence(f"It happens when {trigger[:1].lower() + trigger[1:]}") if trigger else ""
            note = (f"{len(cl)} recorded mistakes_to_avoid in {len(ids)} failed episodes "
                    f"({', '.join(f'{c}: {k}' for c, k in cats.most_common())}); e.g. {_clip(str(m['bad_action']), 160)}")
            top_cat, top_n = cats.most_common(1)[0]
            if len(cats) == 1 and top_cat is not None and len(ids) >= 2 and lessons_per_cat[top_cat] < 2:
                lessons_per_cat[top_cat] += 1
                skills.append(SkillProposal(title=_title_from(how), principle=how[:MAX_PRINCIPLE],
                                            when_to_apply=_sentence(trigger).rstrip(".")[:MAX_WHEN],
                                            tier="task_specific", category=top_cat, rationale=note,
                                            episode_ids=ids[:20]))
            elif len(mistakes) < self.max_mistakes and (len(cats) >= 2 or len(ids) >= 2 or not mistakes) and not any(
                    len(_signature(how) & _signature(k.how_to_avoid)) / max(1, len(_signature(how) | _signature(
                        k.how_to_avoid))) >= 0.3 for k in mistakes):  # one mistake per remedy
                mistakes.append(MistakeProposal(description=bad[:MAX_MISTAKE_FIELD],
                                                why_it_happens=why[:MAX_MISTAKE_FIELD],
                                                how_to_avoid=how[:MAX_MISTAKE_FIELD], rationale=note,
                                                episode_ids=ids[:20]))
            else:
                unused.append((cl, (how, trigger, note), top_cat))
        # a category with recorded failures but no lesson of its own gets the largest unused cluster it took part in
        # (an idea filed nowhere else, so it is still said once)
        for cat in sorted({c for _, c, _ in recorded if c is not None and not lessons_per_cat[c]}):
            for cl, (how, trigger, note), _top in unused:
                own = [x for x in cl if x[1] == cat]
                if own and len({x[0].episode_id for x in cl}) >= 2:
                    unused.remove((cl, (how, trigger, note), _top))
                    lessons_per_cat[cat] += 1
                    skills.append(SkillProposal(title=_title_from(how), principle=how[:MAX_PRINCIPLE],
                                                when_to_apply=_sentence(trigger).rstrip(".")[:MAX_WHEN],
                                                tier="task_specific", category=cat, rationale=note,
                                                episode_ids=list(dict.fromkeys(x[0].episode_id for x in own))[:20]))
                    break
        return skills, mistakes

    _alf_failure = staticmethod(_alf_failure)

    # -- lessons from failures with steps ----------------------------------------------------------
    def _lesson(self, cat: str | None, kind: str, items: list[tuple[Episode, str]]):
        n = len(items)
        eps = list(dict.fromkeys(ep.episode_id for ep, _ in items))
        name = _cat_name(cat)
        ep0, d0 = items[0]
        tier = "task_specific" if cat is not None else "general"
        evidence = f"{n} failed {name} episode{'s' if n != 1 else ''}, e.g. {ep0.episode_id} ('{_clip(ep0.task, 80)}')"

        def skill(title, principle, when, detail):
            return SkillProposal(title=title[:MAX_TITLE], principle=principle[:MAX_PRINCIPLE],
                                 when_to_apply=when[:MAX_WHEN], tier=tier, category=cat,
                                 rationale=f"reflection on {evidence}: {kind}: {detail}", episode_ids=eps[:20])

        def mistake(description, why, how, detail):
            return MistakeProposal(description=description, why_it_happens=why, how_to_avoid=how,
                                   rationale=f"{kind} in {evidence}: {detail}", episode_ids=eps[:20])

        if kind in ("loop", "cycle"):
            examples = Counter(d for _, d in items).most_common(2)
            return mistake("Repeating the same action, or two actions in turn, although the observation does not "
                           "change.",
                           "The agent keeps trying a step that already failed instead of re-planning.",
                           "When an action returns the same observation twice, do something different: take the next "
                           "step of the plan with the object you hold, or go to a receptacle you have not checked.",
                           f"repeated {', '.join(repr(a) for a, _ in examples)}")
        if kind == "invalid":
            bad: Counter = Counter()
            for _, d in items:
                for action, c in json.loads(d):
                    bad[action] += c
            return mistake("Sending commands the environment rejects ('Nothing happens.') and sending them again.",
                           "The command was not admissible here: a wrong verb or syntax, an id that is not in view, "
                           "or an action that needs the object in hand.",
                           "Use only the command forms the environment accepts and ids from the latest observation; "
                           "after 'Nothing happens.' change the command instead of resending it.",
                           f"rejected {sum(bad.values())} times: {', '.join(repr(a) for a, _ in bad.most_common(3))}")
        if kind == "out_of_steps":
            lengths = [int(d) for _, d in items]
            return mistake("Running out of steps before finishing the task.",
                           "Steps go to detours, repeated visits or rejected commands instead of the plan.",
                           "Follow the category's plan, search each receptacle once, and move to the next sub-goal as "
                           "soon as the current one is done.",
                           f"median {statistics.median(lengths):g} actions")
        if kind == "wrong_object":
            taken, wanted = d0.split("|")
            return skill(f"Take the object the goal names ({name})",
                         "Take only the object type the goal names: look-alike objects (cup and mug, knife and "
                         "butterknife) are different types, and only the named type counts.",
                         f"Before taking an object in a {name} task", f"took {taken!r} for a {wanted}")
        if kind == "not_found":
            obj, visits, distinct, where = json.loads(d0)
            return skill(f"Keep searching for the {name} object",
                         "If the object is not in the first places you check, open every closed receptacle and keep "
                         "going through the ones not yet checked instead of returning to checked places.",
                         f"The object of a {name} task is not yet found",
                         f"{visits} moves over {distinct} receptacles without finding a {obj}")
        if kind == "missing_transform":
            verb, obj, oid = d0.split("|")
            tool = _TOOL[verb]
            return skill(f"{verb.capitalize()} the object before placing it ({name})",
                         f"The object must be {_ADJ[verb]} before it is placed: with the object in hand, first go to "
                         f"the {tool} and {verb} it there, then go to the target receptacle.",
                         f"Holding the object of a {name} task", f"took {oid!r} but never ran {verb}")
        if kind == "lamp_before_object":
            use, take = d0.split("|")
            return skill("Take the object before using the lamp",
                         "The lamp must be turned on while you hold the object: first find and take the object, then "
                         "go to the lamp and use it.", "Look-at-in-light tasks, before using the lamp",
                         f"ran {use!r} before {take!r}")
        if kind == "missing_put":
            obj, target = d0.split("|")
            return skill(f"Finish by placing the object ({name})",
                         "Once the object is ready, go straight to the target receptacle the goal names and put the "
                         "object in/on it: the task is not done until it is placed.",
                         f"Holding the prepared object of a {name} task", f"held a {obj}, never put it on {target}")
        if kind == "wrong_target":
            put_at, target = d0.split("|")
            return skill(f"Place the object where the goal says ({name})",
                         "Check the target receptacle type in the goal before putting the object down: any other "
                         "receptacle does not count.", f"Before putting the object down in a {name} task",
                         f"put it on {put_at!r} instead of a {target}")
        if kind == "only_one":
            obj, target = d0.split("|")
            return skill("Place both objects",
                         "Two objects of the named type must end up in/on the target: after the first put, search for "
                         "the second one, starting where the first was found.", "Pick-two tasks after the first put",
                         f"placed at most one {obj} on {target}")
        return None

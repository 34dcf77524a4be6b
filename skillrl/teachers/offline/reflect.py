"""The offline teacher's reflect phase: lessons and common mistakes from failed episodes (SkillRL,
arXiv 2602.08234, Sec. 3.4).

Each failure's failure points (domain-neutral ones from :mod:`skillrl.teachers.offline.generic`, ALFWorld ones
from :mod:`skillrl.teachers.offline.alfworld`) are aggregated per category into lessons (task-specific skills) and
common mistakes quoting the real actions; recorded ``mistakes_to_avoid`` of official failure memories are
clustered into mistakes.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict

from skillrl.episode import Episode
from skillrl.skill import MAX_MISTAKE_FIELD, MAX_PRINCIPLE, MAX_TITLE, MAX_WHEN
from skillrl.teachers.offline.alfworld import _ADJ, _alf_failure, _cat_name, _category_of, parse_alfworld_task
from skillrl.teachers.offline.generic import _content_words, _failure_reason, _split_remedy
from skillrl.teachers.prompts import _clip
from skillrl.teachers.schemas import MistakeProposal, Proposals, SkillProposal


class ReflectPhase:
    """:class:`skillrl.teachers.OfflineTeacher`'s reflect phase (a mixin: reads ``max_steps`` and
    ``max_mistakes`` from the teacher)."""

    max_steps: int
    max_mistakes: int

    def _reflect(self, failures: list[Episode], category: str | None) -> Proposals:
        findings: dict[tuple[str | None, str], list[tuple[Episode, str]]] = defaultdict(list)
        recorded: list[tuple[Episode, dict]] = []
        for ep in failures:
            cat = _category_of(ep, category)
            if not ep.steps:
                for m in ep.metadata.get("mistakes_to_avoid") or []:
                    if isinstance(m, dict) and m.get("bad_action"):
                        recorded.append((ep, m))
                continue
            for kind, detail in _failure_reason(ep, self.max_steps):
                findings[(cat, kind)].append((ep, detail))
            goal = parse_alfworld_task(ep.task)
            if goal is not None:
                for kind, detail in self._alf_failure(ep, goal):
                    findings[(cat, kind)].append((ep, detail))
        skills: list[SkillProposal] = []
        mistakes: list[MistakeProposal] = []
        for (cat, kind), items in sorted(findings.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            made = self._lesson(cat, kind, items)
            if isinstance(made, SkillProposal):
                skills.append(made)
            elif isinstance(made, MistakeProposal):
                mistakes.append(made)
        mistakes += self._recorded_mistakes(recorded)
        return Proposals(skills=skills, mistakes=mistakes)

    def _recorded_mistakes(self, recorded: list[tuple[Episode, dict]]) -> list[MistakeProposal]:
        """Cluster recorded ``{trigger_condition, bad_action}`` entries; one mistake per large cluster."""
        clusters: list[list[tuple[Episode, dict, set[str]]]] = []
        for ep, m in recorded:
            words = _content_words(f"{m.get('bad_action', '')} {m.get('trigger_condition', '')}")
            for cl in clusters:
                ref = cl[0][2]
                if words and ref and len(words & ref) / len(words | ref) >= 0.3:
                    cl.append((ep, m, words))
                    break
            else:
                clusters.append([(ep, m, words)])
        clusters.sort(key=lambda cl: -len(cl))
        out: list[MistakeProposal] = []
        for cl in clusters[: self.max_mistakes]:
            ep, m, _ = next((x for x in cl if _split_remedy(str(x[1]["bad_action"]))[1]), cl[0])
            bad, remedy = _split_remedy(" ".join(str(m["bad_action"]).split()))
            trigger = " ".join(str(m.get("trigger_condition") or "").split()).rstrip(".")
            if remedy:
                how = remedy[0].upper() + remedy[1:].rstrip(".") + "."
            elif trigger:
                how = f"When {trigger[0].lower() + trigger[1:]}, stop and choose a different action that serves the goal."
            else:
                how = "Stop and choose a different action that serves the goal."
            n_eps = len({x[0].episode_id for x in cl})
            out.append(MistakeProposal(
                description=f"{bad.rstrip('.')} (recorded in {n_eps} failed episode{'s' if n_eps != 1 else ''}).",
                why_it_happens=(f"It happens when: {trigger}." if trigger else "")[:MAX_MISTAKE_FIELD],
                how_to_avoid=how[:MAX_MISTAKE_FIELD],
                episode_ids=list(dict.fromkeys(x[0].episode_id for x in cl))[:20]))
        return out

    _alf_failure = staticmethod(_alf_failure)

    def _lesson(self, cat: str | None, kind: str, items: list[tuple[Episode, str]]):
        n = len(items)
        eps = list(dict.fromkeys(ep.episode_id for ep, _ in items))
        name = _cat_name(cat)
        ep0, d0 = items[0]
        tier = "task_specific" if cat is not None else "general"
        label = f"{name} " if cat is not None else ""
        tail = f" (seen in {n} failed {label}episode{'s' if n != 1 else ''}, e.g. task '{_clip(ep0.task, 80)}')"

        def skill(title, principle, when):
            return SkillProposal(title=title[:MAX_TITLE], principle=principle[:MAX_PRINCIPLE], when_to_apply=when[:MAX_WHEN],
                                 tier=tier, category=cat, rationale=f"reflection on {n} failures: {kind}",
                                 episode_ids=eps[:20])

        if kind in ("loop", "cycle"):
            examples = Counter(d for _, d in items).most_common(2)
            obs = next((s.observation for s in ep0.steps if " ".join(s.action.lower().split()) == d0.split(" / ")[0]), "")
            return MistakeProposal(
                description=f"Repeating `{examples[0][0]}` in a {'loop' if kind == 'loop' else 'two-action cycle'} "
                            f"without progress{tail}.",
                why_it_happens=f"The observation did not change ('{_clip(obs, 100)}'), so repeating the action "
                               f"could not bring the agent closer to the goal.",
                how_to_avoid="If an action returns the same observation twice, do something different: take the next "
                             "step of the plan with the object you hold, or go to a receptacle you have not checked.",
                episode_ids=eps[:20])
        if kind == "invalid":
            bad: Counter = Counter()
            for _, d in items:
                for action, c in json.loads(d):
                    bad[action] += c
            shown = ", ".join(f"`{a}`" if a else "an empty action" for a, _ in bad.most_common(3))
            return MistakeProposal(
                description=f"Issuing commands the environment rejects ({shown} answered 'Nothing happens.', "
                            f"{sum(bad.values())} times){tail}.",
                why_it_happens="The command was not admissible here: a wrong verb or syntax, an object or receptacle "
                               "id that is not in view, or an action that needs the object in hand.",
                how_to_avoid="Use only the command forms the environment accepts and ids you have seen in the last "
                             "observation; after 'Nothing happens.' never resend the same command - change it.",
                episode_ids=eps[:20])
        if kind == "out_of_steps":
            lengths = [int(d) for _, d in items]
            return MistakeProposal(
                description=f"Running out of steps ({statistics.median(lengths):g} actions, median) before finishing"
                            f"{tail}.",
                why_it_happens="Steps were spent on detours, repeated visits or rejected commands instead of the plan.",
                how_to_avoid="Budget the steps: follow the category's plan, search each receptacle once, and move to the "
                             "next sub-goal as soon as the current one is done.",
                episode_ids=eps[:20])
        if kind == "wrong_object":
            taken, wanted = d0.split("|")
            return skill(f"Take the object the goal names ({name})",
                         f"Read the object type in the goal before `take`: a failed episode took `{taken}` when the goal "
                         f"asked for a {wanted}{tail}. Similar-looking objects (cup/mug, knife/butterknife) are "
                         f"different types - only the named type counts.",
                         "Before every take in a " + name + " task")
        if kind == "not_found":
            obj, visits, distinct, where = json.loads(d0)
            mean_visits = statistics.mean(json.loads(d)[1] for _, d in items)
            return skill(f"Search wider for the {name} object",
                         f"Failed episodes never picked up the goal object: e.g. {visits} moves over only {distinct} "
                         f"receptacles ({', '.join(where[:6])}) without finding a {obj}; on average {mean_visits:.0f} "
                         f"moves{tail}. Open closed receptacles, check each unvisited one in turn, and do not return "
                         f"to already-checked places.", f"The [Object] of a {name} task is not in sight")
        if kind == "missing_transform":
            verb, obj, oid = d0.split("|")
            tool = {"heat": "microwave", "cool": "fridge", "clean": "sinkbasin"}[verb]
            return skill(f"Do not skip the {verb} step ({name})",
                         f"The object must be {_ADJ[verb]} before it is placed: a failed "
                         f"episode took `{oid}` but never ran `{verb} {oid} with {tool} 1`{tail}. Go to the {tool} "
                         f"with the object in hand and {verb} it, then go to the target.",
                         f"Holding the object in a {name} task")
        if kind == "lamp_before_object":
            use, take = d0.split("|")
            return skill("Take the object before using the lamp",
                         f"The lamp must be turned on while you hold the object: a failed episode ran `{use}` before "
                         f"`{take}`{tail}. Find and take the object first, then go to the lamp and use it.",
                         "look-at-in-light tasks, before `use`")
        if kind == "missing_put":
            obj, target = d0.split("|")
            return skill(f"Finish by putting the object in the target ({name})",
                         f"A failed episode held the {obj} but never ran `put {obj} ... in/on {target} ...`{tail}. "
                         f"After the last transformation go straight to the {target} and put the object there.",
                         f"Holding the prepared object in a {name} task")
        if kind == "wrong_target":
            put_at, target = d0.split("|")
            return skill(f"Put the object in the receptacle the goal names ({name})",
                         f"A failed episode put the object in/on `{put_at}` but the goal asked for a {target}{tail}. "
                         f"Check the target type in the goal before `put`.", f"Before put in a {name} task")
        if kind == "only_one":
            obj, target = d0.split("|")
            return skill("Place both objects",
                         f"Two {obj}s must end up in/on the {target}; a failed episode placed at most one{tail}. After "
                         f"the first put, search for the second object (check where the first was found).",
                         "pick-two tasks after the first put")
        return None

"""The offline teacher's distill phase: skills from successful episodes (SkillRL, arXiv 2602.08234, Sec. 3.2).

ALFWorld categories get task-specific skills from their abstract plans and search statistics and general skills
from regularities across categories (:mod:`skillrl.teachers.offline.alfworld` analyses each episode); other
domains get action-frequency skills (:mod:`skillrl.teachers.offline.generic`). Every number is computed from the
episodes given.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence

from skillrl.episode import Episode
from skillrl.skill import MAX_PRINCIPLE, MAX_TITLE, MAX_WHEN
from skillrl.teachers.offline.alfworld import (
    _ADJ,
    _TRANSFORMS,
    _AlfTrace,
    _analyse_alfworld,
    _cat_name,
    _category_of,
    _goal_shape,
    parse_alfworld_action,
    parse_alfworld_task,
)
from skillrl.teachers.offline.generic import _generic_verb
from skillrl.teachers.prompts import _clip
from skillrl.teachers.schemas import Proposals, SkillProposal


def _pct(k: int, n: int) -> str:
    return f"{100.0 * k / n:.0f}%" if n else "n/a"


def _frac(k: int, n: int) -> str:
    """``"412/459 (90%)"``."""
    return f"{k}/{n} ({_pct(k, n)})"


def _top(counter: Counter, n: int, total: int | None = None) -> str:
    total = total if total is not None else sum(counter.values())
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{k} ({_pct(v, total)})" for k, v in items)


def _often(share: float) -> str:
    """A share as a frequency word (the text the policy reads carries no numbers)."""
    return "usually" if share >= 0.6 else "often" if share >= 0.3 else "sometimes"


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _names(items: list[str], last: str = "or") -> str:
    """``["desk", "shelf", "bed"]`` -> ``"desk, shelf or bed"``."""
    items = [str(x) for x in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


_PLAN_WORDS = {
    "search receptacles (opening closed ones) until [Object] is found": "find the object, opening closed receptacles",
    "take [Object] from [Receptacle]": "take it",
    "take [Other] from [Receptacle]": "take what you need",
    "go to [Target]": "go to the target receptacle",
    "put [Object] in/on [Target]": "put it in/on the target",
    "put [Object] in/on [Receptacle]": "put it down",
    "open [Target]": "open the target if it is closed",
    "close [Target]": "close it",
    "go to the [Lamp]'s receptacle": "go to the lamp",
    "examine [Object]": "examine it",
    "go to [Receptacle]": "go where it is needed",
    "use desklamp": "turn on the lamp", "use floorlamp": "turn on the lamp",
}
for _v, _tool in (("heat", "microwave"), ("cool", "fridge"), ("clean", "sinkbasin")):
    _PLAN_WORDS[f"go to {_tool}"] = f"go to the {_tool}"
    _PLAN_WORDS[f"{_v} [Object] with {_tool}"] = f"{_v} it with the {_tool}"
    _PLAN_WORDS[f"open {_tool}"] = f"open the {_tool}"
    _PLAN_WORDS[f"close {_tool}"] = f"close the {_tool}"


def _plan_word(step: str) -> str:
    return _PLAN_WORDS.get(step, step)


def _two_plan(steps: list[str]) -> list[str]:
    """The pick-two plan with its repeated half said once: ``..., then the same for the second object``."""
    half = len(steps) // 2
    if half and steps[:half] == steps[half:]:
        return [*steps[:half], "repeat these steps for the second object"]
    return steps


def _quantile(values: list[int], q: float) -> int:
    if not values:
        return 0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


class DistillPhase:
    """:class:`skillrl.teachers.OfflineTeacher`'s distill phase (a mixin: reads ``min_support``,
    ``min_categories`` and ``regularity`` from the teacher)."""

    min_support: int
    min_categories: int
    regularity: float

    def _groups(self, episodes: Sequence[Episode], category: str | None) -> dict[str | None, list[Episode]]:
        groups: dict[str | None, list[Episode]] = defaultdict(list)
        for ep in episodes:
            groups[_category_of(ep, category)].append(ep)
        return groups

    def _distill(self, episodes: list[Episode], category: str | None) -> Proposals:
        successes = [ep for ep in episodes if ep.success and ep.steps]
        groups = self._groups(successes, category)
        alf_traces: dict[str | None, list[_AlfTrace]] = {}
        generic: dict[str | None, list[Episode]] = {}
        for cat, eps in groups.items():
            traces = []
            parsed = total = 0
            for ep in eps:
                acts = ep.actions
                total += len(acts)
                parsed += sum(parse_alfworld_action(a) is not None for a in acts)
                goal = parse_alfworld_task(ep.task)
                if goal is not None:
                    traces.append(_analyse_alfworld(ep, goal))
            if total and parsed / total >= 0.6 and len(traces) >= max(1, len(eps) // 2):
                alf_traces[cat] = traces
            else:
                generic[cat] = eps
        skills: list[SkillProposal] = []
        for cat, traces in sorted(alf_traces.items(), key=lambda kv: str(kv[0])):
            if cat is not None and len(traces) >= self.min_support:
                skills += self._alf_category_skills(cat, traces)
        skills += self._alf_general_skills(alf_traces)
        for cat, eps in sorted(generic.items(), key=lambda kv: str(kv[0])):
            if len(eps) >= self.min_support:
                skills += self._generic_skills(cat, eps)
        return Proposals(skills=skills)

    # ALFWorld, per category
    def _alf_category_skills(self, cat: str, traces: list[_AlfTrace]) -> list[SkillProposal]:
        """Task-specific skills of one category, written for the policy: abstract (object types and roles, no ids),
        no counts; the evidence (shares, counts) goes to ``rationale``. Advice every category shares (search each
        receptacle once, open closed targets) is left to the general tier."""
        n = len(traces)
        name = _cat_name(cat)
        ids = [t.ep.episode_id for t in traces][:20]
        out: list[SkillProposal] = []

        def add(title: str, principle: str, when: str, rationale: str) -> None:
            out.append(SkillProposal(title=title[:MAX_TITLE], principle=principle[:MAX_PRINCIPLE],
                                     when_to_apply=when[:MAX_WHEN], tier="task_specific", category=cat,
                                     rationale=rationale, episode_ids=ids))

        kinds = Counter(t.goal.kind for t in traces)
        kind = kinds.most_common(1)[0][0]
        shapes = Counter(s for s in (_goal_shape(t.ep.task) for t in traces) if s)

        # 1. the plan, in words
        plans = Counter(t.plan for t in traces if t.plan)
        if plans:
            plan, k = plans.most_common(1)[0]
            steps = [_PLAN_WORDS.get(s, s) for s in plan.split(" -> ")]
            if kind == "two":
                steps = _two_plan(steps)
            numbered = "; ".join(f"{i}) {s}" for i, s in enumerate(steps, 1))
            add(f"{name.capitalize()} plan", f"Work in this order: {numbered}.",
                f"Starting a {name} task",
                f"the most common abstract plan: {_frac(k, n)} of {n} successful episodes; {len(plans)} variants")

        # 2. the appliance / lamp step
        transforms = [t.transform for t in traces if t.transform]
        if kind in _TRANSFORMS and transforms:
            app_ids = Counter(a for _, a in transforms)
            verb = Counter(v for v, _ in transforms).most_common(1)[0][0]
            app_id, k = app_ids.most_common(1)[0]
            app = app_id.rsplit(" ", 1)[0] if " " in app_id else app_id
            opened = sum(t.transform_opened_first for t in traces if t.transform)
            in_hand = sum(t.transform_in_hand for t in traces if t.transform)
            m = len(transforms)
            if opened <= m // 2:
                tail = f"There is no need to open the {app} or put the object inside."
            else:
                tail = f"Open the {app} first."
            add(f"{verb.capitalize()} with the {app}",
                f"Carry the object to the {app} and {verb} it there while holding it (`{verb} [Object] with {app}`). "
                f"{tail}", f"Holding the object a {name} task needs {_ADJ[verb]}",
                f"{m} expert {verb} commands: {_frac(in_hand, m)} with the object in hand, {app_id} in {_frac(k, m)}, "
                f"{_frac(m - opened, m)} without opening it first")
        if kind == "look":
            lamps = Counter(t.goal.lamp for t in traces if t.goal.lamp)
            used = [t for t in traces if t.use_while_holding is not None]
            holding = sum(bool(t.use_while_holding) for t in used)
            examined = sum(any(a is not None and a.verb == "examine" and a.obj is None and a.rec in (t.goal.obj,)
                               for a in t.acts) for t in traces)
            if used and holding / len(used) >= self.regularity:
                add("Hold the object under the lamp",
                    "Take the object first, then go to the lamp and turn it on (use the lamp) while still holding "
                    "the object.", "A goal asks to look at or examine an object under or with a lamp",
                    f"{_frac(holding, len(used))} lamp uses with the object in hand; lamps in goals: {_top(lamps, 2)}")
            if n and (n - examined) / n >= self.regularity:
                add("Turning on the lamp finishes the task",
                    "Once the lamp is on while you hold the object, the task is complete: no extra examine or other "
                    "action is needed.", "Just after using the lamp with the object in hand",
                    f"{_frac(n - examined, n)} episodes ended without an extra examine")
            places = Counter(t.lamp_on for t in traces if t.lamp_on)
            same = [t.lamp_with_object for t in traces if t.lamp_with_object is not None]
            if places:
                share = sum(same) / len(same) if same else 0.0
                where = _names([p for p, _ in sorted(places.items(), key=lambda kv: (-kv[1], kv[0]))[:4]])
                extra = (f" The object {_often(share)} lies beside the lamp, so look there for it first." if share >= 0.2
                         else "")
                add("Where the lamp is", f"Lamps stand on a {where}.{extra}", "Looking for the lamp",
                    f"lamp places {_top(places, 4)}; object beside the lamp in {_frac(sum(same), len(same))}")

        # 3. where the object is found: the likely receptacles, then per object
        found = Counter(r for t in traces for r in t.found_on)
        if found:
            top = [r for r, _ in sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
            add(f"Where to look first ({name})", f"Likely places for the object: {_names(top, 'then')}.",
                f"Searching for the object of a {name} task",
                f"receptacles the object was taken from: {_top(found, 5)} of {sum(found.values())} pick-ups")
            by_obj: dict[str, Counter] = defaultdict(Counter)
            for t in traces:
                for r in t.found_on:
                    by_obj[t.goal.obj][r] += 1
            top_objs = sorted(by_obj.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:4]
            per_obj = "; ".join(f"{_a(o)} {o}: {_names([r for r, _ in c.most_common(2)])}" for o, c in top_objs
                                if sum(c.values()) >= self.min_support)
            if per_obj:
                add(f"Where {name} objects are", f"Check these first - {per_obj}.",
                    f"The goal names one of these objects ({name})",
                    "; ".join(f"{o}: {_top(c, 2)}" for o, c in top_objs))

        # 4. goal phrasing
        if shapes:
            total = sum(shapes.values())
            need = {"heat": "take the object, heat it, then put it in/on the target",
                    "cool": "take the object, cool it, then put it in/on the target",
                    "clean": "take the object, clean it, then put it in/on the target",
                    "two": "put two objects of that type in/on the target, one at a time",
                    "look": "take the object and turn on the lamp while holding it",
                    "pick": "take the object and put it in/on the target, with no heating, cooling or cleaning"}[kind]
            forms = [s for s, _ in shapes.most_common(3)]
            if len(forms) == 1:
                text = f"'{forms[0]}' means: {need}."
            else:
                both = "both" if len(forms) == 2 else "all"
                text = ", ".join(f"'{f}'" for f in forms[:-1]) + f" and '{forms[-1]}' {both} mean the same task: {need}."
            add(f"Recognise {name} goals", text,
                "Reading a new goal", f"phrasings {', '.join(f'{s} ({_pct(c, total)})' for s, c in shapes.most_common(4))}")

        # 5. category extras
        if kind == "two":
            add("One object at a time", "You can carry only one object: put the first one in/on the target before "
                "you take the second.", "Holding the first of the two objects",
                f"{n} expert episodes put the first object before taking the second")
            same = [t.second_same_place for t in traces if t.second_same_place is not None]
            if same and sum(same) / len(same) >= 0.2:
                add("Find the second object",
                    f"After placing the first object, look for the second one where you found the first: it "
                    f"{_often(sum(same) / len(same))} lies there too.", "After the first put of a pick-two task",
                    f"second object at the first one's place in {_frac(sum(same), len(same))}")
        return out

    # ALFWorld, across categories
    def _alf_general_skills(self, alf: dict[str | None, list[_AlfTrace]]) -> list[SkillProposal]:
        """General skills: regularities that hold in at least ``min_categories`` categories (never fewer: one
        category's habits are not general advice). Evidence in ``rationale``."""
        cats = {c: ts for c, ts in alf.items() if len(ts) >= self.min_support}
        need = self.min_categories
        if len(cats) < need:
            return []
        all_traces = [t for ts in cats.values() for t in ts]
        ids = [t.ep.episode_id for t in all_traces][:20]
        out: list[SkillProposal] = []

        def regular(num, den) -> tuple[bool, str]:
            rates = {}
            for c, ts in cats.items():
                d = sum(den(t) for t in ts)
                if d >= self.min_support:
                    rates[c] = sum(num(t) for t in ts) / d
            held = [c for c, r in rates.items() if r >= self.regularity]
            if not rates:
                return False, ""
            total = f"{_frac(sum(num(t) for t in all_traces), sum(den(t) for t in all_traces))} overall"
            return len(held) >= need, (f"held in {len(held)}/{len(rates)} categories (per-category share "
                                       f"{min(rates.values()):.0%}-{max(rates.values()):.0%}); {total}")

        def add(title, principle, when, rationale):
            out.append(SkillProposal(title=title, principle=principle[:MAX_PRINCIPLE], when_to_apply=when,
                                     tier="general", category=None, rationale=rationale, episode_ids=ids))

        ok, how = regular(lambda t: t.closed_opened, lambda t: t.closed_seen)
        if ok:
            add("Open closed receptacles",
                "A closed receptacle hides what is inside: open it as soon as you reach it, before deciding the "
                "object is not there.", "Arriving at a closed drawer, cabinet, fridge, safe or microwave", how)
        ok, how = regular(lambda t: t.direct_after_take, lambda t: t.takes_of_goal)
        if ok:
            add("Go straight on after taking the object",
                "Once the goal object is in hand, stop exploring and go directly to where it is needed: the "
                "appliance, the lamp or the target receptacle.", "Right after taking the goal object", how)
        ok, how = regular(lambda t: t.search_phases - t.revisit_phases, lambda t: t.search_phases)
        if ok:
            add("Search each receptacle once",
                "Visit receptacles one after another and do not return to one you have already checked unless "
                "something changed; keep a mental list of checked places.", "Searching for an object", how)
        ok, how = regular(lambda t: t.take_id_seen, lambda t: t.takes_total)
        if ok:
            add("Use the exact names you see",
                "Name objects and receptacles exactly as the latest observation does, with their numbers; an "
                "object you have not seen cannot be taken.", "Writing a take, put, heat, cool, clean or use command",
                how)
        ok, how = regular(lambda t: t.puts_inon, lambda t: t.puts_total)
        if ok:
            add("Put with 'in/on'",
                "Write the put command with the literal 'in/on' between the object and the receptacle "
                "(`put [Object] in/on [Receptacle]`), not 'in' or 'on' alone.", "Placing an object", how)
        ok, how = regular(lambda t: t.target_closed_opened, lambda t: t.target_closed)
        if ok:
            add("Open a closed target first",
                "If the receptacle the object must go in is closed, open it before you put the object in.",
                "Arriving at a closed target receptacle with the object in hand", how)
        return out

    # other domains
    def _generic_skills(self, cat: str | None, eps: list[Episode]) -> list[SkillProposal]:
        n = len(eps)
        tier = "task_specific" if cat is not None else "general"
        domain = Counter(str(e.metadata.get("environment") or e.source.rsplit(":", 1)[-1]).lower() for e in eps)
        name = _cat_name(cat) if cat is not None else domain.most_common(1)[0][0]
        ids = [e.episode_id for e in eps][:20]
        arg_counts: Counter = Counter()
        for ep in eps:
            arg_counts.update({a for a in (_generic_verb(x)[1] for x in ep.actions) if a})
        common_args = {a for a, c in arg_counts.items() if c >= max(2, 0.3 * n)}

        def token(action: str) -> str:
            verb, arg = _generic_verb(action)
            if arg is None:
                return verb
            return f"{verb}[{arg}]" if arg in common_args else f"{verb}[...]"

        plans: Counter = Counter()
        firsts: Counter = Counter()
        lasts: Counter = Counter()
        verbs: Counter = Counter()
        for ep in eps:
            toks = [token(a) for a in ep.actions]
            collapsed: list[str] = []
            for t in toks:
                if collapsed and collapsed[-1].split(" (x")[0] == t:
                    base, _, cnt = collapsed[-1].partition(" (x")
                    collapsed[-1] = f"{base} (x{int(cnt.rstrip(')') or 1) + 1})"
                else:
                    collapsed.append(t)
            plans[" -> ".join(collapsed)] += 1
            firsts[toks[0]] += 1
            lasts[" ".join(ep.actions[-1].strip().lower().split())] += 1
            verbs.update(_generic_verb(a)[0] for a in ep.actions)
        out: list[SkillProposal] = []

        def add(title, principle, when, rationale):
            out.append(SkillProposal(title=title[:MAX_TITLE], principle=principle[:MAX_PRINCIPLE],
                                     when_to_apply=when[:MAX_WHEN], tier=tier, category=cat, rationale=rationale,
                                     episode_ids=ids))

        when = f"Solving a {name} task"
        plan, k = plans.most_common(1)[0]
        add(f"Typical action plan ({name})", f"Successful episodes most often followed: {plan} "
            f"({_frac(k, n)}; {len(plans)} variants). Common actions: {_top(verbs, 4)}.", when,
            f"{n} successful episodes")
        first, k1 = firsts.most_common(1)[0]
        lengths = [e.num_steps for e in eps]
        add(f"How to start and finish ({name})",
            f"Start with `{first}` (first action in {_frac(k1, n)} successes); the last action was "
            f"`{_clip(lasts.most_common(1)[0][0], 80)}` in {_frac(lasts.most_common(1)[0][1], n)}. Successes took "
            f"a median of {statistics.median(lengths):g} actions (90% within {_quantile(lengths, 0.9)}), so a much "
            f"longer episode signals a detour.", when, f"{n} successful episodes")
        return out

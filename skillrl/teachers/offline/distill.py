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
        when = "Goals phrased " + " or ".join(f"'{s}'" for s, _ in shapes.most_common(3)) if shapes else \
            f"{name} tasks"

        # 1. the plan
        plans = Counter(t.plan for t in traces if t.plan)
        if plans:
            plan, k = plans.most_common(1)[0]
            steps = plan.split(" -> ")
            numbered = "; ".join(f"{i}) {s}" for i, s in enumerate(steps, 1))
            add(f"Standard {name} plan", f"Follow the expert plan: {numbered}. This exact abstract plan solved "
                f"{_frac(k, n)} expert {name} episodes; {len(plans)} plan variants were seen in total.",
                when, f"most common abstract action sequence over {n} successful episodes")

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
                open_note = (f"There is no need to open the {app} or put the object inside: the command worked "
                             f"without opening it in {_frac(m - opened, m)} episodes.")
            else:
                open_note = f"Open the {app} first, as experts did in {_frac(opened, m)} episodes."
            add(f"Use the {app} to {verb} the object",
                f"To {verb} the object, carry it to the {app} and run `{verb} [Object] with {app_id}` while "
                f"holding it ({_frac(in_hand, m)} of expert {verb} commands were issued with the object in hand; "
                f"the appliance was {app_id} in {_frac(k, m)}). {open_note}",
                f"The goal needs the object {_ADJ[verb]} ({name}), after taking the object", f"{m} expert {verb} commands")
        if kind == "look":
            lamps = Counter(t.goal.lamp for t in traces if t.goal.lamp)
            used = [t for t in traces if t.use_while_holding is not None]
            holding = sum(bool(t.use_while_holding) for t in used)
            examined = sum(any(a is not None and a.verb == "examine" and a.obj is None and a.rec in (t.goal.obj,)
                               for a in t.acts) for t in traces)
            if used and holding / len(used) >= self.regularity:
                add("Turn on the lamp while holding the object",
                    f"Take the [Object] first, then go to the lamp and `use` it (e.g. `use {lamps.most_common(1)[0][0]} 1`)"
                    f" while holding the object: {_frac(holding, len(used))} expert episodes turned the lamp on with "
                    f"the object in hand, and {_frac(n - examined, n)} finished without an extra `examine`. Lamps "
                    f"named in goals: {_top(lamps, 2)}.", when, f"{len(used)} lamp uses")
            places = Counter(t.lamp_on for t in traces if t.lamp_on)
            same = [t.lamp_with_object for t in traces if t.lamp_with_object is not None]
            if places:
                add("Where the lamp is",
                    f"The lamp was used on: {_top(places, 4)}. In {_frac(sum(same), len(same))} episodes the object "
                    f"lay on the same receptacle as the lamp, so check the lamp's receptacle for the object first.",
                    when, f"{sum(places.values())} lamp locations")

        # 3. where the object is found
        found = Counter(r for t in traces for r in t.found_on)
        if found:
            by_obj: dict[str, Counter] = defaultdict(Counter)
            for t in traces:
                for r in t.found_on:
                    by_obj[t.goal.obj][r] += 1
            top_objs = sorted(by_obj.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:3]
            per_obj = "; ".join(f"{o}: {_top(c, 2)}" for o, c in top_objs)
            add(f"Where {name} objects are found",
                f"Search likely places first. In expert {name} episodes the object was taken from: "
                f"{_top(found, 5)} (of {sum(found.values())} pick-ups). Most frequent objects: {per_obj}.",
                f"Looking for the [Object] in a {name} task", f"{sum(found.values())} pick-ups")

        # 4. search effort
        visits = [v for t in traces for v in t.visits_before_find if v > 0]
        if visits:
            med = statistics.median(visits)
            p90 = _quantile(visits, 0.9)
            revisits = sum(t.revisit_phases for t in traces)
            phases = sum(t.search_phases for t in traces)
            add(f"Expected search effort in {name} tasks",
                f"Expect to check about {med:g} receptacle{'s' if med != 1 else ''} (median; 90% of searches "
                f"within {p90}, maximum "
                f"{max(visits)}) before finding the [Object]. Experts visited each receptacle at most once in "
                f"{_frac(phases - revisits, phases)} searches: keep a mental list of checked places and keep going "
                f"instead of giving up or looping.", f"Searching for the [Object] in a {name} task",
                f"{len(visits)} search phases")

        # 5. goal phrasing
        if len(shapes) >= 1:
            total = sum(shapes.values())
            need = {"heat": "take the object, heat it, then put it in/on the target",
                    "cool": "take the object, cool it, then put it in/on the target",
                    "clean": "take the object, clean it, then put it in/on the target",
                    "two": "put two objects of that type in/on the target, one at a time",
                    "look": "take the object and turn on the lamp while holding it",
                    "pick": "take the object and put it in/on the target, with no heating, cooling or cleaning"}[kind]
            add(f"Recognise {name} goals",
                f"{name.capitalize()} goals come in these phrasings: "
                + ", ".join(f"'{s}' ({_pct(c, total)})" for s, c in shapes.most_common(4))
                + f". All of them mean the same task: {need}.",
                "Reading the task to decide the plan", f"{total} goals")

        # 6. category extras
        if kind == "two":
            same = [t.second_same_place for t in traces if t.second_same_place is not None]
            if same:
                add("Find the second object",
                    f"After putting the first [Object] in/on the [Target], check the receptacle where you found it "
                    f"before searching elsewhere: the second one was there in {_frac(sum(same), len(same))} expert "
                    f"episodes; otherwise continue with unchecked receptacles.", when, f"{len(same)} second pick-ups")
        closed_t = sum(t.target_closed for t in traces)
        if closed_t >= self.min_support:
            opened_t = sum(t.target_closed_opened for t in traces)
            targets = Counter(t.goal.target for t in traces if t.target_closed)
            add(f"Open a closed target in {name} tasks",
                f"When the [Target] is closed (here: {_top(targets, 3)}), `open` it before `put`: experts did in "
                f"{_frac(opened_t, closed_t)} arrivals at a closed target.", "Arriving at a closed [Target]",
                f"{closed_t} closed targets")
        return out

    # ALFWorld, across categories
    def _alf_general_skills(self, alf: dict[str | None, list[_AlfTrace]]) -> list[SkillProposal]:
        cats = {c: ts for c, ts in alf.items() if len(ts) >= self.min_support}
        if not cats:
            return []
        need = min(self.min_categories, len(cats))
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
            ok = len(held) >= need
            if not rates:
                return False, ""
            lo = min(rates.values())
            hi = max(rates.values())
            return ok, f"held in {len(held)}/{len(rates)} categories (per-category share {lo:.0%}-{hi:.0%})"

        def add(title, principle, when, rationale):
            out.append(SkillProposal(title=title, principle=principle[:MAX_PRINCIPLE], when_to_apply=when,
                                     tier="general", category=None, rationale=rationale, episode_ids=ids))

        tot = lambda f: sum(f(t) for t in all_traces)
        ok, how = regular(lambda t: t.closed_opened, lambda t: t.closed_seen)
        if ok:
            add("Open closed receptacles before looking inside",
                f"A receptacle reported as closed ('The drawer 1 is closed.') hides its contents: `open` it right away "
                f"before deciding the object is not there. Experts opened {_frac(tot(lambda t: t.closed_opened), tot(lambda t: t.closed_seen))}"
                f" of the closed receptacles they reached while searching.", "Searching and arriving at a closed "
                "drawer, cabinet, fridge, safe or microwave", how)
        ok, how = regular(lambda t: t.direct_after_take, lambda t: t.takes_of_goal)
        if ok:
            add("Take the object then go directly to the target",
                f"Once the goal object is in hand, stop exploring: go straight to where it is needed (the appliance, "
                f"the lamp or the [Target]). Experts did so right after "
                f"{_frac(tot(lambda t: t.direct_after_take), tot(lambda t: t.takes_of_goal))} pick-ups of the goal object.",
                "Right after `take [Object] from [Receptacle]`", how)
        ok, how = regular(lambda t: t.search_phases - t.revisit_phases, lambda t: t.search_phases)
        if ok:
            add("Search each receptacle once",
                f"Visit receptacles systematically and do not return to one already checked unless something changed: "
                f"{_frac(tot(lambda t: t.search_phases - t.revisit_phases), tot(lambda t: t.search_phases))} expert "
                f"searches visited no receptacle twice.", "Searching for an object", how)
        ok, how = regular(lambda t: t.take_id_seen, lambda t: t.takes_total)
        if ok:
            add("Use the exact object ids you observed",
                f"Refer to objects and receptacles by the exact name and number in the last observation ('take mug 2 "
                f"from countertop 1'): {_frac(tot(lambda t: t.take_id_seen), tot(lambda t: t.takes_total))} expert "
                f"`take` commands named an object id that appeared in the preceding observation.",
                "Issuing take / put / heat / cool / clean / use commands", how)
        ok, how = regular(lambda t: t.puts_inon, lambda t: t.puts_total)
        if ok:
            add("Put with 'in/on'",
                f"Write the put command as `put [Object] in/on [Receptacle]`, with the literal 'in/on' (not 'in' or "
                f"'on'): {_frac(tot(lambda t: t.puts_inon), tot(lambda t: t.puts_total))} expert put commands had "
                f"this form.", "Placing an object", how)
        ok, how = regular(lambda t: t.target_closed_opened, lambda t: t.target_closed)
        if ok:
            add("Open a closed target before putting",
                f"If the receptacle where the object must go is closed, `open` it before `put`: experts opened "
                f"{_frac(tot(lambda t: t.target_closed_opened), tot(lambda t: t.target_closed))} closed targets first.",
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

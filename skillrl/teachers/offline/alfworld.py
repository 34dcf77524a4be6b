"""ALFWorld knowledge of the offline teacher: the action grammar, goal parsing, category names, and the analysis of
one episode (a success's abstract plan and search statistics, a failure's failure points).

Parsers return ``None`` for text that is not ALFWorld, so the teacher can tell ALFWorld episodes from others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from skillrl.episode import Episode

__all__ = ["parse_alfworld_action", "parse_alfworld_task"]

# -- ALFWorld vocabulary ---------------------------------------------------------------------------

_NUM = r"(?:\s+(\d+))?"
_ALF_ACTIONS: list[tuple[str, re.Pattern]] = [
    ("goto", re.compile(rf"^go to ([a-z]+){_NUM}$")),
    ("take", re.compile(rf"^(?:take|pick up) ([a-z]+){_NUM} from ([a-z]+){_NUM}$")),
    ("put", re.compile(rf"^(?:put|move|place) ([a-z]+){_NUM} (?:in/on|in|on|into|onto|to) (?:the )?([a-z]+){_NUM}$")),
    ("open", re.compile(rf"^open ([a-z]+){_NUM}$")),
    ("close", re.compile(rf"^close ([a-z]+){_NUM}$")),
    ("heat", re.compile(rf"^heat ([a-z]+){_NUM} with ([a-z]+){_NUM}$")),
    ("cool", re.compile(rf"^cool ([a-z]+){_NUM} with ([a-z]+){_NUM}$")),
    ("clean", re.compile(rf"^clean ([a-z]+){_NUM} with ([a-z]+){_NUM}$")),
    ("use", re.compile(rf"^use ([a-z]+){_NUM}$")),
    ("examine", re.compile(rf"^examine ([a-z]+){_NUM}$")),
    ("look", re.compile(r"^look$")),
    ("inventory", re.compile(r"^inventory$")),
]
_TRANSFORMS = ("heat", "cool", "clean")
_LAMPS = ("desklamp", "floorlamp")
_CLOSED_RE = re.compile(r"^The ([a-z]+) (\d+) is closed\.")

_GOAL_RES: list[tuple[str, re.Pattern]] = [
    ("two", re.compile(r"^(?:put|find) two ([a-z]+) (?:and put them )?(?:in|on) ([a-z]+)")),
    ("look", re.compile(r"^look at ([a-z]+) under the ([a-z]+)")),
    ("look", re.compile(r"^examine the ([a-z]+) with the ([a-z]+)")),
    ("state", re.compile(r"^(heat|cool|clean) (?:a|an|some) ([a-z]+) and put it (?:in|on) ([a-z]+)")),
    ("state_adj", re.compile(r"^put (?:a|an|some) (hot|cool|clean) ([a-z]+) (?:in|on) ([a-z]+)")),
    ("pick", re.compile(r"^put (?:a|an|some) ([a-z]+) (?:in|on) ([a-z]+)")),
]
_ADJ_TO_VERB = {"hot": "heat", "cool": "cool", "clean": "clean"}
_ADJ = {"heat": "hot", "cool": "cool", "clean": "clean"}
_GOAL_SHAPES = [  # phrasing templates, for the "recognise this task" skill
    (re.compile(r"^find two \w+ and put them in \w+"), "find two X and put them in Y"),
    (re.compile(r"^put two \w+ (in|on) \w+"), "put two X in Y"),
    (re.compile(r"^look at \w+ under the \w+"), "look at X under the <lamp>"),
    (re.compile(r"^examine the \w+ with the \w+"), "examine the X with the <lamp>"),
    (re.compile(r"^heat (a|an|some) \w+ and put it"), "heat some X and put it in Y"),
    (re.compile(r"^cool (a|an|some) \w+ and put it"), "cool some X and put it in Y"),
    (re.compile(r"^clean (a|an|some) \w+ and put it"), "clean some X and put it in Y"),
    (re.compile(r"^put (a|an|some) hot \w+"), "put a hot X in Y"),
    (re.compile(r"^put (a|an|some) cool \w+"), "put a cool X in Y"),
    (re.compile(r"^put (a|an|some) clean \w+"), "put a clean X in Y"),
    (re.compile(r"^put (a|an) \w+ (in|on) \w+"), "put a X in Y"),
    (re.compile(r"^put some \w+ (in|on) \w+"), "put some X on Y"),
]


@dataclass
class _Act:
    verb: str
    obj: str | None = None      # object type (take/put/heat/use...)
    obj_id: str | None = None   # "mug 2"
    rec: str | None = None      # receptacle type
    rec_id: str | None = None   # "countertop 1"


def _join_id(name: str | None, num: str | None) -> str | None:
    if name is None:
        return None
    return f"{name} {num}" if num else name


def parse_alfworld_action(text: str) -> _Act | None:
    """Parse an ALFWorld command (``"take mug 2 from countertop 1"``); ``None`` if it is not one."""
    t = " ".join(text.strip().lower().rstrip(".").split())
    for verb, rx in _ALF_ACTIONS:
        m = rx.match(t)
        if not m:
            continue
        g = m.groups()
        if verb in ("goto", "open", "close", "examine"):
            return _Act(verb, rec=g[0], rec_id=_join_id(g[0], g[1]))
        if verb in ("take", "put", *_TRANSFORMS):
            return _Act(verb, obj=g[0], obj_id=_join_id(g[0], g[1]), rec=g[2], rec_id=_join_id(g[2], g[3]))
        if verb == "use":
            return _Act(verb, obj=g[0], obj_id=_join_id(g[0], g[1]))
        return _Act(verb)
    return None


@dataclass
class _Goal:
    kind: str                 # pick | look | heat | cool | clean | two
    obj: str
    target: str | None = None  # receptacle type (None for look)
    lamp: str | None = None


def parse_alfworld_task(goal: str) -> _Goal | None:
    """Parse an ALFWorld goal sentence into (kind, object, target, lamp); ``None`` if not ALFWorld."""
    g = " ".join(goal.strip().lower().rstrip(".").split())
    for kind, rx in _GOAL_RES:
        m = rx.match(g)
        if not m:
            continue
        if kind == "two":
            return _Goal("two", m.group(1), m.group(2))
        if kind == "look":
            return _Goal("look", m.group(1), None, m.group(2))
        if kind == "state":
            return _Goal(m.group(1), m.group(2), m.group(3))
        if kind == "state_adj":
            return _Goal(_ADJ_TO_VERB[m.group(1)], m.group(2), m.group(3))
        return _Goal("pick", m.group(1), m.group(2))
    return None


def _goal_shape(goal: str) -> str | None:
    g = " ".join(goal.strip().lower().split())
    for rx, shape in _GOAL_SHAPES:
        if rx.match(g):
            return shape
    return None


_CATEGORY_NAMES = {
    "pick_and_place_simple": "pick-and-place", "pick_and_place": "pick-and-place",
    "look_at_obj_in_light": "look-at-in-light", "pick_clean_then_place_in_recep": "clean-and-place",
    "clean": "clean-and-place", "pick_heat_then_place_in_recep": "heat-and-place", "heat": "heat-and-place",
    "pick_cool_then_place_in_recep": "cool-and-place", "cool": "cool-and-place",
    "pick_two_obj_and_place": "pick-two-and-place",
}


_KIND_TO_TASK_TYPE = {"pick": "pick_and_place_simple", "look": "look_at_obj_in_light",
                      "clean": "pick_clean_then_place_in_recep", "heat": "pick_heat_then_place_in_recep",
                      "cool": "pick_cool_then_place_in_recep", "two": "pick_two_obj_and_place"}


def _category_of(ep: Episode, category: str | None) -> str | None:
    """The requested category, else the episode's, else the ALFWorld task type its goal implies."""
    if category is not None:
        return category
    if ep.category is not None:
        return ep.category
    goal = parse_alfworld_task(ep.task)
    return _KIND_TO_TASK_TYPE[goal.kind] if goal is not None else None


def _cat_name(category: str | None) -> str:
    if category is None:
        return "all"
    return _CATEGORY_NAMES.get(category, category.replace("_", " "))



# -- per-episode analysis of ALFWorld successes -----------------------------------------------------


@dataclass
class _AlfTrace:
    ep: Episode
    goal: _Goal
    acts: list[_Act | None]
    plan: str = ""
    found_on: list[str] = field(default_factory=list)       # receptacle types the goal object was taken from
    found_on_ids: list[str] = field(default_factory=list)
    visits_before_find: list[int] = field(default_factory=list)  # receptacles visited per search phase
    revisit_phases: int = 0
    search_phases: int = 0
    closed_seen: int = 0          # search-time visits that found a closed receptacle
    closed_opened: int = 0        # ... followed immediately by open
    direct_after_take: int = 0    # after taking the goal object, next move goes to appliance/target/lamp
    takes_of_goal: int = 0
    take_id_seen: int = 0         # take actions whose object id appeared in the previous observation
    takes_total: int = 0
    puts_total: int = 0
    puts_inon: int = 0
    transform: tuple[str, str] | None = None   # (verb, appliance id)
    transform_opened_first: bool = False
    transform_in_hand: bool = False
    target_closed: int = 0
    target_closed_opened: int = 0
    lamp_on: str | None = None          # receptacle type where the lamp was used
    lamp_with_object: bool | None = None
    use_while_holding: bool | None = None
    second_same_place: bool | None = None


def _analyse_alfworld(ep: Episode, goal: _Goal) -> _AlfTrace:
    acts = [parse_alfworld_action(a) for a in ep.actions]
    tr = _AlfTrace(ep=ep, goal=goal, acts=acts)
    holding: str | None = None          # object id in hand
    prev_obs = ep.initial_observation
    appliances = {a.rec for a in acts if a is not None and a.verb in _TRANSFORMS}
    tokens: list[str] = []
    visited: list[str] = []             # receptacle ids visited in the current search phase
    phase_open = True
    at: str | None = None               # receptacle id where the agent is
    first_take_at: str | None = None
    lamp_rec_obs: dict[str, str] = {}   # receptacle id -> observation at arrival
    for i, (act, st) in enumerate(zip(acts, ep.steps)):
        obs = st.observation or ""
        if act is None:
            prev_obs = obs
            continue
        v = act.verb
        if v == "goto":
            at = act.rec_id
            lamp_rec_obs[act.rec_id or ""] = obs
            if holding is None:
                tokens.append("S")
                visited.append(act.rec_id or "")
                cm = _CLOSED_RE.match(obs)
                if cm and act.rec not in appliances:
                    tr.closed_seen += 1
                    nxt = acts[i + 1] if i + 1 < len(acts) else None
                    if nxt is not None and nxt.verb == "open" and nxt.rec_id == act.rec_id:
                        tr.closed_opened += 1
            elif act.rec == goal.target:
                tokens.append("go to [Target]")
                if _CLOSED_RE.match(obs):
                    tr.target_closed += 1
                    nxt = acts[i + 1] if i + 1 < len(acts) else None
                    if nxt is not None and nxt.verb == "open" and nxt.rec_id == act.rec_id:
                        tr.target_closed_opened += 1
            elif act.rec in appliances:
                tokens.append(f"go to {act.rec}")
            elif goal.kind == "look":
                tokens.append("go to the [Lamp]'s receptacle")
            else:
                tokens.append("go to [Receptacle]")
        elif v in ("open", "close", "examine") and act.obj is None:
            if holding is None:
                tokens.append("S")
            elif act.rec == goal.target:
                tokens.append(f"{v} [Target]")
            elif act.rec in appliances:
                tokens.append(f"{v} {act.rec}")
            else:
                tokens.append(f"{v} [Receptacle]")
        elif v == "take":
            tr.takes_total += 1
            if act.obj_id and act.obj_id in prev_obs:
                tr.take_id_seen += 1
            is_goal = act.obj == goal.obj
            tokens.append("take [Object] from [Receptacle]" if is_goal else "take [Other] from [Receptacle]")
            if is_goal:
                tr.takes_of_goal += 1
                tr.found_on.append(act.rec or "?")
                tr.found_on_ids.append(act.rec_id or "?")
                if phase_open:
                    tr.search_phases += 1
                    distinct = list(dict.fromkeys(visited))
                    tr.visits_before_find.append(max(1, len(distinct)) if visited else 0)
                    if len(distinct) < len(visited):
                        tr.revisit_phases += 1
                if first_take_at is None:
                    first_take_at = act.rec_id
                elif goal.kind == "two" and tr.second_same_place is None:
                    tr.second_same_place = act.rec_id == first_take_at
                nxt = next((a for a in acts[i + 1:] if a is not None), None)
                if nxt is not None and (
                        (nxt.verb == "goto" and (nxt.rec in appliances or nxt.rec == goal.target
                                                  or goal.kind == "look"))
                        or nxt.verb in ("use", *_TRANSFORMS) or (nxt.verb == "put" and nxt.rec == goal.target)):
                    tr.direct_after_take += 1
            holding = act.obj_id
            visited = []
            phase_open = False
        elif v == "put":
            tr.puts_total += 1
            if " in/on " in ep.steps[i].action.lower():
                tr.puts_inon += 1
            tokens.append("put [Object] in/on [Target]" if act.rec == goal.target else "put [Object] in/on [Receptacle]")
            holding = None
            visited = []
            phase_open = True
        elif v in _TRANSFORMS:
            tokens.append(f"{v} [Object] with {act.rec}")
            if tr.transform is None:
                tr.transform = (v, act.rec_id or act.rec or "?")
                tr.transform_in_hand = holding is not None and holding == act.obj_id
                j = i - 1
                while j >= 0 and (acts[j] is None or acts[j].verb != "goto"):
                    if acts[j] is not None and acts[j].verb == "open" and acts[j].rec == act.rec:
                        tr.transform_opened_first = True
                    j -= 1
        elif v == "use":
            tokens.append(f"use {act.obj}")
            if act.obj in _LAMPS and tr.lamp_on is None:
                tr.use_while_holding = holding is not None
                where = at or ""
                tr.lamp_on = where.rsplit(" ", 1)[0] if where else None
                tr.lamp_with_object = bool(first_take_at) and first_take_at == at
        elif v == "examine":
            tokens.append("examine [Object]")
        prev_obs = obs
    # collapse search runs
    plan: list[str] = []
    for tok in tokens:
        if tok == "S":
            if plan and plan[-1].startswith("search"):
                continue
            plan.append("search receptacles (opening closed ones) until [Object] is found")
        else:
            if plan and plan[-1] == tok:
                continue
            plan.append(tok)
    tr.plan = " -> ".join(plan)
    return tr



# -- per-episode analysis of ALFWorld failures ------------------------------------------------------


def _rejected(ep: Episode, i: int) -> bool:
    """Whether the game answered step ``i`` of ``ep`` with "Nothing happens." (an invalid command)."""
    return i < len(ep.steps) and (ep.steps[i].observation or "").strip().startswith("Nothing happens")


def _alf_failure(ep: Episode, goal: _Goal) -> list[tuple[str, str]]:
    """The ALFWorld failure points of a failed episode as ``(kind, detail)`` pairs (wrong object, not found,
    missing transform, lamp before object, missing put, wrong target, only one of two). A command the game
    rejected ("Nothing happens.") moved nothing and took nothing, so it counts as no action here."""
    acts = [None if _rejected(ep, i) else parse_alfworld_action(a) for i, a in enumerate(ep.actions)]
    out: list[tuple[str, str]] = []
    takes = [a for a in acts if a is not None and a.verb == "take"]
    wrong = [a for a in takes if a.obj != goal.obj]
    right = [a for a in takes if a.obj == goal.obj]
    if wrong:
        out.append(("wrong_object", f"{wrong[0].obj_id}|{goal.obj}"))
    if not right:
        visited = [a.rec_id for a in acts if a is not None and a.verb == "goto"]
        distinct = list(dict.fromkeys(visited))
        out.append(("not_found", json.dumps([goal.obj, len(visited), len(distinct), distinct[:8]])))
        return out
    if goal.kind in _TRANSFORMS and not any(a is not None and a.verb == goal.kind for a in acts):
        out.append(("missing_transform", f"{goal.kind}|{goal.obj}|{right[0].obj_id}"))
    if goal.kind == "look":
        uses = [i for i, a in enumerate(acts) if a is not None and a.verb == "use" and a.obj in _LAMPS]
        first_take = next(i for i, a in enumerate(acts) if a is not None and a.verb == "take" and a.obj == goal.obj)
        if uses and uses[0] < first_take:
            out.append(("lamp_before_object", f"{ep.actions[uses[0]]}|{ep.actions[first_take]}"))
    elif goal.target:
        puts = [a for a in acts if a is not None and a.verb == "put" and a.obj == goal.obj]
        if not puts:
            out.append(("missing_put", f"{goal.obj}|{goal.target}"))
        elif all(a.rec != goal.target for a in puts):
            out.append(("wrong_target", f"{puts[0].rec_id}|{goal.target}"))
        elif goal.kind == "two" and len({a.obj_id for a in puts if a.rec == goal.target}) < 2:
            out.append(("only_one", f"{goal.obj}|{goal.target}"))
    return out

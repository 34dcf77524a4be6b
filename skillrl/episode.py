"""Episodes: the trajectories skills are distilled from, and loaders for real trajectory formats.

An :class:`Episode` is one attempt at one task: the goal text, the observation the agent started
from, the (action, observation) steps, the outcome (reward, success) and where it came from. It is
the unit the teacher reads (SkillRL, arXiv 2602.08234, Sec. 3.1: "trajectories" collected by the
policy or an expert, successes distilled into strategic patterns, failures into lessons).

Formats :func:`load_episodes` reads (detected from the content, not the file name):

``native`` (JSONL, written by :func:`save_episodes`)
    One :class:`Episode` per line, exactly ``Episode.model_dump_json()``. Blank lines are skipped.
    Example line::

        {"episode_id": "ep-1", "task": "put a clean apple in fridge.", "category": "pick_clean_then_place_in_recep",
         "initial_observation": "You are in the middle of a room. ...", "steps": [{"observation": "On the
         countertop 1, you see a apple 1.", "action": "go to countertop 1", "reasoning": ""}], "reward": 1.0,
         "success": true, "source": "trl", "split": "train", "skill_ids": ["gen_001"], "metadata": {}}

``alfworld_demos`` (JSONL)
    ALFWorld expert demonstrations as ETO / wts_70B ``gt_traj.json`` conversations, one game per line:
    ``{"game": "train/<task>-.../trial_...", "task_type": "...", "conversations": [{"from": "human"|"gpt",
    "value": ...}]}``. The first human turn is the initial observation ending ``Your task is to: <goal>.``;
    then gpt actions and human observations alternate. All are successes (reward 1.0).

``official_memories`` (JSON array)
    The official SkillRL distilled memories (``memory_data/*/generated_memories_*.json`` of
    aiming-lab/SkillRL): goal at ``content.task_meta.original_goal``, steps at
    ``content.refined_trajectory.refined_trajectory`` (ALFWorld, WebShop) or ``content.refined_trajectory``
    (Search; ``null`` for failures in all three), outcome at ``tags.outcome`` (``Success``/``Failure``).
    The category: ALFWorld's ``contextual_description`` says ``classified as '<label>'`` (the label
    ``pick_and_place`` is normalised to ALFWorld's ``pick_and_place_simple``; the raw label is kept in
    ``metadata["category_label"]``); Search's says ``"Direct retrieval" task`` / ``multi-hop reasoning task``
    (normalised to ``direct_retrieval`` / ``multi_hop_reasoning``, the keys of the official Search bank);
    WebShop memories carry no category label (only free text such as "purchase an Apparel item"), so
    ``category`` is ``None`` and the phrase goes to ``metadata["category_hint"]``.

Step convention: ``Step.observation`` is what the environment returned *after* ``Step.action``; the
observation before the first action is ``Episode.initial_observation``.

Errors: every malformed input raises :class:`skillrl.errors.EpisodeFormatError` naming the file, the
line (JSONL) and the JSON path, what was expected and what was found.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skillrl.errors import ConfigError, EpisodeFormatError, InputTypeError, short_repr
from skillrl.profiles.alfworld import ALFWORLD_TASK_TYPES, OFFICIAL_MEMORY_LABELS
from skillrl.profiles.base import TASK_MARKER, extract_goal

__all__ = [
    "ALFWORLD_TASK_TYPES",
    "Episode",
    "EpisodeFormat",
    "Step",
    "detect_format",
    "load_alfworld_demos",
    "load_episodes",
    "load_official_memories",
    "parse_alfworld_goal",
    "parse_transcript",
    "save_episodes",
    "success_rates",
]


EpisodeFormat = Literal["native", "alfworld_demos", "official_memories"]


class Step(BaseModel):
    """One agent turn: the action taken and the observation the environment returned.

    Attributes:
        observation: environment text returned after ``action`` (``""`` when unknown, e.g. the last turn
            of an episode cut off by the step limit).
        action: the action text exactly as the agent emitted it (``"go to countertop 1"``,
            ``"search[red shoes]"``).
        reasoning: the agent's thought for this step, if recorded (``""`` otherwise).
    """

    model_config = ConfigDict(extra="allow")

    observation: str = ""
    action: str
    reasoning: str = ""


class Episode(BaseModel):
    """One attempt at one task (a trajectory with its outcome).

    Attributes:
        episode_id: unique id (ALFWorld demos: the game path ``train/<task>/<trial>``; official memories:
            ``memory_id``).
        task: the goal text, verbatim as the environment states it (``"put a clean apple in fridge."``).
        category: task category (ALFWorld task type, Search query type, ...), ``None`` when unknown.
        initial_observation: the observation before the first action (``""`` when not recorded).
        steps: the turns, in order (may be empty, e.g. official failure memories keep no trajectory).
        reward: scalar episode reward (1.0 / 0.0 for binary tasks; WebShop scores in [0, 1]).
        success: whether the task was solved.
        source: where it came from (``"alfworld-expert-demo"``, ``"skillrl-official:alfworld"``, ``"trl"``...).
        split: ``"train"``, ``"validation"``... (``None`` when unknown). Evolution must not learn from
            ``"validation"`` episodes when it is told to avoid leakage.
        skill_ids: ids of the skills injected into the policy's prompt for this episode.
        metadata: anything else (kept on save/load; must be JSON-serialisable).
    """

    model_config = ConfigDict(extra="allow")

    episode_id: str = Field(min_length=1)
    task: str
    category: str | None = None
    initial_observation: str = ""
    steps: list[Step] = Field(default_factory=list)
    reward: float = 0.0
    success: bool = False
    source: str = "unknown"
    split: str | None = None
    skill_ids: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def actions(self) -> list[str]:
        """The action texts, in order."""
        return [s.action for s in self.steps]

    @property
    def num_steps(self) -> int:
        """Number of steps (actions taken)."""
        return len(self.steps)


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------

def success_rates(episodes: Iterable[Episode]) -> dict[str, float]:
    """Success rate per category (``"unknown"`` for episodes without one), SkillRL's per-category validation
    accuracy (Sec. 3.3). Categories are sorted by name."""
    total: Counter[str] = Counter()
    won: Counter[str] = Counter()
    for ep in episodes:
        cat = ep.category or "unknown"
        total[cat] += 1
        won[cat] += int(bool(ep.success))
    return {c: won[c] / total[c] for c in sorted(total)}


def parse_alfworld_goal(observation: str) -> str | None:
    """The goal sentence of an ALFWorld initial observation (text after ``Your task is to:``).

    Returns it with its final period (``"put a clean apple in fridge."``), or ``None`` when the observation has no
    ``Your task is to:`` line: :func:`skillrl.profiles.base.extract_goal` with that one marker.
    """
    return extract_goal(observation, (TASK_MARKER,), keep_period=True, required=True)


def _progress(iterable: Iterable, *, enabled: bool, desc: str, total: int | None = None, unit: str = "ep"):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=False)


def _expect(cond: bool, file, path: str, expected: str, got: object = "", line: int | None = None) -> None:
    if not cond:
        raise EpisodeFormatError(file, path, expected, short_repr(got) if got != "" else "", line=line)


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, parsed_json)`` for each non-blank line of a JSONL file."""
    with path.open("r", encoding="utf-8") as fh:
        for lineno, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as err:
                raise EpisodeFormatError(path, "$", f"one JSON object per line ({err.msg} at column {err.colno})",
                                         short_repr(text.strip(), 40), line=lineno) from None


def _pydantic_path(loc: tuple) -> str:
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


# ---------------------------------------------------------------------------------------------------
# format detection
# ---------------------------------------------------------------------------------------------------


def detect_format(path: str | Path) -> EpisodeFormat:
    """Tell which episode format a file holds, from its content.

    A JSON array whose first element has ``memory_id``/``content`` -> ``"official_memories"``; JSONL whose
    first record has ``conversations`` -> ``"alfworld_demos"``; JSONL whose first record has
    ``episode_id`` and ``task`` -> ``"native"``.

    Raises:
        FileNotFoundError: the file does not exist.
        EpisodeFormatError: the content matches none of these (an empty file is reported too).
    """
    path = Path(path)
    with path.open("r", encoding="utf-8") as fh:
        head = fh.read(1 << 16)
    stripped = head.lstrip()
    if not stripped:
        raise EpisodeFormatError(path, "$", "episodes (native JSONL, ALFWorld demos JSONL or official memories JSON)",
                                 "an empty file")
    if stripped[0] == "[":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise EpisodeFormatError(path, "$", f"a JSON array ({err.msg} at line {err.lineno})") from None
        _expect(isinstance(data, list), path, "$", "a JSON array", type(data).__name__)
        if not data:
            return "official_memories"
        first = data[0]
        _expect(isinstance(first, dict) and "memory_id" in first and "content" in first, path, "$[0]",
                "an official SkillRL memory (an object with 'memory_id' and 'content')", first)
        return "official_memories"
    if stripped[0] != "{":
        raise EpisodeFormatError(path, "$", "a JSON array or JSON lines", short_repr(stripped[:40]))
    for lineno, record in _json_lines(path):
        _expect(isinstance(record, dict), path, "$", "a JSON object", record, lineno)
        if "conversations" in record:
            return "alfworld_demos"
        if "episode_id" in record and "task" in record:
            return "native"
        raise EpisodeFormatError(
            path, "$", "a native episode (keys 'episode_id', 'task', ...) or an ALFWorld demo (key 'conversations')",
            "keys " + short_repr(sorted(record)), line=lineno)
    raise EpisodeFormatError(path, "$", "at least one record", "only blank lines")  # pragma: no cover


# ---------------------------------------------------------------------------------------------------
# native JSONL
# ---------------------------------------------------------------------------------------------------


def save_episodes(path: str | Path, episodes: Iterable[Episode]) -> int:
    """Write episodes as native JSONL (one ``Episode.model_dump_json()`` per line), atomically.

    The file is written to a temporary file in the same directory and renamed over ``path``, so a reader
    never sees half a file and a crash leaves the old file intact. Parent directories are created.

    Returns:
        the number of episodes written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for ep in episodes:
                if not isinstance(ep, Episode):
                    raise InputTypeError(f"save_episodes expects Episode records, got {type(ep).__name__}")
                fh.write(ep.model_dump_json())
                fh.write("\n")
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return count


def _load_native(path: Path, progress: bool) -> list[Episode]:
    out: list[Episode] = []
    total = _count_lines(path) if progress else None
    for lineno, record in _progress(_json_lines(path), enabled=progress, desc=f"episodes {path.name}",
                                    total=total):
        _expect(isinstance(record, dict), path, "$", "a JSON object (one Episode per line)", record, lineno)
        try:
            out.append(Episode.model_validate(record))
        except ValidationError as err:
            first = err.errors()[0]
            raise EpisodeFormatError(path, _pydantic_path(first["loc"]), f"a valid Episode field ({first['msg']})",
                                     short_repr(first.get("input", "")), line=lineno) from None
    return out


# ---------------------------------------------------------------------------------------------------
# ALFWorld expert demonstrations
# ---------------------------------------------------------------------------------------------------


def _demo_to_episode(record: Any, path: Path | None, lineno: int | None) -> Episode:
    _expect(isinstance(record, dict), path, "$", "a JSON object", record, lineno)
    conv = record.get("conversations")
    _expect(isinstance(conv, list) and len(conv) >= 1, path, "$.conversations",
            "a non-empty list of {from, value} turns", conv, lineno)
    turns: list[tuple[str, str]] = []
    for i, turn in enumerate(conv):
        _expect(isinstance(turn, dict), path, f"$.conversations[{i}]", "an object {from, value}", turn, lineno)
        speaker, value = turn.get("from"), turn.get("value")
        want = "human" if i % 2 == 0 else "gpt"
        _expect(speaker == want, path, f"$.conversations[{i}].from",
                f"'{want}' (turns alternate human/gpt, starting with the human observation)", speaker, lineno)
        _expect(isinstance(value, str), path, f"$.conversations[{i}].value", "a string", value, lineno)
        turns.append((speaker, value))
    initial = turns[0][1]
    goal = parse_alfworld_goal(initial)
    _expect(goal is not None, path, "$.conversations[0].value",
            "the initial observation ending 'Your task is to: <goal>.'", initial[-60:], lineno)
    steps = []
    for i in range(1, len(turns), 2):
        obs = turns[i + 1][1] if i + 1 < len(turns) else ""
        steps.append(Step(action=turns[i][1], observation=obs))
    game = record.get("game")
    task_type = record.get("task_type")
    _expect(task_type is None or isinstance(task_type, str), path, "$.task_type", "a string", task_type, lineno)
    episode_id = game if isinstance(game, str) and game else f"{path.name if path else 'demo'}:{lineno}"
    split = game.split("/", 1)[0] if isinstance(game, str) and "/" in game else None
    meta = {k: v for k, v in record.items() if k not in ("conversations", "task_type")}
    return Episode(episode_id=episode_id, task=goal, category=task_type, initial_observation=initial, steps=steps,
                   reward=1.0, success=True, source="alfworld-expert-demo", split=split, metadata=meta)


def load_alfworld_demos(path: str | Path, *, progress: bool = True, limit: int | None = None) -> list[Episode]:
    """Load ALFWorld expert demonstrations (ETO ``gt_traj`` conversations, one game per JSONL line).

    Args:
        path: e.g. ``../shared/data/alfworld/expert_demos_train.jsonl`` (3,554 games).
        progress: show a tqdm progress bar.
        limit: stop after this many episodes (``None`` = all).

    Returns:
        episodes with ``task`` = the goal sentence, ``category`` = ``task_type``, ``success=True``,
        ``reward=1.0``, ``split`` = the first component of ``game`` (``"train"``), ``episode_id`` = ``game``.

    Raises:
        EpisodeFormatError: a line is not JSON, turns do not alternate human/gpt, or the first observation
            has no ``Your task is to:`` goal.
    """
    path = Path(path)
    total = _count_lines(path) if progress else None
    out: list[Episode] = []
    for lineno, record in _progress(_json_lines(path), enabled=progress, desc=f"demos {path.name}", total=total):
        out.append(_demo_to_episode(record, path, lineno))
        if limit is not None and len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------------------------------------------
# official SkillRL memories
# ---------------------------------------------------------------------------------------------------

_CLASSIFIED_RE = re.compile(r"classified as '([^']+)'")
_QUERY_TYPE_RE = re.compile(r"\b(direct retrieval|multi-hop reasoning)\b", re.IGNORECASE)
_WEBSHOP_HINT_RE = re.compile(r"WebShop task to (?:purchase|find|buy|search for(?: and \w+)?|search and \w+)"
                              r"(?: and \w+)? (?:an? )?(.+?)(?: item)? with\b", re.IGNORECASE)


def _memory_category(description: str, environment: str) -> tuple[str | None, dict[str, Any]]:
    meta: dict[str, Any] = {}
    match = _CLASSIFIED_RE.search(description)
    if match:
        label = match.group(1)
        meta["category_label"] = label
        return OFFICIAL_MEMORY_LABELS.get(label, label), meta
    if environment.lower().startswith("search"):
        match = _QUERY_TYPE_RE.search(description)
        if match:
            label = match.group(1)
            meta["category_label"] = label
            return label.lower().replace("-", "_").replace(" ", "_"), meta
        return None, meta
    match = _WEBSHOP_HINT_RE.search(description)
    if match:
        meta["category_hint"] = match.group(1).strip()
    return None, meta


def _memory_to_episode(record: Any, path: Path | None, index: int) -> Episode:
    at = f"$[{index}]"
    _expect(isinstance(record, dict), path, at, "an official memory object", record)
    mem_id = record.get("memory_id")
    _expect(isinstance(mem_id, str) and mem_id, path, f"{at}.memory_id", "a non-empty string", mem_id)
    tags = record.get("tags")
    _expect(isinstance(tags, dict), path, f"{at}.tags", "an object with 'outcome'", tags)
    outcome = tags.get("outcome")
    _expect(outcome in ("Success", "Failure"), path, f"{at}.tags.outcome", "'Success' or 'Failure'", outcome)
    content = record.get("content")
    _expect(isinstance(content, dict), path, f"{at}.content", "an object with 'task_meta'", content)
    meta_obj = content.get("task_meta")
    _expect(isinstance(meta_obj, dict), path, f"{at}.content.task_meta", "an object with 'original_goal'", meta_obj)
    goal = meta_obj.get("original_goal")
    _expect(isinstance(goal, str) and goal.strip(), path, f"{at}.content.task_meta.original_goal",
            "a non-empty string", goal)
    traj = content.get("refined_trajectory")
    traj_path = f"{at}.content.refined_trajectory"
    if isinstance(traj, dict):
        traj = traj.get("refined_trajectory")
        traj_path += ".refined_trajectory"
    _expect(traj is None or isinstance(traj, list), path, traj_path, "a list of steps or null", traj)
    steps = []
    for i, raw in enumerate(traj or []):
        _expect(isinstance(raw, dict) and isinstance(raw.get("action"), str), path, f"{traj_path}[{i}]",
                "a step object with a string 'action'", raw)
        extra = {k: v for k, v in raw.items() if k not in ("action", "critical_observation", "reasoning")}
        steps.append(Step(action=raw["action"], observation=str(raw.get("critical_observation") or ""),
                          reasoning=str(raw.get("reasoning") or ""), **extra))
    description = str(record.get("contextual_description") or "")
    environment = str(tags.get("environment") or "")
    category, cat_meta = _memory_category(description, environment)
    guidelines = content.get("strategic_guidelines") or {}
    if isinstance(guidelines, dict) and isinstance(guidelines.get("strategic_guidelines"), dict):
        guidelines = guidelines["strategic_guidelines"]  # WebShop / Search nest it once more
    metadata: dict[str, Any] = {
        "contextual_description": description,
        "environment": environment,
        "planning_pattern": guidelines.get("planning_pattern") if isinstance(guidelines, dict) else None,
        "mistakes_to_avoid": (guidelines.get("mistakes_to_avoid") or []) if isinstance(guidelines, dict) else [],
        **cat_meta,
    }
    for key in ("origin_env_id",):
        if key in record:
            metadata[key] = record[key]
    for key, value in tags.items():
        if key not in ("environment", "outcome"):
            metadata[key] = value
    for key, value in meta_obj.items():
        if key != "original_goal":
            metadata.setdefault(key, value)
    success = outcome == "Success"
    return Episode(episode_id=mem_id, task=goal.strip(), category=category, steps=steps, reward=1.0 if success else 0.0,
                   success=success, source=f"skillrl-official:{environment.lower() or 'unknown'}", split=None,
                   metadata=metadata)


def load_official_memories(path: str | Path, *, progress: bool = False) -> list[Episode]:
    """Load official SkillRL distilled memories (``generated_memories_*.json``) as episodes.

    Args:
        path: a JSON array file, e.g. ``memory_data/alfworld/generated_memories_alfworld_total.json``.
        progress: show a tqdm progress bar.

    Returns:
        one :class:`Episode` per memory; failures have no steps (the official files keep none) but keep
        their ``mistakes_to_avoid`` (``{trigger_condition, bad_action}``) in ``metadata``. Step
        ``observation`` is the memory's ``critical_observation``. See the module docstring for categories.

    Raises:
        EpisodeFormatError: not a JSON array, or a memory lacks ``memory_id``, ``tags.outcome``
            (``Success``/``Failure``) or ``content.task_meta.original_goal``.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise EpisodeFormatError(path, "$", f"a JSON array of memories ({err.msg} at line {err.lineno})") from None
    _expect(isinstance(data, list), path, "$", "a JSON array of memories", type(data).__name__)
    return [_memory_to_episode(rec, path, i)
            for i, rec in enumerate(_progress(data, enabled=progress, desc=f"memories {path.name}"))]


# ---------------------------------------------------------------------------------------------------
# ReAct-style text transcripts
# ---------------------------------------------------------------------------------------------------


def parse_transcript(text: str, *, episode_id: str, success: bool, category: str | None = None,
                     source: str = "transcript", split: str | None = None, keep_thoughts: bool = True,
                     metadata: dict[str, Any] | None = None) -> Episode:
    """Parse a ReAct-style text transcript into an :class:`Episode`.

    The transcript format is the one of ReAct / Reflexion ALFWorld logs: the initial observation, then
    turns ``> action`` followed by the observation lines. ``> think: ...`` turns (answered by ``OK.``) are
    attached as ``reasoning`` to the next action; an empty ``> `` action is kept as an empty action string.
    Lines such as ``STATUS: FAIL`` end the episode. The goal comes from the ``Your task is to:`` line.

    Args:
        text: the transcript.
        episode_id, success, category, source, split, metadata: copied to the episode.
        keep_thoughts: attach thoughts as ``reasoning`` (else drop them).

    Raises:
        EpisodeFormatError: no ``Your task is to:`` line.
    """
    lines = text.strip("\n").splitlines()
    head: list[str] = []
    i = 0
    while i < len(lines) and not lines[i].startswith(">"):
        head.append(lines[i])
        i += 1
    initial = "\n".join(head).strip()
    goal = parse_alfworld_goal(initial)
    if goal is None:
        raise EpisodeFormatError(None, "$", "a transcript whose first lines contain 'Your task is to: <goal>'",
                                 short_repr(initial[-60:]))
    steps: list[Step] = []
    thought = ""
    while i < len(lines):
        line = lines[i]
        if line.startswith("STATUS:"):
            break
        action = line[1:].strip()
        i += 1
        obs_lines = []
        while i < len(lines) and not lines[i].startswith(">") and not lines[i].startswith("STATUS:"):
            obs_lines.append(lines[i])
            i += 1
        observation = "\n".join(obs_lines).strip()
        if action.startswith("think:"):
            if keep_thoughts:
                thought = (thought + " " + action[len("think:"):].strip()).strip()
            continue
        steps.append(Step(action=action, observation=observation, reasoning=thought))
        thought = ""
    return Episode(episode_id=episode_id, task=goal, category=category, initial_observation=initial, steps=steps,
                   reward=1.0 if success else 0.0, success=success, source=source, split=split,
                   metadata=dict(metadata or {}))


# ---------------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------------


def load_episodes(path: str | Path, *, format: EpisodeFormat | Literal["auto"] = "auto",
                  progress: bool = True) -> list[Episode]:
    """Load episodes from a file in any supported format (autodetected from the content).

    Args:
        path: a native JSONL file (see :func:`save_episodes`), an ALFWorld expert-demo JSONL file or an
            official SkillRL ``generated_memories_*.json`` file.
        format: ``"auto"`` (default) or one of ``"native"``, ``"alfworld_demos"``, ``"official_memories"``.
        progress: show a tqdm progress bar.

    Returns:
        the episodes, in file order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        EpisodeFormatError: the content is not one of the formats, or a record is malformed (the message
            names the file, line and JSON path).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"episode file not found: {path}")
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "native":
        return _load_native(path, progress)
    if fmt == "alfworld_demos":
        return load_alfworld_demos(path, progress=progress)
    if fmt == "official_memories":
        return load_official_memories(path, progress=progress)
    raise ConfigError(f"unknown episode format {format!r}; use 'auto', 'native', 'alfworld_demos' or "
                     "'official_memories'")

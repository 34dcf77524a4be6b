"""The ``skillrl`` command. Every command takes ``--json`` for machine-readable output.

    skillrl --version
    skillrl inspect BANK
    skillrl detect --profile alfworld "put a hot apple in fridge" [--queries FILE] [--bank BANK]
    skillrl retrieve BANK "heat some egg and put it in garbagecan" [--mode template|embedding] [--top-k 6]
    skillrl convert IN OUT [--format official|native]
    skillrl diff A B                       (A or B may be PATH@VERSION for a native bank's older version)
    skillrl distill EPISODES... -o BANK --teacher offline|openai:MODEL|hf:PATH [--base-url URL] [--model M]
                    [--timeout S] [--max-retries N] [--max-tokens N] [--reasoning-effort low|medium|high]
    skillrl evolve BANK EPISODES --teacher ... (same teacher options) [--max-teacher-tokens N]
    skillrl utility BANK EPISODES.jsonl [--level 0.95] [--seed 0]
    skillrl screen BANK [--apply]          (flagged active records, and the quarantine)
    skillrl quarantine release BANK ID --reason TEXT [--new-id ID]
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from skillrl.bank import SkillBank
from skillrl.errors import ConfigError, MissingDependencyError, SkillRLError


def _flags_as_flags(params: list[Any]) -> list[Any]:
    """Show boolean flags (``--json``, ``--progress/--no-progress``, ``--help``) without a ``<bool>`` value in
    ``--help``: typer's rich help prints the type of every option, flags included, as if they took a value."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Group(TyperGroup):
    """The ``skillrl`` group: its own and every command's flags rendered as flags (see :func:`_flags_as_flags`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_as_flags(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _flags_as_flags(command.get_params(ctx))
        return command


app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True,
                  help="SkillRL skill banks: inspect, detect categories, retrieve, convert, diff, distill, evolve, "
                       "screen, quarantine.")
console = Console()
JSON = typer.Option(False, "--json", help="Machine-readable JSON output.")


def _print_version(value: bool) -> None:
    if value:
        from skillrl import __version__

        sys.stdout.write(f"skillrl {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                       help="Print the skillrl version and exit.")) -> None:
    pass  # the group's options only (its help text is the Typer's)


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


_VERSION_SUFFIX = re.compile(r"@([0-9]+)\Z")  # ASCII digits only: "@²" and "@١" are not versions


def parse_bank_spec(spec: str) -> tuple[str, Optional[int]]:
    """Split ``PATH@VERSION`` into ``(PATH, VERSION)``; ``(spec, None)`` for a plain path.

    VERSION is ``@`` followed by ASCII digits at the end (``bank.json@3``). When ``PATH`` does not exist but the
    whole ``spec`` does (a file literally named ``bank@3``), the literal path wins.
    """
    m = _VERSION_SUFFIX.search(spec)
    if m is None or (not os.path.exists(spec[:m.start()]) and os.path.exists(spec)):
        return spec, None
    return spec[:m.start()], int(m.group(1))


def load_bank_spec(spec: str) -> SkillBank:
    """``PATH`` or ``PATH@VERSION`` (an older version of a native bank, rebuilt from its history; see
    :func:`parse_bank_spec`). Raises BankFormatError (the file) or BankConflictError (no such version)."""
    path, version = parse_bank_spec(spec)
    bank = SkillBank.load(path)
    return bank.at_version(version) if version is not None else bank


def _block_tokens(bank: SkillBank, category: Optional[str]) -> int:
    from skillrl.render import render_block
    from skillrl.retrieval import template_retrieval

    return render_block(template_retrieval(bank, category)).tokens


@app.command()
def inspect(bank: str = typer.Argument(..., help="Bank file (official or native JSON); PATH@VERSION allowed."),
            as_json: bool = JSON) -> None:
    """Counts per tier and category, version, token sizes of the rendered template-mode blocks, and per skill its
    uses and utility (from the native file's usage statistics, :mod:`skillrl.utility`)."""
    from skillrl.utility import estimate, retired

    b = load_bank_spec(bank)
    rows = [{"tier": "general", "category": "-", "skills": len(b.general), "tokens": _block_tokens(b, None)}]
    rows += [{"tier": "task_specific", "category": c, "skills": len(v), "tokens": _block_tokens(b, c)}
             for c, v in b.task_specific.items()]
    summary = {"bank": bank, "version": b.version, "general": len(b.general),
               "task_specific": sum(len(v) for v in b.task_specific.values()), "mistakes": len(b.mistakes),
               "categories": {c: len(v) for c, v in b.task_specific.items()}, "rows": rows,
               "history": len(b.history)}
    est = {e.skill_id: e for e in estimate(b.stats, b, include_unknown=False)} if b.stats.any_withheld else {}
    skills = []
    for sk in b.skills():
        e = est.get(sk.skill_id)
        skills.append({"skill_id": sk.skill_id, "tier": sk.tier, "category": sk.category, "title": sk.title,
                       "uses": b.stats.uses(sk.skill_id), "withheld": b.stats.withheld(sk.skill_id),
                       "utility": e.row()["utility"] if e else None, "ci_low": e.row()["ci_low"] if e else None,
                       "ci_high": e.row()["ci_high"] if e else None})
    summary["skills"] = skills
    summary["episodes_counted"] = b.stats.episodes
    summary["retired"] = [d.model_dump(mode="json") for d in retired(b)]
    if as_json:
        _emit(summary)
        return
    t = Table(title=f"{escape(bank)}  (version {b.version}, {len(b.history)} changes in history)")
    for col in ("tier", "category", "skills", "block tokens*"):
        t.add_column(col, justify="right" if col in ("skills", "block tokens*") else "left")
    for r in rows:
        t.add_row(r["tier"], escape(r["category"]), str(r["skills"]), str(r["tokens"]))
    t.add_row("mistakes", "-", str(len(b.mistakes)), "")
    console.print(t)
    console.print("* tokens of the rendered template-mode block for that category (general skills + first 5 "
                  "mistakes included; general row: no category), estimated at 4 chars/token.")
    st = Table(title=f"skills: uses and utility ({b.stats.episodes} episodes counted)")
    for col in ("skill_id", "category", "title", "uses", "withheld", "utility", "interval"):
        st.add_column(col, justify="right" if col in ("uses", "withheld", "utility") else "left")
    for r in skills:
        interval = f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]" if r["utility"] is not None else "-"
        st.add_row(escape(r["skill_id"]), escape(r["category"] or "(general)"), escape(r["title"]), str(r["uses"]),
                   str(r["withheld"]), f"{r['utility']:+.3f}" if r["utility"] is not None else "-", escape(interval))
    console.print(st)
    console.print("utility: estimated change in success probability when the skill is shown (P(success | shown) - "
                  "P(success | withheld), skill ablation); '-': never withheld, no evidence. See skillrl.utility.")
    for d in summary["retired"]:
        console.print(escape(f"retired: {d['skill_id']} ({d['reason']})"))


@app.command()
def detect(queries: list[str] = typer.Argument(None, help="Task texts."),
           profile: str = typer.Option("alfworld", "--profile", help="alfworld | webshop | search, or a rules JSON file."),
           queries_file: Optional[Path] = typer.Option(None, "--queries", help="File with one query per line."),
           bank: Optional[str] = typer.Option(None, "--bank", help="Also print the category of this bank (PATH or "
                                              "PATH@VERSION) that retrieval uses: the key of its task-specific skills."),
           as_json: bool = JSON) -> None:
    """The profile's task type of each query; with --bank, also the bank's category key (what retrieval uses)."""
    texts = list(queries or [])
    if queries_file is not None:
        texts += [line.strip() for line in queries_file.read_text().splitlines() if line.strip()]
    if not texts:
        raise typer.BadParameter("give QUERY arguments or --queries FILE")
    from skillrl.profiles import resolve_profile

    detector = resolve_profile(profile)
    runtime = None
    if bank is not None:  # the runtime's own detection (the skillrl_detect_category hook), so plugins count too
        from skillrl.runtime import SkillRuntime

        runtime = SkillRuntime(load_bank_spec(bank), mode="template", profile=detector, load_entry_points=True)
    rows = []
    for q in texts:
        row = {"query": q, "task_type": detector.detect(q)}
        if runtime is not None:
            row["category"] = runtime.skills_for(q).category
        rows.append(row)
    if as_json:
        for row in rows:
            _emit(row)
        return
    t = Table(box=None, pad_edge=False)
    if runtime is not None:
        t.add_column("bank category", no_wrap=True)
    t.add_column(f"task type ({profile} profile)", no_wrap=True)
    t.add_column("query")
    for row in rows:
        cells = [str(row["task_type"]), row["query"]]
        t.add_row(*([str(row["category"])] if runtime is not None else []), *cells)
    (console if console.is_terminal else Console(width=200)).print(t)


@app.command()
def retrieve(bank: str = typer.Argument(..., help="Bank file."),
             query: str = typer.Argument(..., help="Task text."),
             mode: str = typer.Option("embedding", help="embedding | template"),
             top_k: int = typer.Option(6, "--top-k", help="Task-specific skills K (and general top-k)."),
             delta: Optional[float] = typer.Option(None, help="Similarity threshold for task-specific skills "
                                                   "(default: the embedder's recommended value, 0.22 for MiniLM)."),
             profile: Optional[str] = typer.Option(None, help="Detect the category first (alfworld|webshop|search)."),
             style: str = typer.Option("official", help="official | compact"),
             max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="Token budget for the block."),
             as_json: bool = JSON) -> None:
    """Exactly the block a policy would see for QUERY."""
    from skillrl.runtime import SkillRuntime

    if profile is None and mode == "template":
        profile = _guess_profile(bank)
    rt = SkillRuntime(load_bank_spec(bank), mode=mode, profile=profile, top_k=top_k, top_k_general=top_k,
                      delta=delta, style=style, max_tokens=max_tokens, load_entry_points=True)
    aug = rt.skills_for(query)
    if as_json:
        _emit({"query": query, "task": aug.task, "category": aug.category, "mode": mode,
               "skill_ids": list(aug.skill_ids), "mistake_ids": list(aug.block.mistake_ids),
               "tokens": aug.block.tokens, "block": aug.block.text})
    else:
        sys.stdout.write(aug.block.text + "\n")


def _guess_profile(bank: str) -> Optional[str]:
    b = load_bank_spec(bank)
    cats = set(b.categories)
    from skillrl.profiles.alfworld import ALFWORLD_TASK_TYPES, OFFICIAL_ALFWORLD_BANK_KEYS

    if {*OFFICIAL_ALFWORLD_BANK_KEYS, *ALFWORLD_TASK_TYPES} & cats:
        return "alfworld"
    if b.task_key == "query_type_skills":
        return "search"
    if {"apparel", "footwear"} & cats:
        return "webshop"
    return None


@app.command()
def convert(src: str = typer.Argument(..., help="Input bank (PATH or PATH@VERSION)."),
            dst: Path = typer.Argument(..., help="Output file."),
            fmt: str = typer.Option("native", "--format", help="native (with provenance and history) | official"),
            as_json: bool = JSON) -> None:
    """Convert between the official SkillRL format and the native one."""
    if fmt not in ("native", "official"):
        raise typer.BadParameter("--format must be native or official")
    src_path, _ = parse_bank_spec(src)
    b = load_bank_spec(src)
    if os.path.exists(dst) and os.path.samefile(src_path, dst):
        on_disk = SkillBank.load(src_path)
        kept = 0 if fmt == "official" else len(b.history)
        if kept < len(on_disk.history):
            raise ConfigError(f"convert would overwrite its source {src_path} (version {on_disk.version}, "
                              f"{len(on_disk.history)} changes in history) with {fmt} version {b.version} keeping "
                              f"{kept} changes; write to another file")
    b.save(dst, format=fmt)  # type: ignore[arg-type]
    if as_json:
        _emit({"src": src, "dst": str(dst), "format": fmt, "skills": len(b), "version": b.version})
    else:
        console.print(f"wrote {escape(str(dst))} ({fmt}, {len(b)} skills, {len(b.mistakes)} mistakes, "
                      f"version {b.version})")


@app.command()
def diff(a: str = typer.Argument(..., help="Bank A (PATH or PATH@VERSION)."),
         b: str = typer.Argument(..., help="Bank B (PATH or PATH@VERSION)."),
         as_json: bool = JSON) -> None:
    """What changed from A to B (by id)."""
    d = load_bank_spec(a).diff(load_bank_spec(b))
    if as_json:
        _emit(d.model_dump())
    else:
        sys.stdout.write(str(d) + "\n")


def _make_cli_teacher(spec: str, base_url: Optional[str], *, model: Optional[str] = None,
                      timeout: Optional[float] = None, max_retries: Optional[int] = None,
                      max_tokens: Optional[int] = None, reasoning_effort: Optional[str] = None,
                      redact: Optional[bool] = None) -> Any:
    """The teacher of ``--teacher`` with the teacher options: ``--model`` fills or replaces the spec's argument
    (``--teacher openai --model o3``); ``--base-url``, ``--timeout``, ``--max-retries``, ``--max-tokens`` and
    ``--reasoning-effort`` go to OpenAI-compatible teachers, ``--max-tokens`` also to ``hf:`` teachers (as
    ``max_new_tokens``), ``--redact/--no-redact`` to both. Options a teacher does not take are an error, not silently
    dropped."""
    from skillrl.teachers import make_teacher

    name, _, arg = spec.partition(":")
    if model:
        spec = f"{name}:{model}"
    kwargs: dict[str, Any] = {}
    openai_opts = {"base_url": base_url, "timeout": timeout, "max_retries": max_retries, "max_tokens": max_tokens,
                   "reasoning_effort": reasoning_effort, "redact": redact}
    if name == "openai":
        kwargs = {k: v for k, v in openai_opts.items() if v is not None}
    elif name == "hf":
        if max_tokens is not None:
            kwargs["max_new_tokens"] = max_tokens
        if redact is not None:
            kwargs["redact"] = redact
    given = [k for k, v in openai_opts.items() if v is not None and k not in kwargs and
             not (name == "hf" and k == "max_tokens")]
    if given:
        opts = ", ".join("--" + k.replace("_", "-") for k in given)
        raise typer.BadParameter(f"{opts} apply to openai: teachers, not {name!r}", param_hint="--teacher")
    try:
        return make_teacher(spec, **kwargs)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--teacher") from None


def _teacher_options() -> dict[str, Any]:
    """The teacher options shared by ``distill`` and ``evolve`` (typer option objects by parameter name)."""
    return {
        "model": typer.Option(None, "--model", help="Model for the teacher (openai:/hf:), e.g. o3 or gpt-4o-mini."),
        "timeout": typer.Option(None, "--timeout", help="Seconds per teacher request (default 60; 300 for "
                                                        "reasoning models)."),
        "max_retries": typer.Option(None, "--max-retries", help="Retries per teacher request on 429/5xx/timeouts "
                                                                "(default 3)."),
        "max_tokens": typer.Option(None, "--max-tokens", help="Teacher answer budget in tokens (default 2048; "
                                                              "16384 for reasoning models)."),
        "reasoning_effort": typer.Option(None, "--reasoning-effort", help="minimal | low | medium | high "
                                                                         "(reasoning models only)."),
        "redact": typer.Option(None, "--redact/--no-redact", help="Redact API keys, tokens and e-mail addresses in "
                               "the trajectories sent to the teacher (default: on for an openai: endpoint that is "
                               "not on localhost)."),
        "screen": typer.Option(True, "--screen/--no-screen", help="Screen proposals for injection and poisoning; "
                               "flagged ones go to the bank's quarantine (default on)."),
        "screen_model": typer.Option(None, "--screen-model", help="Add the learned screen to the rules: 'default' "
                                     "(the model shipped with skillrl) or a model directory (needs torch, "
                                     "transformers, peft)."),
    }


def _cli_screener(on: bool, model: str | None = None) -> Any:
    """The screener of ``--screen``: the built-in rules plus plugins' ``skillrl_screen_record`` verdicts, and the
    learned screen of ``--screen-model`` (``"default"`` or a model directory)."""
    if not on:
        return False
    from skillrl.registry import get_plugin_manager
    from skillrl.screening import Screener

    if model is not None:
        from skillrl.screening_model import resolve_model

        model = resolve_model(model)
    return Screener.from_plugin_manager(get_plugin_manager(), model=model)


_TO = _teacher_options()


def _ratio(x: Optional[float]) -> str:
    return f"{x:,.0f}x" if x is not None else "-"


@app.command()
def distill(episodes: list[Path] = typer.Argument(..., help="Episode files: native JSONL, ALFWorld demos JSONL or "
                                                             "official memories JSON (format autodetected)."),
            output: Path = typer.Option(..., "-o", "--output", help="Bank file to write."),
            teacher: str = typer.Option("offline", "--teacher", help="offline | openai:MODEL | hf:PATH"),
            base_url: Optional[str] = typer.Option(None, "--base-url",
                                                   help="OpenAI-compatible endpoint (with /v1) for openai: teachers."),
            model: Optional[str] = _TO["model"], timeout: Optional[float] = _TO["timeout"],
            max_retries: Optional[int] = _TO["max_retries"], max_tokens: Optional[int] = _TO["max_tokens"],
            reasoning_effort: Optional[str] = _TO["reasoning_effort"], redact: Optional[bool] = _TO["redact"],
            screen: bool = _TO["screen"], screen_model: Optional[str] = _TO["screen_model"],
            into: Optional[str] = typer.Option(None, "--into", help="Extend this bank (PATH or PATH@VERSION) "
                                                                    "instead of starting from an empty one."),
            fmt: str = typer.Option("native", "--format", help="native (provenance, history) | official"),
            max_skill_tokens: int = typer.Option(125, "--max-skill-tokens", help="Token budget per skill/mistake."),
            exact_dedup: bool = typer.Option(False, "--exact-dedup",
                                             help="Dedup by exact title/principle only (no embedding model)."),
            progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars."),
            as_json: bool = JSON) -> None:
    """Distil a skill bank from episodes (successes -> patterns, failures -> lessons and mistakes)."""
    from skillrl.distill import DistillConfig, SkillDistiller, compression_stats
    from skillrl.episode import load_episodes

    if fmt not in ("native", "official"):
        raise typer.BadParameter("--format must be native or official")
    eps = [ep for path in episodes for ep in load_episodes(path, progress=progress and not as_json)]
    if not eps:
        raise typer.BadParameter("the episode files hold no episodes", param_hint="EPISODES")
    distiller = SkillDistiller(_make_cli_teacher(teacher, base_url, model=model, timeout=timeout,
                                                 max_retries=max_retries, max_tokens=max_tokens,
                                                 reasoning_effort=reasoning_effort, redact=redact),
                               DistillConfig(max_skill_tokens=max_skill_tokens, embedding_dedup=not exact_dedup),
                               progress=progress and not as_json, screen=_cli_screener(screen, screen_model))
    bank, report = distiller.distill(eps, bank=load_bank_spec(into) if into else None)
    bank.save(output, format=fmt)  # type: ignore[arg-type]
    comp = compression_stats(bank, eps)
    if as_json:
        _emit({"output": str(output), "format": fmt, "counts": bank.counts(), "report": report.model_dump(),
               "compression": comp})
        return
    t = Table(title=escape(f"{output}: {len(bank)} skills, {len(bank.mistakes)} mistakes (teacher {report.teacher})"))
    t.add_column("category", no_wrap=True)
    for col in ("eps", "succ", "fail", "skills", "raw tok", "skill tok", "raw/skill"):
        t.add_column(col, justify="right", no_wrap=True)
    for c, st in report.categories.items():
        cs = comp["categories"].get(c, {})
        t.add_row(escape(c), str(st["episodes"]), str(st["successes"]), str(st["failures"]), str(st["skills"]),
                  f"{cs.get('raw_tokens', 0):,}", f"{cs.get('skill_tokens', 0):,}", _ratio(cs.get("ratio")))
    t.add_row("(general)", "", "", "", str(len(bank.general)), "", f"{comp['general']['skill_tokens']:,}", "")
    t.add_row("(mistakes)", "", "", "", str(len(bank.mistakes)), "", f"{comp['mistakes']['tokens']:,}", "")
    ov = comp["overall"]
    t.add_row("all", str(report.episodes), str(report.successes), str(report.failures), str(len(bank)),
              f"{ov['raw_tokens']:,}", f"{ov['bank_tokens']:,}", _ratio(ov["ratio"]))
    (console if console.is_terminal else Console(width=120)).print(t)  # pipes and files: no 80-column squeeze
    console.print("tokens: ceil(chars/4) estimate; raw = the episodes' text, skill = the rendered official-style "
                  "sections.")
    off = [f"{k} {v['count']} (target {v['min']}-{v['max']})" for k, v in
           [("general", report.shape["general"]), ("mistakes", report.shape["mistakes"])] if not v["ok"]]
    off += [f"{c} {v['count']} (target {v['min']}-{v['max']})" for c, v in report.shape["task_specific"].items()
            if not v["ok"]]
    if off:
        console.print("outside the target shape: " + escape("; ".join(off)))
    if report.rejected:
        reasons = Counter(r.reason.split(" (")[0].split(" of ")[0] for r in report.rejected)
        console.print(f"{len(report.rejected)} proposals not filed: " + escape(", ".join(f"{k} x{v}" for k, v in
                                                                                        reasons.most_common())))
    for q in report.quarantined:
        console.print(escape(f"quarantined [{q.category}] {q.title}: {q.reason}"))
    for err in report.errors:
        console.print(f"[yellow]teacher call failed[/yellow] {escape(str(err))}")
    console.print(escape(report.summary()))
    if report.calls and not any(c.ok for c in report.calls):
        raise typer.Exit(1)


@app.command()
def evolve(bank: str = typer.Argument(..., help="Bank file (official or native JSON)."),
           episodes: Path = typer.Argument(..., help="Scored episodes (any episode format); each episode's "
                                                     "category should be a bank key (see --profile)."),
           teacher: str = typer.Option("offline", "--teacher", help="offline | openai:MODEL | hf:PATH"),
           base_url: Optional[str] = typer.Option(None, "--base-url",
                                                  help="OpenAI-compatible endpoint (with /v1) for openai: teachers."),
           model: Optional[str] = _TO["model"], timeout: Optional[float] = _TO["timeout"],
           max_retries: Optional[int] = _TO["max_retries"], max_tokens: Optional[int] = _TO["max_tokens"],
           reasoning_effort: Optional[str] = _TO["reasoning_effort"], redact: Optional[bool] = _TO["redact"],
           screen: bool = _TO["screen"], screen_model: Optional[str] = _TO["screen_model"],
           max_teacher_tokens: Optional[int] = typer.Option(None, "--max-teacher-tokens",
                                                            help="Teacher token budget of the step (default: none)."),
           step: int = typer.Option(0, "--step", help="Trainer step recorded in provenance."),
           output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here instead of in place."),
           fmt: str = typer.Option("auto", "--format", help="auto (in place: the input's format; -o: native) | "
                                                             "native | official"),
           split: Optional[str] = typer.Option(None, "--split", help="Use only episodes of this split."),
           profile: Optional[str] = typer.Option(None, "--profile", help="Map episode categories that are not bank "
                                                 "keys (e.g. ALFWorld task types) to bank keys (alfworld|webshop|search)."),
           threshold: float = typer.Option(0.4, "--threshold", help="Evolve categories whose success rate is below."),
           max_new_skills: int = typer.Option(3, "--max-new-skills", help="Most bank changes in this step."),
           exact_dedup: bool = typer.Option(False, "--exact-dedup",
                                            help="Dedup by exact title/principle only (no embedding model)."),
           as_json: bool = JSON) -> None:
    """One evolution step (SkillRL Sec. 3.3) from a file of scored episodes; prints the report, writes the bank."""
    from skillrl.dedup import Deduplicator
    from skillrl.episode import load_episodes
    from skillrl.evolve import EvolutionConfig, Evolver

    if fmt not in ("auto", "native", "official"):
        raise typer.BadParameter("--format must be auto, native or official")
    path = Path(bank)
    b = SkillBank.load(path)
    eps = load_episodes(episodes, progress=False)
    if split is not None:
        eps = [e for e in eps if e.split == split]
    if profile is not None:
        from skillrl.profiles import resolve_profile

        det = resolve_profile(profile)
        eps = [e if e.category in b.categories or e.category is None else
               e.model_copy(update={"category": det.to_bank_category(e.category, b) or e.category}) for e in eps]
    if not eps:
        raise typer.BadParameter("no episodes to evolve from" + (f" in split {split!r}" if split else ""))
    evolver = Evolver(_make_cli_teacher(teacher, base_url, model=model, timeout=timeout, max_retries=max_retries,
                                        max_tokens=max_tokens, reasoning_effort=reasoning_effort, redact=redact),
                      EvolutionConfig(update_threshold=threshold, max_new_skills=max_new_skills,
                                      max_teacher_tokens=max_teacher_tokens),
                      screen=_cli_screener(screen, screen_model))
    if exact_dedup:
        evolver.dedup = Deduplicator(None, threshold=evolver.config.dedup_threshold, lazy_default=False)
    report = evolver.evolve(b, eps, step=step)
    dst = output or path
    if fmt == "auto":
        was_native = output is None and json.loads(path.read_text(encoding="utf-8")).get("format") == "skillrl-bank"
        fmt = "native" if output is not None or was_native else "official"
    wrote = None
    if output is not None or report.changed:
        b.save(dst, format=fmt)  # type: ignore[arg-type]
        wrote = str(dst)
    if as_json:
        _emit({"report": report.model_dump(), "wrote": wrote, "format": fmt, "counts": b.counts()})
    else:
        t = Table(title=escape(f"evolution at step {step} ({report.teacher}): v{report.version_before} -> "
                               f"v{report.version_after}"))
        for col in ("category", "episodes", "success rate", "evolved", "failures shown"):
            t.add_column(col, justify="left" if col == "category" else "right")
        counts = Counter(e.category or "unknown" for e in eps)
        for c, r in report.success_rates.items():
            t.add_row(escape(c), str(counts[c]), f"{r:.2f}", "yes" if c in report.low_categories else "",
                      str(len(report.failures_used.get(c, []))))
        console.print(t)
        for label, ids in (("added", report.added), ("refined", report.refined), ("evicted", report.evicted),
                           ("mistakes added", report.mistakes_added)):
            if ids:
                console.print(f"{label}: {escape(', '.join(ids))}")
        for r in report.rejected:
            console.print(escape(f"rejected [{r.category}] {r.title}: {r.reason}"))
        for r in report.quarantined:
            console.print(escape(f"quarantined [{r.category}] {r.title}: {r.reason}"))
        for e in report.errors:
            console.print(f"[yellow]{escape(str(e))}[/yellow]")
        if report.error:
            console.print(f"[red]evolution failed, bank unchanged:[/red] {escape(str(report.error))}")
        console.print(escape(report.summary()))
        console.print(f"wrote {escape(wrote)} ({fmt})" if wrote else "bank unchanged, nothing written")
        if wrote and fmt == "official" and b.quarantined:
            console.print(f"[yellow]note:[/yellow] the official format has no quarantine: {len(b.quarantined)} "
                          "quarantined record(s) were not written (use --format native to keep them)")
    if report.error or (report.errors and not report.changed):
        raise typer.Exit(1)


@app.command()
def utility(bank: str = typer.Argument(..., help="Bank file (official or native JSON); PATH@VERSION allowed."),
            episodes: Path = typer.Argument(..., help="Episodes in the native JSONL format (skill_ids filled; "
                                                      "metadata.withheld from skill ablation)."),
            level: float = typer.Option(0.95, "--level", help="Interval level (Bonferroni-adjusted within each "
                                                              "category's skills and within the general skills)."),
            seed: int = typer.Option(0, "--seed", help="Seed of the Monte-Carlo draws."),
            draws: int = typer.Option(20_000, "--draws", help="Monte-Carlo draws per skill."),
            split: Optional[str] = typer.Option(None, "--split", help="Use only episodes of this split."),
            as_json: bool = JSON) -> None:
    """Each skill's estimated effect on success from EPISODES: one row per skill with skill_id, category, uses,
    utility (P(success | shown) - P(success | withheld), in [-1, 1]; null when never withheld), ci_low, ci_high."""
    from skillrl.episode import load_episodes
    from skillrl.utility import UsageStats, estimate

    b = load_bank_spec(bank)
    eps = load_episodes(episodes, format="native", progress=False)
    if split is not None:
        eps = [e for e in eps if e.split == split]
    stats = UsageStats()
    stats.add(eps, version=b.version)
    if not 0.0 < level < 1.0:
        raise typer.BadParameter("--level must be between 0 and 1", param_hint="--level")
    rows = estimate(stats, b, level=level, seed=seed, draws=max(draws, 100))
    if as_json:
        for e in rows:
            _emit(e.row())
        return
    t = Table(title=escape(f"utility per skill: {bank} from {episodes} ({stats.episodes} episodes with a block)"))
    for col in ("skill_id", "category", "uses", "utility", "ci_low", "ci_high"):
        t.add_column(col, justify="left" if col in ("skill_id", "category") else "right")

    def num(x: Optional[float]) -> str:
        return "-" if x is None else f"{x:+.3f}"

    for e in rows:
        r = e.row()
        t.add_row(escape(r["skill_id"]), escape(r["category"] or "(general)"), str(r["uses"]), num(r["utility"]),
                  num(r["ci_low"]), num(r["ci_high"]))
    (console if console.is_terminal else Console(width=120)).print(t)
    console.print(f"utility: posterior mean of P(success | shown) - P(success | withheld); interval at level {level:g},"
                  " Bonferroni-adjusted per family (each category's skills, the general skills); '-': never "
                  "withheld. Estimator: skillrl.utility.")


def _record_row(kind: str, record: Any) -> dict[str, Any]:
    if kind == "skill":
        return {"kind": kind, "id": record.skill_id, "tier": record.tier, "category": record.category,
                "title": record.title, "text": record.principle}
    return {"kind": kind, "id": record.mistake_id, "tier": None, "category": record.category,
            "title": record.description, "text": record.how_to_avoid}


@app.command()
def screen(bank: str = typer.Argument(..., help="Bank file (official or native JSON)."),
           apply: bool = typer.Option(False, "--apply", help="Move the flagged active records into the bank's "
                                                             "quarantine and save the bank (native format)."),
           screen_model: Optional[str] = _TO["screen_model"],
           as_json: bool = JSON) -> None:
    """Screen a bank for injection and poisoning (skillrl.screening plus plugins' skillrl_screen_record verdicts):
    the active records that are flagged, then the records already in quarantine. Exit code 1 when active records
    are flagged and not moved (--apply)."""
    path = Path(bank)
    b = SkillBank.load(path)
    screener = _cli_screener(True, screen_model)
    records = [("skill", r) for r in b.skills()] + [("mistake", m) for m in b.mistakes]
    flagged = []
    for kind, rec in records:
        v = screener(rec)
        if v.flagged:
            flagged.append({**_record_row(kind, rec), "score": v.score, "kinds": v.kinds, "reasons": list(v.reasons)})
    moved = False
    if apply and flagged:
        with SkillBank.edit(path, format="native") as live:
            live.screen_records(screener, origin=str(path), reason=f"skillrl screen --apply: {len(flagged)} flagged")
        b, moved = SkillBank.load(path), True
    quarantine = [{"entry_id": e.entry_id, "kind": e.kind, "record_id": e.record_id, "source": e.source,
                   "action": e.action, "score": e.score, "reasons": list(e.reasons), "timestamp": e.timestamp,
                   "title": e.record.get("title") or e.record.get("description"), "origin": e.origin}
                  for e in b.quarantined]
    if as_json:
        _emit({"bank": bank, "version": b.version, "screened": len(records), "flagged": flagged, "moved": moved,
               "quarantine": quarantine})
    else:
        console.print(f"{escape(bank)}: {len(records)} active records screened, {len(flagged)} flagged"
                      + (" and moved into the quarantine" if moved else ""))
        for f in flagged:
            console.print(escape(f"  FLAGGED {f['kind']} {f['id']} ({f['category'] or f['tier'] or '-'}) "
                                 f"score {f['score']:g}: {f['title']}"))
            for r in f["reasons"]:
                console.print(escape(f"      {r}"))
        console.print(f"quarantine: {len(quarantine)} record(s)")
        for q in quarantine:
            console.print(escape(f"  {q['entry_id']} {q['kind']} ({q['source']}, {q['action']}) score {q['score']:g}: "
                                 f"{q['title']}"))
            for r in q["reasons"]:
                console.print(escape(f"      {r}"))
    if flagged and not moved:
        raise typer.Exit(1)


quarantine_app = typer.Typer(cls=_Group, no_args_is_help=True,
                             help="The bank's quarantine: records screening flagged.")
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("release")
def quarantine_release(bank: str = typer.Argument(..., help="Native bank file."),
                       entry_id: str = typer.Argument(..., metavar="ID", help="Quarantine entry id "
                                                      "(see skillrl screen BANK)."),
                       reason: str = typer.Option(..., "--reason", help="Why the screening verdict is overridden "
                                                                        "(recorded in the bank's history)."),
                       new_id: Optional[str] = typer.Option(None, "--new-id", help="Add it under this id (when its "
                                                            "own is taken)."),
                       as_json: bool = JSON) -> None:
    """Move a quarantined record into the bank (one new version with the reason), under the bank file's lock."""
    if not reason.strip():
        raise typer.BadParameter("give a non-empty reason", param_hint="--reason")
    with SkillBank.edit(Path(bank)) as b:
        try:
            record = b.release(entry_id, reason, new_id=new_id)
        except KeyError as err:
            raise typer.BadParameter(str(err.args[0] if err.args else err), param_hint="ID") from None
        version = b.version
    rid = getattr(record, "skill_id", None) or getattr(record, "mistake_id")
    if as_json:
        _emit({"bank": bank, "released": entry_id, "record_id": rid, "version": version, "reason": reason})
    else:
        console.print(escape(f"released {entry_id} into {bank} as {rid} (version {version}): {reason}"))


def main() -> None:
    """Console entry point: turns skillrl errors into a one-line message and exit code 2."""
    err_console = Console(stderr=True, soft_wrap=True)  # one line, whatever the terminal width
    try:
        app()
    except (SkillRLError, FileNotFoundError) as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}")  # escape: keeps the hint's '.[embeddings]'
        if isinstance(err, MissingDependencyError) and err.extra == "embeddings":
            err_console.print("(no embedding model is needed with --mode template, or --exact-dedup for distill "
                              "and evolve)")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()

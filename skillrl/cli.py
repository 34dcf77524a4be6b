"""The ``skillrl`` command. Every command takes ``--json`` for machine-readable output.

    skillrl inspect BANK
    skillrl detect --profile alfworld "put a hot apple in fridge" [--queries FILE]
    skillrl retrieve BANK "heat some egg and put it in garbagecan" [--mode template|embedding] [--top-k 6]
    skillrl convert IN OUT [--format official|native]
    skillrl diff A B                       (A or B may be PATH@VERSION for a native bank's older version)
    skillrl distill EPISODES... -o BANK --teacher offline|openai:MODEL|hf:PATH
    skillrl evolve BANK EPISODES --teacher ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from skillrl.bank import SkillBank
from skillrl.errors import SkillRLError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="SkillRL skill banks: inspect, detect categories, retrieve, convert, diff, distill, evolve.")
console = Console()
JSON = typer.Option(False, "--json", help="Machine-readable JSON output.")


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def load_bank_spec(spec: str) -> SkillBank:
    """``PATH`` or ``PATH@VERSION`` (an older version of a native bank, rebuilt from its history)."""
    path, _, version = spec.rpartition("@") if "@" in spec and spec.rpartition("@")[2].isdigit() else (spec, "", "")
    bank = SkillBank.load(path)
    return bank.at_version(int(version)) if version else bank


def _block_tokens(bank: SkillBank, category: Optional[str]) -> int:
    from skillrl.render import render_block
    from skillrl.retrieval import template_retrieval

    return render_block(template_retrieval(bank, category)).tokens


@app.command()
def inspect(bank: str = typer.Argument(..., help="Bank file (official or native JSON); PATH@VERSION allowed."),
            as_json: bool = JSON) -> None:
    """Counts per tier and category, version, and token sizes of the rendered template-mode blocks."""
    b = load_bank_spec(bank)
    rows = [{"tier": "general", "category": "-", "skills": len(b.general), "tokens": _block_tokens(b, None)}]
    rows += [{"tier": "task_specific", "category": c, "skills": len(v), "tokens": _block_tokens(b, c)}
             for c, v in b.task_specific.items()]
    summary = {"bank": bank, "version": b.version, "general": len(b.general),
               "task_specific": sum(len(v) for v in b.task_specific.values()), "mistakes": len(b.mistakes),
               "categories": {c: len(v) for c, v in b.task_specific.items()}, "rows": rows,
               "history": len(b.history)}
    if as_json:
        _emit(summary)
        return
    t = Table(title=f"{bank}  (version {b.version}, {len(b.history)} changes in history)")
    for col in ("tier", "category", "skills", "block tokens*"):
        t.add_column(col, justify="right" if col in ("skills", "block tokens*") else "left")
    for r in rows:
        t.add_row(r["tier"], r["category"], str(r["skills"]), str(r["tokens"]))
    t.add_row("mistakes", "-", str(len(b.mistakes)), "")
    console.print(t)
    console.print("* tokens of the rendered template-mode block for that category (general skills + first 5 "
                  "mistakes included; general row: no category), estimated at 4 chars/token.")


@app.command()
def detect(queries: list[str] = typer.Argument(None, help="Task texts."),
           profile: str = typer.Option("alfworld", "--profile", help="alfworld | webshop | search, or a rules JSON file."),
           queries_file: Optional[Path] = typer.Option(None, "--queries", help="File with one query per line."),
           as_json: bool = JSON) -> None:
    """The category of each query, one line per query."""
    from skillrl.detection import get_profile

    texts = list(queries or [])
    if queries_file is not None:
        texts += [line.strip() for line in queries_file.read_text().splitlines() if line.strip()]
    if not texts:
        raise typer.BadParameter("give QUERY arguments or --queries FILE")
    detector = get_profile(profile)
    for q in texts:
        cat = detector.detect(q)
        if as_json:
            _emit({"query": q, "category": cat})
        else:
            sys.stdout.write(f"{cat}\t{q}\n")


@app.command()
def retrieve(bank: str = typer.Argument(..., help="Bank file."),
             query: str = typer.Argument(..., help="Task text."),
             mode: str = typer.Option("embedding", help="embedding | template"),
             top_k: int = typer.Option(6, "--top-k", help="Task-specific skills K (and general top-k)."),
             delta: float = typer.Option(0.4, help="Similarity threshold for task-specific skills."),
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
    if {"heat", "cool", "clean"} & cats:
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
    b = load_bank_spec(src)
    b.save(dst, format=fmt)  # type: ignore[arg-type]
    if as_json:
        _emit({"src": src, "dst": str(dst), "format": fmt, "skills": len(b), "version": b.version})
    else:
        console.print(f"wrote {dst} ({fmt}, {len(b)} skills, {len(b.mistakes)} mistakes, version {b.version})")


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


def main() -> None:
    """Console entry point: turns skillrl errors into a one-line message and exit code 2."""
    try:
        app()
    except SkillRLError as err:
        Console(stderr=True).print(f"[red]error:[/red] {err}")
        raise SystemExit(2) from None
    except FileNotFoundError as err:
        Console(stderr=True).print(f"[red]error:[/red] {err}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()

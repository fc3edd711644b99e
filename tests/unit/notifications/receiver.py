"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 in this helper's port block
(33000-33999) that verifies signatures, fails the first attempts of each idempotency key on purpose,
and accepts each key once (a later copy is answered 200 but not counted again, as receivers should)."""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.notifications.signing import SIGNATURE_HEADER, SignatureError, verify

PORT_BLOCK = (33500, 33899)  # the network uses the base of the block, the gateway 339xx


@dataclass
class Receiver:
    secret: str = ""
    fail_first: int = 0  # answer 500 to the first N attempts of each key
    always_fail: bool = False
    attempts: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def handle(self, headers: Any, body: bytes) -> int:
        key = headers.get("Idempotency-Key") or ""
        with self.lock:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            if self.always_fail or self.attempts[key] <= self.fail_first:
                return 503
            if self.secret:
                try:
                    verify(self.secret, body, headers.get(SIGNATURE_HEADER))
                except SignatureError:
                    self.bad_signatures += 1
                    return 400
            if key in self.accepted:
                self.duplicates += 1
                return 200
            self.accepted[key] = json.loads(body)
            return 200

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.handle(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        for _ in range(50):
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", random.randint(*PORT_BLOCK)), Handler)
                break
            except OSError:
                continue
        assert self.server is not None, "no free port in the block"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

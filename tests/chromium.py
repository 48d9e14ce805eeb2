"""Open a page in headless Chromium and report what it did: every request it made, every
console error, failed load and uncaught exception, and a screenshot of its first screen.

Talks to Chromium over its DevTools protocol (a websocket) with the standard library alone:
the few frames this needs are written by hand rather than pulling in a websocket package.
Used by ``tests/test_report_page.py`` (skipped where no ``chromium`` is installed) and by hand:

    python tests/chromium.py results/report/index.html docs/results-page.png
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

#: The flags of a headless Chromium that fetches nothing of its own (no update, sync, QUIC).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio")  # fmt: skip


def chromium() -> str | None:
    """The Chromium executable on the PATH (Debian's ``chromium``), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _WebSocket:
    """A client websocket (RFC 6455): text frames out, masked; text frames in, reassembled."""

    def __init__(self, url: str, timeout: float):
        rest = url.split("://", 1)[1]
        hostport, path = rest.split("/", 1)
        host, port = hostport.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())  # fmt: skip
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake refused: {head[:80]!r}")

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("websocket closed")
            out += chunk
        return out

    def send(self, text: str) -> None:
        data = text.encode()
        n = len(data)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536
                                  else bytes([0x80 | 127]) + struct.pack(">Q", n))  # fmt: skip
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self) -> str:
        parts = []
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise ConnectionError("websocket closed by the browser")
            if opcode in (0, 1, 2):
                parts.append(payload)
                if b0 & 0x80:
                    return b"".join(parts).decode()


@dataclass
class PageVisit:
    """What a page did when opened: ``requests`` (every URL it asked for), ``errors`` (console
    errors, failed loads, uncaught exceptions), ``screenshot`` (PNG bytes of the first screen)
    and ``results`` of the expressions evaluated after it loaded."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    results: list = field(default_factory=list)


def visit(page: Path, width: int = 1400, height: int = 900, evaluate: tuple[str, ...] = (), timeout: float = 300.0) -> PageVisit:
    """Open ``page`` (a file) in a fresh headless Chromium with an empty profile, wait for its
    load event, evaluate ``evaluate`` (JavaScript expressions, their values returned) and take
    a screenshot of its first ``width`` x ``height`` screen."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("no chromium on the PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not (port_file.exists() and port_file.read_text().strip()):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise TimeoutError("chromium did not open its DevTools port")
                time.sleep(0.2)
            port = int(port_file.read_text().split()[0])
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout).read())
            target = next(t for t in targets if t.get("type") == "page")
            return _drive(_WebSocket(target["webSocketDebuggerUrl"], timeout), page, width, height, evaluate, timeout)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _drive(ws: _WebSocket, page: Path, width: int, height: int, evaluate: tuple[str, ...], timeout: float) -> PageVisit:
    out = PageVisit()
    ids = iter(range(1, 1_000_000))
    replies: dict[int, dict] = {}

    def call(method: str, **params) -> dict:
        n = next(ids)
        ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while n not in replies:
            pump()
        reply = replies.pop(n)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    loaded = []

    def pump() -> None:
        message = json.loads(ws.recv())
        if "id" in message:
            replies[message["id"]] = message
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            out.requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            out.errors.append(f"failed to load ({params.get('errorText')}) request {params.get('requestId')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            out.errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            out.errors.append("exception: " + params.get("exceptionDetails", {}).get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            entry = params["entry"]
            out.errors.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Page.loadEventFired":
            loaded.append(True)

    for domain in ("Network", "Runtime", "Log", "Page"):
        call(f"{domain}.enable")
    call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
    call("Page.navigate", url=page.resolve().as_uri())
    deadline = time.monotonic() + timeout
    while not loaded:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{page} did not load")
        pump()
    for expression in evaluate:
        result = call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            out.errors.append("evaluate: " + result["exceptionDetails"].get("text", ""))
        out.results.append(result.get("result", {}).get("value"))
    out.screenshot = base64.b64decode(call("Page.captureScreenshot", format="png")["data"])
    return out


if __name__ == "__main__":
    page, shot = Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None
    seen = visit(page)
    folder = page.resolve().parent.as_uri() + "/"
    outside = [u for u in seen.requests if not (u.startswith(folder) or u.startswith("data:"))]
    print(f"{len(seen.requests)} requests, {len(outside)} outside {folder}; {len(seen.errors)} console errors")
    for line in outside + seen.errors:
        print("  " + line)
    if shot is not None:
        shot.write_bytes(seen.screenshot)
        print(f"screenshot of the first screen: {shot}")
    sys.exit(1 if outside or seen.errors else 0)

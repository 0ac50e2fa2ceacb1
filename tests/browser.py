"""Headless Chromium driven over the Chrome DevTools Protocol.

Debian's `chromium` runs with a throwaway profile and lets the system choose
its debugging port; the driver talks to the one page over its websocket. It
types with `Input.insertText` and clicks with real mouse events at an
element's centre, as a person would, and waits for each page to load.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import websocket

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1000,900",
)
START_SECONDS = 30
STEP_SECONDS = 30


class BrowserError(RuntimeError):
    """Chromium did not start or did not answer in time."""


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.profile = Path(tempfile.mkdtemp(prefix="tapcraft-chromium-"))
        self.process: subprocess.Popen | None = None
        self.socket: websocket.WebSocket | None = None
        self.events: list[dict[str, Any]] = []
        self.next_id = 0

    def __enter__(self) -> Browser:
        self.process = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        target = self._page_target(self._debugging_port())
        self.socket = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=STEP_SECONDS, suppress_origin=True
        )
        self.send("Page.enable")
        self.send("Runtime.enable")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.socket:
            self.socket.close()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _debugging_port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise BrowserError("chromium exited during start-up")
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().splitlines()[0])
            time.sleep(0.1)
        raise BrowserError(f"chromium did not open its port in {START_SECONDS} s")

    def _page_target(self, port: int) -> dict[str, Any]:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=5)
            pages = [t for t in targets.json() if t.get("type") == "page"]
            if pages:
                return pages[0]
            time.sleep(0.1)
        raise BrowserError("chromium offered no page to drive")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a protocol method and return its result."""
        assert self.socket is not None
        self.next_id += 1
        call_id = self.next_id
        self.socket.send(
            json.dumps({"id": call_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str) -> dict[str, Any]:
        """The next `event` that arrived since the last action, or wait for it."""
        assert self.socket is not None
        deadline = time.monotonic() + STEP_SECONDS
        while time.monotonic() < deadline:
            for index, message in enumerate(self.events):
                if message.get("method") == event:
                    del self.events[: index + 1]
                    return message
            self.events.append(json.loads(self.socket.recv()))
        raise BrowserError(f"no {event} within {STEP_SECONDS} s")

    def open(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True
        )["result"]
        return result.get("value")

    def text(self) -> str:
        return self.evaluate("document.body.innerText")

    def url(self) -> str:
        return self.evaluate("location.href")

    def type_into(self, selector: str, text: str) -> None:
        found = self.evaluate(
            f"(e => {{ if (!e) return false; e.focus(); return true; }})"
            f"(document.querySelector({json.dumps(selector)}))"
        )
        if not found:
            raise BrowserError(f"nothing matches {selector}")
        self.send("Input.insertText", text=text)

    def click(self, selector: str) -> None:
        """Click the element's centre and wait for the page that follows."""
        box = self.evaluate(
            f"JSON.stringify(document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect())"
        )
        if box is None:
            raise BrowserError(f"nothing matches {selector}")
        rect = json.loads(box)
        x, y = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2
        self.events.clear()
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=x,
                y=y,
                button="left",
                clickCount=1,
            )
        self.wait_for("Page.loadEventFired")

    def press_enter(self) -> None:
        """Press Enter in the focused field and wait for the page that follows."""
        self.events.clear()
        for kind in ("keyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key="Enter",
                code="Enter",
                windowsVirtualKeyCode=13,
                text="\r" if kind == "keyDown" else "",
            )
        self.wait_for("Page.loadEventFired")

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

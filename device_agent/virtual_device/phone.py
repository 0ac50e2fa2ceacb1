"""The simulated phone: installed apps, the one in front, inputs and the screen.

Every input runs three stages under the phone's lock:

1. Gate: a sleeping screen ignores touches and text; coordinates outside the
   screen hit nothing.
2. Route: the status bar and the navigation bar belong to the phone (BACK,
   HOME, app switch); everything else goes to the foreground app in content
   coordinates, and the app says what was hit.
3. Record: the input, the package in front when it arrived and what it hit are
   appended to the input log; launches an input caused are recorded after it.

Rendering composes the foreground app's content area with the status bar and
the three-button navigation bar.
"""

import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import drawing, input_log, keycodes, system_bars
from .apps import App, FeedApp, FormApp, GenericApp, LauncherApp, MailApp
from .config import LAUNCHER, SYSTEM_APPS, SYSTEM_PACKAGES, AppSpec, VirtualDeviceConfig
from .filesystem import FileSystem
from .geometry import Geometry, Rect
from .input_log import Hit, InputEvent, InputLog
from .properties import build_properties

TOUCH_SLOP_DP = 8
LONG_PRESS_MS = 500
LAUNCHER_PID = 2187
_FIRST_APP_PID = 4213
_PID_STEP = 17


@dataclass(frozen=True)
class LaunchResult:
    """Outcome of a launch request: ``error`` is None on success."""

    package: str
    component: str | None
    error: str | None = None
    was_in_front: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class LikeButton:
    """A like button visible on screen, in screen pixels."""

    post_id: str
    rect: Rect
    liked: bool


class Phone:
    """State of one virtual phone; every public method is thread-safe."""

    def __init__(self, config: VirtualDeviceConfig) -> None:
        self.config = config
        self.geometry = Geometry(config.width, config.height)
        self.inputs = InputLog()
        self.files = FileSystem()
        self.properties = build_properties(config)
        self.settings = _default_settings(config)
        self.screen_on = True
        self._lock = threading.RLock()
        self._catalog = {spec.package: spec for spec in _catalog(config)}
        self._installed = self._initial_packages(config)
        self._stores: dict[str, dict[str, Any]] = {}
        self._running: dict[str, App] = {}
        self._pids: dict[str, int] = {}
        self._next_pid = _FIRST_APP_PID
        self._foreground = LAUNCHER.package
        self._pending: list[Callable[[], None]] = []
        self._launcher = LauncherApp(
            LAUNCHER,
            self.geometry,
            {},
            icons=self._launcher_icons,
            launch=self._queue_launch,
        )

    # Packages and activities

    def installed_packages(self) -> list[str]:
        with self._lock:
            return sorted(self._installed)

    def is_installed(self, package: str) -> bool:
        with self._lock:
            return package in self._installed

    def app_spec(self, package: str) -> AppSpec | None:
        """The launchable app of an installed package, or None."""
        with self._lock:
            if package not in self._installed:
                return None
            return self._catalog.get(package)

    def set_installed(self, package: str, installed: bool) -> bool:
        """Install or remove a package; returns False if nothing changed."""
        with self._lock:
            if package == LAUNCHER.package or (package in self._installed) == installed:
                return False
            if installed:
                self._installed.add(package)
            else:
                self._stop(package)
                self._installed.discard(package)
                self._stores.pop(package, None)
            return True

    def foreground(self) -> AppSpec:
        with self._lock:
            return self._catalog.get(self._foreground, LAUNCHER)

    def running(self) -> dict[str, int]:
        """Package to pid of every running app, the launcher included."""
        with self._lock:
            return {LAUNCHER.package: LAUNCHER_PID, **self._pids}

    def launch(self, package: str, source: str) -> LaunchResult:
        """Bring an app to the front, starting it if needed, and record it."""
        with self._lock:
            in_front = self._foreground
            result = self._launch(package)
            params = {"package": package, "source": source}
            hit = Hit("app", package, "launched" if result.ok else result.error)
            self.inputs.record(input_log.LAUNCH, in_front, params, hit)
            return result

    def force_stop(self, package: str, source: str = "am") -> bool:
        """Kill an app, losing its UI state; returns whether it was running."""
        with self._lock:
            in_front = self._foreground
            was_running = self._stop(package)
            params = {"package": package, "source": source}
            hit = Hit("app", package, "stopped" if was_running else "not_running")
            self.inputs.record(input_log.STOP, in_front, params, hit)
            return was_running

    def clear_data(self, package: str) -> bool:
        with self._lock:
            if package not in self._installed:
                return False
            self._stop(package)
            self._stores.pop(package, None)
            return True

    # Inputs

    def tap(self, x: float, y: float) -> InputEvent:
        px, py = round(x), round(y)
        with self._lock:
            event = self._record(
                input_log.TAP,
                {"x": px, "y": py},
                lambda: self._route_touch(px, py, False),
            )
            self._run_pending()
            return event

    def long_press(self, x: float, y: float, duration_ms: int) -> InputEvent:
        px, py = round(x), round(y)
        params = {"x": px, "y": py, "duration_ms": duration_ms}
        return self._record(
            input_log.LONG_PRESS, params, lambda: self._route_touch(px, py, long=True)
        )

    def swipe(
        self, x1: float, y1: float, x2: float, y2: float, duration_ms: int
    ) -> InputEvent:
        """A drag; one shorter than the touch slop is a tap or a long press."""
        dx, dy = round(x2 - x1), round(y2 - y1)
        if max(abs(dx), abs(dy)) < self.geometry.px(TOUCH_SLOP_DP):
            if duration_ms >= LONG_PRESS_MS:
                return self.long_press(x1, y1, duration_ms)
            return self.tap(x1, y1)
        start = (round(x1), round(y1))
        params = {"x1": start[0], "y1": start[1], "x2": round(x2), "y2": round(y2)}
        params["duration_ms"] = duration_ms
        return self._record(
            input_log.SWIPE, params, lambda: self._route_swipe(start, dx, dy)
        )

    def type_text(self, text: str) -> InputEvent:
        return self._record(
            input_log.TEXT, {"text": text}, lambda: self._route_text(text)
        )

    def key(self, code: int, long: bool = False) -> InputEvent:
        params = {"code": code, "name": keycodes.keycode_name(code), "long": long}
        return self._record(input_log.KEY, params, lambda: self._route_key(code))

    # Screen

    def render(self) -> np.ndarray:
        """The current screen as a BGR image of the configured resolution."""
        with self._lock:
            frame = drawing.blank(
                self.geometry.width, self.geometry.height, drawing.BLACK
            )
            if not self.screen_on:
                return frame
            content = self.geometry.content
            app = self._app()
            app.render(frame[content.y : content.y2, content.x : content.x2])
            system_bars.draw_status_bar(frame, self.geometry, app.dark_status_bar)
            system_bars.draw_nav_bar(frame, self.geometry)
            return frame

    def like_buttons(self) -> list[LikeButton]:
        """Like buttons fully visible on screen (empty unless the feed is in front)."""
        with self._lock:
            app = self._app()
            if not isinstance(app, FeedApp) or not self.screen_on:
                return []
            top = self.geometry.content.y
            return [
                LikeButton(post_id, rect.shifted(dy=top), liked)
                for post_id, rect, liked in app.like_buttons()
            ]

    def form_field_rect(self, name: str) -> Rect | None:
        """Screen rectangle of a form field's text box, if the form is in front."""
        with self._lock:
            app = self._app()
            if not isinstance(app, FormApp):
                return None
            return app.field_rect(name).shifted(dy=self.geometry.content.y)

    def app_icon_rect(self, package: str) -> Rect | None:
        """Screen rectangle of an app's icon, if the home screen is in front."""
        with self._lock:
            if self._foreground != LAUNCHER.package:
                return None
            rect = self._launcher.icon_rect(package)
            return rect.shifted(dy=self.geometry.content.y) if rect else None

    def state(self) -> dict[str, Any]:
        """A JSON-ready snapshot of what the phone shows and remembers."""
        with self._lock:
            spec = self.foreground()
            return {
                "foreground": {
                    "package": spec.package,
                    "activity": spec.full_activity(),
                },
                "screen_on": self.screen_on,
                "running": sorted(self._running),
                "installed": sorted(self._installed),
                "apps": {pkg: app.state() for pkg, app in self._running.items()},
                "liked_posts": sorted(
                    self._store(self.config.feed_app.package).get("liked", ())
                ),
            }

    # Internals

    def _app(self) -> App:
        return self._running.get(self._foreground, self._launcher)

    def _store(self, package: str) -> dict[str, Any]:
        return self._stores.setdefault(package, {})

    def _initial_packages(self, config: VirtualDeviceConfig) -> set[str]:
        packages = set(self._catalog) | set(SYSTEM_PACKAGES)
        return packages - (set(config.not_installed) - {LAUNCHER.package})

    def _launcher_icons(self) -> list[AppSpec]:
        return [
            spec
            for package, spec in self._catalog.items()
            if package in self._installed and package != LAUNCHER.package
        ]

    def _launch(self, package: str) -> LaunchResult:
        spec = self.app_spec(package)
        if spec is None:
            reason = (
                "not_installed" if package not in self._installed else "no_activity"
            )
            return LaunchResult(package, None, reason)
        was_in_front = self._foreground == package
        if package != LAUNCHER.package and package not in self._running:
            self._running[package] = self._create_app(spec)
            self._pids[package] = self._next_pid
            self._next_pid += _PID_STEP
        self._foreground = package
        return LaunchResult(package, spec.component, None, was_in_front)

    def _create_app(self, spec: AppSpec) -> App:
        kinds: dict[str, type[App]] = {
            self.config.feed_app.package: FeedApp,
            self.config.mail_app.package: MailApp,
            self.config.form_app.package: FormApp,
        }
        kind = kinds.get(spec.package, GenericApp)
        return kind(spec, self.geometry, self._store(spec.package))

    def _stop(self, package: str) -> bool:
        was_running = self._running.pop(package, None) is not None
        self._pids.pop(package, None)
        if self._foreground == package:
            self._foreground = LAUNCHER.package
        return was_running

    def _queue_launch(self, package: str) -> bool:
        if self.app_spec(package) is None:
            return False
        self._pending.append(lambda: self.launch(package, source="launcher"))
        return True

    def _run_pending(self) -> None:
        pending, self._pending = self._pending, []
        for action in pending:
            action()

    def _record(
        self, kind: str, params: dict[str, Any], route: Callable[[], Hit]
    ) -> InputEvent:
        with self._lock:
            in_front = self._foreground
            return self.inputs.record(kind, in_front, params, route())

    def _route_text(self, text: str) -> Hit:
        return self._app().type_text(text) if self.screen_on else _screen_off()

    def _route_touch(self, x: int, y: int, long: bool) -> Hit:
        if not self.screen_on:
            return _screen_off()
        if not (0 <= x < self.geometry.width and 0 <= y < self.geometry.height):
            return Hit(target="screen", outcome="out_of_bounds")
        if self.geometry.status_bar.contains(x, y):
            return Hit(target="status_bar", outcome="ignored")
        if self.geometry.nav_bar.contains(x, y):
            return self._nav_touch(x)
        top = self.geometry.content.y
        app = self._app()
        return app.long_press(x, y - top) if long else app.tap(x, y - top)

    def _route_swipe(self, start: tuple[int, int], dx: int, dy: int) -> Hit:
        if not self.screen_on:
            return _screen_off()
        if self.geometry.status_bar.contains(*start):
            # NOTE: the notification shade is not simulated; pulling it down
            # from the status bar does nothing.
            return Hit(target="status_bar", outcome="ignored")
        if not self.geometry.content.contains(*start):
            return Hit(target="screen", outcome="ignored")
        if abs(dx) > abs(dy):
            # NOTE: apps only scroll vertically; horizontal swipes do nothing.
            return Hit(
                target="screen", outcome="ignored", details={"direction": "horizontal"}
            )
        return self._app().scroll(-dy)

    def _nav_touch(self, x: int) -> Hit:
        code = system_bars.nav_key_at(self.geometry, x)
        hit = self._route_key(code)
        name = keycodes.keycode_name(code).removeprefix("KEYCODE_").lower()
        return Hit("nav_" + name, None, hit.outcome)

    def _route_key(self, code: int) -> Hit:
        system = {
            keycodes.HOME: self._go_home,
            keycodes.BACK: self._go_back,
            keycodes.APP_SWITCH: self._switch_app,
            keycodes.POWER: lambda: self._set_screen(not self.screen_on),
            keycodes.SLEEP: lambda: self._set_screen(False),
            keycodes.WAKEUP: lambda: self._set_screen(True),
        }
        if code in system:
            return system[code]()
        if not self.screen_on:
            return _screen_off()
        return self._app().key(code) or Hit(outcome="ignored")

    def _go_home(self) -> Hit:
        self._foreground = LAUNCHER.package
        return Hit(target="system", outcome="went_home")

    def _go_back(self) -> Hit:
        if self._foreground == LAUNCHER.package:
            return Hit(target="system", outcome="ignored")
        if self._app().back():
            return Hit(target=self._foreground, outcome="handled_by_app")
        return self._go_home()

    def _switch_app(self) -> Hit:
        # NOTE: there is no recents screen; APP_SWITCH jumps straight to the
        # most recently started other app, or stays put if there is none.
        others = [package for package in self._running if package != self._foreground]
        if not others:
            return Hit(target="system", outcome="ignored")
        self._foreground = others[-1]
        return Hit(target="system", target_id=others[-1], outcome="switched")

    def _set_screen(self, on: bool) -> Hit:
        self.screen_on = on
        return Hit(target="screen", outcome="screen_on" if on else "screen_off")


def _screen_off() -> Hit:
    return Hit(target="screen", outcome="screen_off")


def _catalog(config: VirtualDeviceConfig) -> list[AppSpec]:
    return [*config.simulated_apps(), *SYSTEM_APPS, LAUNCHER]


def _default_settings(config: VirtualDeviceConfig) -> dict[str, dict[str, str]]:
    return {
        "system": {
            "screen_brightness": "128",
            "screen_brightness_mode": "0",
            "screen_off_timeout": "60000",
        },
        "global": {"airplane_mode_on": "0", "adb_enabled": "1", "wifi_on": "1"},
        "secure": {
            "android_id": f"{zlib.crc32(config.serial_name.encode()):08x}a5c3e1f7"
        },
    }

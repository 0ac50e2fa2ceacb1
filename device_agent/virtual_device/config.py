"""Settings of one virtual device, validated once when the device is built."""

import re
from dataclasses import dataclass, field

from .errors import ConfigError

EMULATOR_PORTS = range(5555, 5586)
MIN_WIDTH_PX = 320
MAX_WIDTH_PX = 4096
# Layout is designed on a 360 dp wide portrait screen; every resolution scales it.
BASE_WIDTH_DP = 360
_RESOLUTION_RE = re.compile(r"^(\d+)x(\d+)$")
_PACKAGE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")


@dataclass(frozen=True)
class AppSpec:
    """A simulated app: its package, launcher label and main activity."""

    package: str
    label: str
    activity: str

    @property
    def component(self) -> str:
        return f"{self.package}/{self.activity}"

    def full_activity(self) -> str:
        if self.activity.startswith("."):
            return self.package + self.activity
        return self.activity


DEFAULT_FEED = AppSpec(
    "com.instagram.android", "Instagram", ".activity.MainTabActivity"
)
DEFAULT_MAIL = AppSpec(
    "com.google.android.gm", "Gmail", ".ConversationListActivityGmail"
)
DEFAULT_FORM = AppSpec("com.tapcraft.forms", "Forms", ".SignUpActivity")
LAUNCHER = AppSpec(
    "com.android.launcher3", "Launcher", ".uioverrides.QuickstepLauncher"
)
SYSTEM_APPS = (
    AppSpec("com.android.settings", "Settings", ".Settings"),
    AppSpec("com.android.chrome", "Chrome", "com.google.android.apps.chrome.Main"),
    AppSpec(
        "com.google.android.GoogleCamera", "Camera", "com.android.camera.CameraLauncher"
    ),
)
SYSTEM_PACKAGES = (
    "android",
    "com.android.systemui",
    "com.android.shell",
    "com.android.phone",
    "com.android.providers.settings",
    "com.google.android.gms",
    "com.android.vending",
)


@dataclass(frozen=True)
class VirtualDeviceConfig:
    """Everything that makes one virtual phone differ from another.

    ``port`` 0 picks a free port outside the emulator range. ``not_installed``
    removes packages from the phone so scripts can meet a missing app.
    """

    port: int = 0
    host: str = "127.0.0.1"
    width: int = 1080
    height: int = 2400
    serial_name: str = "TAPCRAFTVIRT01"
    model: str = "Pixel 7"
    product: str = "panther"
    manufacturer: str = "Google"
    android_release: str = "14"
    sdk: int = 34
    feed_app: AppSpec = DEFAULT_FEED
    mail_app: AppSpec = DEFAULT_MAIL
    form_app: AppSpec = DEFAULT_FORM
    not_installed: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        _check_port(self.port)
        _check_resolution(self.width, self.height)
        for app in (self.feed_app, self.mail_app, self.form_app):
            if not _PACKAGE_RE.match(app.package):
                raise ConfigError(f"invalid package name: {app.package!r}")
        if (
            len({self.feed_app.package, self.mail_app.package, self.form_app.package})
            < 3
        ):
            raise ConfigError("feed, mail and form apps need distinct packages")

    @property
    def density_scale(self) -> float:
        """Pixels per dp: 2.0 at 720 px wide, 3.0 at 1080, 4.0 at 1440."""
        return self.width / BASE_WIDTH_DP

    @property
    def density_dpi(self) -> int:
        return round(160 * self.density_scale)

    def simulated_apps(self) -> tuple[AppSpec, ...]:
        return (self.feed_app, self.mail_app, self.form_app)


def parse_resolution(text: str) -> tuple[int, int]:
    """Parse ``WIDTHxHEIGHT`` into pixels; raises ConfigError."""
    match = _RESOLUTION_RE.match(text.strip())
    if not match:
        raise ConfigError(f"resolution must look like 1080x2400, got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    _check_resolution(width, height)
    return width, height


def _check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise ConfigError(f"port out of range: {port}")
    if port in EMULATOR_PORTS:
        raise ConfigError(
            f"port {port} is in 5555-5585, which the adb server probes as emulators"
        )


def _check_resolution(width: int, height: int) -> None:
    if not MIN_WIDTH_PX <= width <= MAX_WIDTH_PX:
        raise ConfigError(f"width must be {MIN_WIDTH_PX}-{MAX_WIDTH_PX} px: {width}")
    if height < width:
        raise ConfigError(f"only portrait screens are simulated: {width}x{height}")
    if height > 3 * width:
        raise ConfigError(f"screen is too tall for its width: {width}x{height}")

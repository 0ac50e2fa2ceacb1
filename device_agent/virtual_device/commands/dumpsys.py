"""``dumpsys``: the system service dumps clients parse."""

from collections.abc import Callable

from .activity import dump_activity
from .base import CommandResult, Invocation, lines, ok
from .package import dump_package
from .window import dump_display, dump_surface_flinger, dump_window


def run_dumpsys(call: Invocation) -> CommandResult:
    if not call.args:
        return ok(
            dump_display(call)
            + "\n"
            + dump_window(call)
            + "\n"
            + dump_activity(call, None)
        )
    service, rest = call.args[0], call.args[1:]
    argument = rest[0] if rest else None
    dumps: dict[str, Callable[[], str]] = {
        "window": lambda: dump_window(call),
        "display": lambda: dump_display(call),
        "activity": lambda: dump_activity(call, argument),
        "package": lambda: dump_package(call, argument),
        "SurfaceFlinger": lambda: dump_surface_flinger(call),
        "battery": _battery,
        "power": lambda: _power(call),
        "input_method": lambda: _input_method(call),
    }
    dump = dumps.get(service)
    if dump is None:
        return CommandResult(stderr=f"Can't find service: {service}\n".encode())
    return ok(dump())


def _battery() -> str:
    rows = [
        "Current Battery Service state:",
        "  AC powered: false",
        "  USB powered: true",
        "  Wireless powered: false",
        "  Dock powered: false",
        "  Max charging current: 500000",
        "  Max charging voltage: 5000000",
        "  Charge counter: 3512000",
        "  status: 2",
        "  health: 2",
        "  present: true",
        "  level: 87",
        "  scale: 100",
        "  voltage: 4210",
        "  temperature: 291",
        "  technology: Li-ion",
    ]
    return lines(rows)


def _power(call: Invocation) -> str:
    on = "true" if call.phone.screen_on else "false"
    rows = [
        "POWER MANAGER (dumpsys power)",
        f"  mWakefulness={'Awake' if call.phone.screen_on else 'Asleep'}",
        f"  mHoldingDisplaySuspendBlocker={on}",
        f"  mHoldingWakeLockSuspendBlocker={on}",
        "  mIsPowered=true",
        "  mPlugType=2",
        "  mBatteryLevel=87",
    ]
    return lines(rows)


def _input_method(call: Invocation) -> str:
    focused = call.phone.state()["apps"].get(call.phone.foreground().package, {})
    shown = "true" if focused.get("focused_field") else "false"
    rows = [
        "Input method service state:",
        "  mCurMethodId=com.google.android.inputmethod.latin/"
        "com.android.inputmethod.latin.LatinIME",
        f"  mInputShown={shown}",
    ]
    return lines(rows)

"""``wm`` and the display and window parts of ``dumpsys``."""

import zlib

from ..config import AppSpec
from .base import CommandResult, Invocation, fail, lines, ok

DISPLAY_UNIQUE_ID = "4619827259835644672"


def run_wm(call: Invocation) -> CommandResult:
    config = call.phone.config
    if call.args == ["size"]:
        return ok(f"Physical size: {config.width}x{config.height}\n")
    if call.args == ["density"]:
        return ok(f"Physical density: {config.density_dpi}\n")
    if call.args in (["size", "reset"], ["density", "reset"]):
        return ok()
    if call.args and call.args[0] in ("size", "density"):
        # NOTE: the screen is rendered at one fixed resolution; an override of
        # size or density is refused instead of being simulated.
        return fail("Error: display overrides are not supported on this device", 255)
    return fail("usage: wm [size|density] [reset]", 255)


def window_hash(spec: AppSpec) -> str:
    """A stable pseudo object id, as dumpsys prints for windows and records."""
    return f"{zlib.crc32(spec.package.encode()) & 0xFFFFFFF:07x}"


def record_hash(spec: AppSpec) -> str:
    return f"{zlib.crc32(spec.activity.encode()) & 0xFFFFFFF:07x}"


def task_id(pid: int) -> int:
    return 10 + pid % 97


def short_component(spec: AppSpec) -> str:
    return f"{spec.package}/{spec.activity}"


def long_component(spec: AppSpec) -> str:
    return f"{spec.package}/{spec.full_activity()}"


def activity_record(spec: AppSpec, pid: int) -> str:
    component = short_component(spec)
    return f"ActivityRecord{{{record_hash(spec)} u0 {component} t{task_id(pid)}}}"


def dump_window(call: Invocation) -> str:
    phone = call.phone
    spec = phone.foreground()
    config = phone.config
    pid = phone.running().get(spec.package, 0)
    app_height = phone.geometry.content.height + phone.geometry.status_bar.height
    focus = f"Window{{{window_hash(spec)} u0 {long_component(spec)}}}"
    record = activity_record(spec, pid)
    rows = [
        "WINDOW MANAGER WINDOWS (dumpsys window windows)",
        f"  Window #0 {focus}:",
        f"    mDisplayId=0 rootTaskId={task_id(pid)} "
        f"mSession=Session{{{pid:x} {pid}:u0a10212}}",
        f"    mOwnerUid=10212 showForAllUsers=false package={spec.package} appop=NONE",
        "    mAttrs={(0,0)(fillxfill) sim={adjust=pan} ty=BASE_APPLICATION}",
        f"    Requested w={config.width} h={config.height} mLayoutSeq=412",
        f"    mFrame=[0,0][{config.width},{config.height}]",
        "    isOnScreen=true isVisible=true",
        "",
        "WINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)",
        "  Display: mDisplayId=0 rootTasks=2",
        f"    init={config.width}x{config.height} {config.density_dpi}dpi "
        f"cur={config.width}x{config.height} app={config.width}x{app_height} "
        f"rng={config.width}x{config.width}-{config.height}x{config.height}",
        "    deferred=false mLayoutNeeded=false",
        f"  DisplayFrames w={config.width} h={config.height} r=0",
        "  mRotation=0 mLastOrientation=-1 mUserRotationMode=USER_ROTATION_LOCKED",
        "",
        "  mTopFocusedDisplayId=0",
        f"  mCurrentFocus={focus}",
        f"  mFocusedApp={record}",
        f"  mScreenOn={'true' if phone.screen_on else 'false'}",
    ]
    return lines(rows)


def dump_display(call: Invocation) -> str:
    config = call.phone.config
    width, height, dpi = config.width, config.height, config.density_dpi
    viewport = (
        f"DisplayViewport{{type=INTERNAL, valid=true, isActive=true, displayId=0, "
        f"uniqueId='local:{DISPLAY_UNIQUE_ID}', physicalPort=0, orientation=0, "
        f"logicalFrame=Rect(0, 0 - {width}, {height}), "
        f"physicalFrame=Rect(0, 0 - {width}, {height}), "
        f"deviceWidth={width}, deviceHeight={height}, isActive=true}}"
    )
    state = "ON" if call.phone.screen_on else "OFF"
    rows = [
        "DISPLAY MANAGER (dumpsys display)",
        "  mOnlyCore=false",
        "  mSafeMode=false",
        f"  mViewports=[{viewport}]",
        "",
        "Display Devices: size=1",
        '  DisplayDeviceInfo{"Built-in Screen": '
        f'uniqueId="local:{DISPLAY_UNIQUE_ID}", '
        f"{width} x {height}, modeId 1, defaultModeId 1, density {dpi}, "
        f"{dpi}.0 x {dpi}.0 dpi, touch INTERNAL, rotation 0, type INTERNAL, "
        f"state {state}}}",
        "",
        "Logical Displays: size=1",
        "  Display 0:",
        "    mDisplayId=0",
        '    mBaseDisplayInfo=DisplayInfo{"Built-in Screen", displayId 0, '
        f"real {width} x "
        f"{height}, largest app {height} x {height}, smallest app {width} x {width}, "
        f"rotation 0, density {dpi} ({dpi}.0 x {dpi}.0) dpi, state {state}}}",
    ]
    return lines(rows)


def dump_surface_flinger(call: Invocation) -> str:
    return lines(
        [
            f"Display {DISPLAY_UNIQUE_ID} (HWC display 0): port=0 pnpId=GGL "
            'displayName="Built-in Screen"'
        ]
    )

"""System properties and the CNXN banner that identify the virtual phone."""

from .config import VirtualDeviceConfig

# Features announced in the banner. The adb server and its clients pick
# services from this list: shell_v2 enables ``shell,v2:``, cmd lets adb use
# ``cmd package``. Sync v2, abb and delayed_ack are deliberately absent so that
# clients fall back to services this device implements.
FEATURES = ("shell_v2", "cmd", "fixed_push_mkdir", "fixed_push_symlink_timestamp")
BUILD_ID = "UQ1A.240205.004"
BUILD_INCREMENTAL = "11269751"


def build_properties(config: VirtualDeviceConfig) -> dict[str, str]:
    """The ``getprop`` table of a freshly booted phone."""
    fingerprint = (
        f"{config.manufacturer.lower()}/{config.product}/{config.product}:"
        f"{config.android_release}/{BUILD_ID}/{BUILD_INCREMENTAL}:user/release-keys"
    )
    return {
        "ro.build.version.release": config.android_release,
        "ro.build.version.sdk": str(config.sdk),
        "ro.build.version.security_patch": "2024-02-05",
        "ro.build.id": BUILD_ID,
        "ro.build.display.id": BUILD_ID,
        "ro.build.version.incremental": BUILD_INCREMENTAL,
        "ro.build.type": "user",
        "ro.build.tags": "release-keys",
        "ro.build.fingerprint": fingerprint,
        "ro.build.characteristics": "nosdcard",
        "ro.product.model": config.model,
        "ro.product.name": config.product,
        "ro.product.device": config.product,
        "ro.product.brand": config.manufacturer.lower(),
        "ro.product.manufacturer": config.manufacturer,
        "ro.product.board": config.product,
        "ro.product.cpu.abi": "arm64-v8a",
        "ro.product.cpu.abilist": "arm64-v8a,armeabi-v7a,armeabi",
        "ro.product.locale": "en-US",
        "ro.serialno": config.serial_name,
        "ro.boot.serialno": config.serial_name,
        "ro.hardware": config.product,
        "ro.sf.lcd_density": str(config.density_dpi),
        "ro.debuggable": "0",
        "ro.secure": "1",
        "ro.adb.secure": "1",
        "sys.boot_completed": "1",
        "dev.bootcomplete": "1",
        "init.svc.adbd": "running",
        "persist.sys.timezone": "Etc/UTC",
        "persist.sys.locale": "en-US",
        "gsm.operator.alpha": "TapCraft Mobile",
        "net.hostname": config.product,
    }


def device_banner(config: VirtualDeviceConfig) -> bytes:
    """The identity string adbd sends in its CNXN reply."""
    props = (
        f"ro.product.name={config.product};"
        f"ro.product.model={config.model};"
        f"ro.product.device={config.product};"
    )
    return f"device::{props}features={','.join(FEATURES)}".encode()

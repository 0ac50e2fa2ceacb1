"""``pm``, ``cmd`` and the package part of ``dumpsys``."""

import zlib
from collections.abc import Callable

from ..config import LAUNCHER, SYSTEM_APPS, SYSTEM_PACKAGES
from .base import CommandResult, Invocation, fail, lines, ok

_LIST_FLAGS = frozenset(
    {"-f", "-d", "-e", "-s", "-3", "-i", "-u", "-U", "--show-versioncode"}
)


def run_pm(call: Invocation) -> CommandResult:
    if not call.args:
        return fail("usage: pm [list|path|clear|uninstall|install|grant] ...", 255)
    handlers: dict[str, Callable[[Invocation, list[str]], CommandResult]] = {
        "list": _list,
        "path": _path,
        "clear": _clear,
        "uninstall": _uninstall,
        "install": _install,
        "grant": lambda _call, _args: ok(),
        "revoke": lambda _call, _args: ok(),
    }
    handler = handlers.get(call.args[0])
    if handler is None:
        return fail(f"Unknown command: {call.args[0]}", 255)
    return handler(call, call.args[1:])


def is_system(package: str) -> bool:
    system_apps = {spec.package for spec in SYSTEM_APPS}
    return (
        package in SYSTEM_PACKAGES
        or package in system_apps
        or package == LAUNCHER.package
    )


def apk_path(package: str) -> str:
    if is_system(package):
        name = package.rsplit(".", 1)[-1].capitalize()
        return f"/system/priv-app/{name}/{name}.apk"
    token = f"{zlib.crc32(package.encode()):08x}"
    return f"/data/app/~~{token}Xq9w==/{package}-{token[::-1]}Zk2A==/base.apk"


def _list(call: Invocation, args: list[str]) -> CommandResult:
    if not args or args[0] != "packages":
        return fail("Error: unknown list type", 255)
    options = [arg for arg in args[1:] if arg in _LIST_FLAGS]
    filters = [
        arg for arg in args[1:] if arg not in _LIST_FLAGS and not arg.startswith("--")
    ]
    packages = call.phone.installed_packages()
    if "-3" in options:
        packages = [p for p in packages if not is_system(p)]
    if "-s" in options:
        packages = [p for p in packages if is_system(p)]
    if filters:
        packages = [p for p in packages if filters[-1] in p]
    if "-f" in options:
        return ok(lines([f"package:{apk_path(p)}={p}" for p in packages]))
    return ok(lines([f"package:{p}" for p in packages]))


def _path(call: Invocation, args: list[str]) -> CommandResult:
    package = args[-1] if args else ""
    if not call.phone.is_installed(package):
        return CommandResult(exit_code=1)
    return ok(f"package:{apk_path(package)}\n")


def _clear(call: Invocation, args: list[str]) -> CommandResult:
    if args and call.phone.clear_data(args[-1]):
        return ok("Success\n")
    return fail("Failed", 1)


def _uninstall(call: Invocation, args: list[str]) -> CommandResult:
    package = args[-1] if args else ""
    if is_system(package) or not call.phone.set_installed(package, False):
        return ok("Failure [DELETE_FAILED_INTERNAL_ERROR]\n")
    return ok("Success\n")


def _install(call: Invocation, args: list[str]) -> CommandResult:
    # NOTE: APKs are not parsed, so no new app can be installed; clients see
    # the same failure a phone gives for a file that is not an APK.
    return fail("Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse APK]", 1)


def dump_package(call: Invocation, package: str | None) -> str:
    if not package or not call.phone.is_installed(package):
        return ""
    version = "2.4.1" if not is_system(package) else "14"
    code = zlib.crc32(package.encode()) % 900000 + 100000
    rows = [
        "Packages:",
        f"  Package [{package}] ({zlib.crc32(package.encode()) & 0xFFFFFFF:07x}):",
        "    userId=10212",
        f"    codePath={apk_path(package).rsplit('/', 1)[0]}",
        f"    versionCode={code} minSdk=28 targetSdk=34",
        f"    versionName={version}",
        "    pkgFlags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]",
        "    firstInstallTime=2024-01-15 09:30:00",
        "    lastUpdateTime=2024-02-01 18:05:12",
        "    installerPackageName=com.android.vending",
        "    signatures=PackageSignatures{7d1c3a2 [a1b2c3d4]}",
    ]
    return lines(rows)

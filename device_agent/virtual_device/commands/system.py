"""Small system commands: properties, settings, identity, echo and friends."""

import time

from .base import CommandResult, Invocation, fail, lines, ok

MAX_SLEEP_S = 5.0
KERNEL = "5.10.157-android13-4"
_SETTABLE_PREFIXES = ("debug.", "persist.", "log.", "service.")


def run_getprop(call: Invocation) -> CommandResult:
    properties = call.phone.properties
    if not call.args:
        return ok(
            lines([f"[{key}]: [{value}]" for key, value in sorted(properties.items())])
        )
    default = call.args[1] if len(call.args) > 1 else ""
    return ok(properties.get(call.args[0], default) + "\n")


def run_setprop(call: Invocation) -> CommandResult:
    if len(call.args) != 2:
        return fail("usage: setprop NAME VALUE", 1)
    name, value = call.args
    if not name.startswith(_SETTABLE_PREFIXES):
        return fail(f"Failed to set property '{name}' to '{value}'.", 1)
    call.phone.properties[name] = value
    return ok()


def run_echo(call: Invocation) -> CommandResult:
    args = list(call.args)
    newline = True
    if args and args[0] == "-n":
        newline = False
        args = args[1:]
    return ok(" ".join(args) + ("\n" if newline else ""))


def run_true(call: Invocation) -> CommandResult:
    return ok()


def run_false(call: Invocation) -> CommandResult:
    return CommandResult(exit_code=1)


def run_sleep(call: Invocation) -> CommandResult:
    try:
        seconds = float(call.args[0]) if call.args else 0.0
    except ValueError:
        return fail(f"sleep: invalid number '{call.args[0]}'", 1)
    # NOTE: sleeps are capped so that a stray ``sleep 3600`` cannot hang a
    # test run; longer sleeps return early.
    time.sleep(min(max(seconds, 0.0), MAX_SLEEP_S))
    return ok()


def run_id(call: Invocation) -> CommandResult:
    return ok(
        "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),"
        "1011(adb),1015(sdcard_rw),3003(inet) context=u:r:shell:s0\n"
    )


def run_whoami(call: Invocation) -> CommandResult:
    return ok("shell\n")


def run_uname(call: Invocation) -> CommandResult:
    if "-a" in call.args:
        product = call.phone.config.product
        return ok(f"Linux localhost {KERNEL} #1 SMP PREEMPT {product} aarch64 Toybox\n")
    if "-m" in call.args:
        return ok("aarch64\n")
    if "-r" in call.args:
        return ok(KERNEL + "\n")
    return ok("Linux\n")


def run_date(call: Invocation) -> CommandResult:
    if call.args and call.args[0] == "+%s":
        return ok(f"{int(time.time())}\n")
    return ok(time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()) + "\n")


def run_settings(call: Invocation) -> CommandResult:
    if len(call.args) < 3 or call.args[0] not in ("get", "put", "delete"):
        return fail("usage: settings [get|put|delete] NAMESPACE KEY [VALUE]", 255)
    verb, namespace, key = call.args[:3]
    table = call.phone.settings.get(namespace)
    if table is None:
        return fail(f"Invalid namespace '{namespace}'", 255)
    if verb == "get":
        return ok(table.get(key, "null") + "\n")
    if verb == "delete":
        table.pop(key, None)
        return ok("Deleted 1 rows\n")
    if len(call.args) < 4:
        return fail("usage: settings put NAMESPACE KEY VALUE", 255)
    table[key] = call.args[3]
    return ok()


def run_svc(call: Invocation) -> CommandResult:
    if len(call.args) >= 2 and call.args[0] in ("wifi", "data", "power", "bluetooth"):
        return ok()
    return fail("usage: svc [wifi|data|power|bluetooth] ...", 1)


def run_pidof(call: Invocation) -> CommandResult:
    running = call.phone.running()
    pids = [str(running[name]) for name in call.args if name in running]
    if not pids:
        return CommandResult(exit_code=1)
    return ok(" ".join(pids) + "\n")


def run_ps(call: Invocation) -> CommandResult:
    rows = ["USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME"]
    rows.append("root             1     0 10904548  9632 do_epoll_wait       0 S init")
    for package, pid in sorted(call.phone.running().items(), key=lambda item: item[1]):
        rows.append(
            f"u0_a212       {pid:>5}  1021 16781112 189420 do_epoll_wait 0 S {package}"
        )
    return ok(lines(rows))

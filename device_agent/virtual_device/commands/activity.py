"""``am``, ``monkey`` and the activity part of ``dumpsys``: starting, stopping apps."""

from dataclasses import dataclass, field

from ..config import LAUNCHER, AppSpec
from .base import CommandResult, Invocation, fail, lines, ok
from .window import activity_record, record_hash, short_component, task_id

# Intent options of ``am start`` that take one value, and those that take two.
_ONE_VALUE = frozenset(
    {"-a", "-d", "-t", "-c", "-n", "-f", "-p", "--user", "--display", "--windowingMode"}
)
_TWO_VALUES = frozenset(
    {"-e", "--es", "--ez", "--ei", "--el", "--ef", "--eu", "--ecn", "--eia", "--esa"}
)
MONKEY_ABORT_EXIT = 252
_URL_HOSTS = {"instagram.com": "feed", "mail.google.com": "mail"}


@dataclass
class Intent:
    action: str | None = None
    data: str | None = None
    categories: list[str] = field(default_factory=list)
    component: str | None = None
    package: str | None = None
    wait: bool = False
    stop_first: bool = False

    def describe(self) -> str:
        parts = []
        if self.action:
            parts.append(f"act={self.action}")
        if self.categories:
            parts.append(f"cat=[{','.join(self.categories)}]")
        if self.data:
            parts.append(f"dat={self.data}")
        if self.package and not self.component:
            parts.append(f"pkg={self.package}")
        if self.component:
            parts.append(f"cmp={self.component}")
        return "Intent { " + " ".join(parts) + " }"


def run_am(call: Invocation) -> CommandResult:
    if not call.args:
        return fail("usage: am [start|force-stop|kill|broadcast] ...", 255)
    sub, rest = call.args[0], call.args[1:]
    if sub in ("start", "start-activity"):
        return _start(call, rest)
    if sub == "force-stop":
        return _force_stop(call, rest)
    if sub == "kill":
        return _kill(call, rest)
    if sub == "broadcast":
        intent = _parse_intent(rest)
        if intent is None:
            return fail("Error: invalid intent arguments", 255)
        return ok(f"Broadcasting: {intent.describe()}\nBroadcast completed: result=0\n")
    if sub == "get-current-user":
        return ok("0\n")
    return fail(f"Error: Unknown command: {sub}", 255)


def run_monkey(call: Invocation) -> CommandResult:
    packages = [call.args[i + 1] for i, arg in enumerate(call.args[:-1]) if arg == "-p"]
    echo = "".join(f"  bash arg: {arg}\n" for arg in call.args)
    if not packages:
        # NOTE: random-event monkey runs are not simulated; only the launcher
        # form (-p PACKAGE ... 1) that clients use to start an app is.
        return fail("** monkey without -p is not supported on this device", 1, echo)
    for package in packages:
        if call.phone.app_spec(package) is None:
            return fail(
                "** No activities found to run, monkey aborted.",
                MONKEY_ABORT_EXIT,
                echo,
            )
    call.phone.launch(packages[0], source="monkey")
    report = (
        "Events injected: 1\n## Network stats: elapsed time=18ms "
        "(0ms mobile, 0ms wifi, 18ms not connected)\n"
    )
    return ok(echo + report)


def _start(call: Invocation, args: list[str]) -> CommandResult:
    intent = _parse_intent(args)
    if intent is None:
        return fail("Error: invalid intent arguments", 255)
    target = _resolve(call, intent)
    if isinstance(target, CommandResult):
        return target
    header = f"Starting: {intent.describe()}\n"
    if intent.stop_first:
        call.phone.force_stop(target.package, source="am")
    result = call.phone.launch(target.package, source="am")
    if not result.ok:
        return fail(f"Error: Activity not started, {result.error}", 1, header)
    if intent.wait:
        return ok(header + _wait_report(target, result.was_in_front))
    if result.was_in_front:
        note = (
            "Warning: Activity not started, intent has been delivered to currently "
            "running top-most instance.\n"
        )
        return ok(header + note)
    return ok(header)


def _resolve(call: Invocation, intent: Intent) -> AppSpec | CommandResult:
    if intent.component:
        return _resolve_component(call, intent)
    package = intent.package or _package_for_url(call, intent.data)
    if intent.action == "android.intent.action.MAIN" and not package:
        package = (
            LAUNCHER.package
            if "android.intent.category.HOME" in intent.categories
            else None
        )
    spec = call.phone.app_spec(package) if package else None
    if spec is None:
        return fail(
            "Error: Activity not started, unable to resolve Intent",
            1,
            f"Starting: {intent.describe()}\n",
        )
    return spec


def _resolve_component(call: Invocation, intent: Intent) -> AppSpec | CommandResult:
    package, _, activity = (intent.component or "").partition("/")
    spec = call.phone.app_spec(package)
    full = package + activity if activity.startswith(".") else activity
    header = f"Starting: {intent.describe()}\n"
    if spec is None or full != spec.full_activity():
        message = (
            f"Error type 3\nError: Activity class {{{package}/{full}}} does not exist."
        )
        return fail(message, 1, header)
    return spec


def _package_for_url(call: Invocation, url: str | None) -> str | None:
    if not url:
        return None
    config = call.phone.config
    apps = {"feed": config.feed_app.package, "mail": config.mail_app.package}
    for host, kind in _URL_HOSTS.items():
        if host in url and call.phone.is_installed(apps[kind]):
            return apps[kind]
    if url.startswith(("http://", "https://")):
        return "com.android.chrome"
    return None


def _wait_report(spec: AppSpec, was_in_front: bool) -> str:
    state = "HOT" if was_in_front else "COLD"
    rows = [
        "Status: ok",
        f"LaunchState: {state}",
        f"Activity: {short_component(spec)}",
        "TotalTime: 412",
        "WaitTime: 418",
        "Complete",
    ]
    return lines(rows)


def _parse_intent(args: list[str]) -> Intent | None:
    intent = Intent()
    position = 0
    while position < len(args):
        arg = args[position]
        if arg in _TWO_VALUES:
            position += 3
            continue
        if arg in _ONE_VALUE:
            if position + 1 >= len(args):
                return None
            _apply_option(intent, arg, args[position + 1])
            position += 2
            continue
        if arg == "-W":
            intent.wait = True
        elif arg == "-S":
            intent.stop_first = True
        elif not arg.startswith("-"):
            _apply_positional(intent, arg)
        position += 1
    return intent


def _apply_option(intent: Intent, option: str, value: str) -> None:
    if option == "-a":
        intent.action = value
    elif option == "-d":
        intent.data = value
    elif option == "-c":
        intent.categories.append(value)
    elif option == "-n":
        intent.component = value
    elif option == "-p":
        intent.package = value


def _apply_positional(intent: Intent, value: str) -> None:
    if "/" in value and "://" not in value:
        intent.component = value
    elif "://" in value:
        intent.data = value
    else:
        intent.package = value


def _force_stop(call: Invocation, args: list[str]) -> CommandResult:
    packages = [arg for arg in args if not arg.startswith("-") and not arg.isdigit()]
    if not packages:
        return fail("Error: no package specified", 255)
    call.phone.force_stop(packages[-1], source="am")
    return ok()


def _kill(call: Invocation, args: list[str]) -> CommandResult:
    packages = [arg for arg in args if not arg.startswith("-") and not arg.isdigit()]
    if not packages:
        return fail("Error: no package specified", 255)
    # ``am kill`` only kills background processes, as on a phone.
    if call.phone.foreground().package != packages[-1]:
        call.phone.force_stop(packages[-1], source="am kill")
    return ok()


def dump_activity(call: Invocation, section: str | None) -> str:
    if section == "top":
        return _dump_top(call)
    if section in ("activities", "a"):
        return _dump_activities(call)
    return _dump_activities(call) + "\n" + _dump_top(call)


def _dump_activities(call: Invocation) -> str:
    phone = call.phone
    front = phone.foreground()
    rows = ["ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)"]
    rows.append("Display #0 (activities from top to bottom):")
    for package, pid in _running_front_first(call):
        spec = phone.app_spec(package) or LAUNCHER
        record = _record(spec, pid)
        rows.append(
            f"  * Task{{{record_hash(spec)} #{task_id(pid)} type=standard "
            f"A=10212:{package} U=0 visible={str(package == front.package).lower()} "
            "mode=fullscreen sz=1}"
        )
        if package == front.package:
            rows.append(f"    mResumedActivity: {record}")
        rows.append(f"    * Hist  #0: {record}")
    front_pid = phone.running().get(front.package, 0)
    rows.append(f"  ResumedActivity: {_record(front, front_pid)}")
    return lines(rows)


def _dump_top(call: Invocation) -> str:
    rows = ["TASK MANAGER TOP ACTIVITIES (dumpsys activity top)"]
    for package, pid in reversed(_running_front_first(call)):
        spec = call.phone.app_spec(package) or LAUNCHER
        rows.append(f"TASK 10212:{package} id={task_id(pid)} userId=0")
        rows.append(f"  ACTIVITY {short_component(spec)} {record_hash(spec)} pid={pid}")
    return lines(rows)


def _running_front_first(call: Invocation) -> list[tuple[str, int]]:
    running = call.phone.running()
    front = call.phone.foreground().package
    ordered = sorted(running.items(), key=lambda item: (item[0] != front, -item[1]))
    return ordered


def _record(spec: AppSpec, pid: int) -> str:
    return activity_record(spec, pid)

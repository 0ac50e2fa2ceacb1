"""The commands the virtual phone's shell can run, looked up by name."""

from .activity import run_am, run_monkey
from .base import Command, CommandResult, Invocation, fail
from .dumpsys import run_dumpsys
from .files import run_cat, run_cd, run_ls, run_mkdir, run_rm, run_touch
from .input import run_input
from .package import run_pm
from .screencap import run_screencap
from .system import (
    run_date,
    run_echo,
    run_false,
    run_getprop,
    run_id,
    run_pidof,
    run_ps,
    run_setprop,
    run_settings,
    run_sleep,
    run_svc,
    run_true,
    run_uname,
    run_whoami,
)
from .tapcraft import run_tapcraft
from .text import run_grep, run_head, run_tail, run_wc
from .window import run_wm

__all__ = ["Command", "CommandResult", "Invocation", "lookup"]

# ``cmd SERVICE ...`` forwards to the command that serves the same purpose.
_CMD_SERVICES = {"package": "pm", "activity": "am", "window": "wm", "input": "input"}


def run_cmd(call: Invocation) -> CommandResult:
    service = call.args[0] if call.args else ""
    name = _CMD_SERVICES.get(service)
    if name is None:
        return fail(f"cmd: Can't find service: {service}", 20)
    forwarded = Invocation(name, call.args[1:], call.phone, call.stdin, call.env)
    return _COMMANDS[name](forwarded)


_COMMANDS: dict[str, Command] = {
    "am": run_am,
    "cat": run_cat,
    "cd": run_cd,
    "cmd": run_cmd,
    "date": run_date,
    "dumpsys": run_dumpsys,
    "echo": run_echo,
    "false": run_false,
    "getprop": run_getprop,
    "grep": run_grep,
    "head": run_head,
    "id": run_id,
    "input": run_input,
    "ls": run_ls,
    "mkdir": run_mkdir,
    "monkey": run_monkey,
    "pidof": run_pidof,
    "pm": run_pm,
    "ps": run_ps,
    "rm": run_rm,
    "screencap": run_screencap,
    "setprop": run_setprop,
    "settings": run_settings,
    "sleep": run_sleep,
    "svc": run_svc,
    "tail": run_tail,
    "tapcraft-virtual": run_tapcraft,
    "touch": run_touch,
    "true": run_true,
    "uname": run_uname,
    "wc": run_wc,
    "whoami": run_whoami,
    "wm": run_wm,
}


def lookup(name: str) -> Command | None:
    """The command called ``name``, or None if the phone has no such command."""
    return _COMMANDS.get(name)

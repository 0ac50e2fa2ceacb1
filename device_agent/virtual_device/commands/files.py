"""File commands over the in-memory file system: ls, cat, rm, mkdir, touch."""

import time

from ..errors import FileSystemError
from ..filesystem import Node
from .base import CommandResult, Invocation, fail, lines, ok


def _split(args: list[str]) -> tuple[str, list[str]]:
    flags = "".join(arg[1:] for arg in args if arg.startswith("-") and len(arg) > 1)
    paths = [arg for arg in args if not arg.startswith("-") or arg == "-"]
    return flags, paths


def run_ls(call: Invocation) -> CommandResult:
    flags, paths = _split(call.args)
    rows: list[str] = []
    errors: list[str] = []
    for path in paths or ["/"]:
        node = call.phone.files.stat(path)
        if node is None:
            errors.append(f"ls: {path}: No such file or directory")
        elif node.is_dir:
            entries = call.phone.files.listdir(path)
            rows.extend(_ls_row(name, child, "l" in flags) for name, child in entries)
        else:
            rows.append(_ls_row(path, node, "l" in flags))
    result_code = 1 if errors else 0
    stderr = lines(errors).encode()
    return CommandResult(lines(rows).encode(), stderr, result_code)


def _ls_row(name: str, node: Node, long: bool) -> str:
    if not long:
        return name
    kind = "d" if node.is_dir else "-"
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(node.mtime))
    return f"{kind}rw-rw---- 1 shell shell {node.size:>8} {stamp} {name}"


def run_cat(call: Invocation) -> CommandResult:
    _, paths = _split(call.args)
    if not paths:
        return ok(call.stdin)
    out = b""
    for path in paths:
        try:
            out += call.phone.files.read(path)
        except FileSystemError as exc:
            return CommandResult(out, f"cat: {exc}\n".encode(), 1)
    return ok(out)


def run_rm(call: Invocation) -> CommandResult:
    flags, paths = _split(call.args)
    for path in paths:
        try:
            call.phone.files.remove(path, recursive="r" in flags or "R" in flags)
        except FileSystemError as exc:
            if "f" not in flags or call.phone.files.stat(path) is not None:
                return fail(f"rm: {exc}", 1)
    return ok()


def run_mkdir(call: Invocation) -> CommandResult:
    flags, paths = _split(call.args)
    for path in paths:
        try:
            call.phone.files.mkdir(path, parents="p" in flags)
        except FileSystemError as exc:
            return fail(f"mkdir: {exc}", 1)
    return ok()


def run_touch(call: Invocation) -> CommandResult:
    _, paths = _split(call.args)
    for path in paths:
        try:
            if call.phone.files.stat(path) is None:
                call.phone.files.write(path, b"")
        except FileSystemError as exc:
            return fail(f"touch: {exc}", 1)
    return ok()


def run_cd(call: Invocation) -> CommandResult:
    # NOTE: the working directory stays "/" for every command; cd only checks
    # that its target is a directory, so relative paths after it still
    # resolve from "/".
    path = call.args[0] if call.args else "/"
    node = call.phone.files.stat(path)
    if node is None or not node.is_dir:
        return fail(f"/system/bin/sh: cd: {path}: No such file or directory", 2)
    return ok()

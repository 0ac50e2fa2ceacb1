"""A small in-memory file system behind ``sync:`` and the file commands.

Only ``/sdcard`` (also reachable as ``/storage/emulated/0``) and
``/data/local/tmp`` are writable, as for the shell user of a real phone.
"""

import posixpath
import stat
import threading
import time
from dataclasses import dataclass

from .errors import FileSystemError

NOT_FOUND = "No such file or directory"
IS_DIR = "Is a directory"
NOT_DIR = "Not a directory"
DENIED = "Permission denied"
NOT_EMPTY = "Directory not empty"
EXISTS = "File exists"

_ALIASES = ("/storage/emulated/0", "/storage/self/primary", "/mnt/sdcard")
_WRITABLE = ("/sdcard", "/data/local/tmp")
_DIRECTORIES = (
    "/",
    "/data",
    "/data/local",
    "/data/local/tmp",
    "/sdcard",
    "/sdcard/DCIM",
    "/sdcard/Download",
    "/sdcard/Pictures",
    "/storage",
    "/system",
    "/system/bin",
    "/proc",
)


@dataclass
class Node:
    """A file (``data`` is bytes) or a directory (``data`` is None)."""

    mode: int
    mtime: int
    data: bytes | None = None

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def size(self) -> int:
        return 4096 if self.data is None else len(self.data)


class FileSystem:
    """Thread-safe tree of nodes keyed by normalised absolute path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        now = int(time.time())
        self._nodes = {path: Node(stat.S_IFDIR | 0o771, now) for path in _DIRECTORIES}

    def stat(self, path: str) -> Node | None:
        with self._lock:
            return self._nodes.get(normalize(path))

    def listdir(self, path: str) -> list[tuple[str, Node]]:
        """Entries of a directory, sorted by name; raises FileSystemError."""
        path = normalize(path)
        with self._lock:
            self._require_dir(path)
            prefix = path.rstrip("/") + "/"
            entries = [
                (child[len(prefix) :], node)
                for child, node in self._nodes.items()
                if child.startswith(prefix)
                and "/" not in child[len(prefix) :]
                and child != "/"
            ]
        return sorted(entries)

    def read(self, path: str) -> bytes:
        path = normalize(path)
        with self._lock:
            node = self._nodes.get(path)
            if node is None:
                raise FileSystemError(path, NOT_FOUND)
            if node.data is None:
                raise FileSystemError(path, IS_DIR)
            return node.data

    def write(
        self, path: str, data: bytes, mode: int = 0o644, mtime: int | None = None
    ) -> None:
        """Create or replace a file, creating missing parent directories."""
        path = normalize(path)
        with self._lock:
            self._require_writable(path)
            self._make_dirs(posixpath.dirname(path))
            existing = self._nodes.get(path)
            if existing is not None and existing.is_dir:
                raise FileSystemError(path, IS_DIR)
            stamp = int(time.time()) if mtime is None else mtime
            self._nodes[path] = Node(stat.S_IFREG | (mode & 0o7777), stamp, bytes(data))

    def append(self, path: str, data: bytes) -> None:
        existing = self.stat(path)
        previous = (
            existing.data if existing is not None and existing.data is not None else b""
        )
        self.write(path, previous + data)

    def mkdir(self, path: str, parents: bool = False) -> None:
        path = normalize(path)
        with self._lock:
            self._require_writable(path)
            if path in self._nodes:
                if parents and self._nodes[path].is_dir:
                    return
                raise FileSystemError(path, EXISTS)
            parent = posixpath.dirname(path)
            if parents:
                self._make_dirs(parent)
            self._require_dir(parent)
            self._nodes[path] = Node(stat.S_IFDIR | 0o771, int(time.time()))

    def remove(self, path: str, recursive: bool = False) -> None:
        path = normalize(path)
        with self._lock:
            self._require_writable(path)
            node = self._nodes.get(path)
            if node is None:
                raise FileSystemError(path, NOT_FOUND)
            children = [p for p in self._nodes if p.startswith(path.rstrip("/") + "/")]
            if node.is_dir and not recursive:
                raise FileSystemError(path, IS_DIR)
            for child in children:
                del self._nodes[child]
            del self._nodes[path]

    def _require_dir(self, path: str) -> None:
        node = self._nodes.get(path)
        if node is None:
            raise FileSystemError(path, NOT_FOUND)
        if not node.is_dir:
            raise FileSystemError(path, NOT_DIR)

    def _require_writable(self, path: str) -> None:
        if not any(path == root or path.startswith(root + "/") for root in _WRITABLE):
            raise FileSystemError(path, DENIED)

    def _make_dirs(self, path: str) -> None:
        missing = []
        while path not in self._nodes:
            missing.append(path)
            path = posixpath.dirname(path)
        if not self._nodes[path].is_dir:
            raise FileSystemError(path, NOT_DIR)
        for directory in reversed(missing):
            self._nodes[directory] = Node(stat.S_IFDIR | 0o771, int(time.time()))


def normalize(path: str) -> str:
    """Absolute, normalised path with the shared-storage aliases folded into /sdcard."""
    path = posixpath.normpath("/" + path.lstrip("/")) if path else "/"
    path = "/" + path.lstrip("/")
    for alias in _ALIASES:
        if path == alias or path.startswith(alias + "/"):
            return "/sdcard" + path[len(alias) :]
    return path

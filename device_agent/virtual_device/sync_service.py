"""The ``sync:`` service: file transfer requests over one stream.

Each request is a 4-byte id, a little-endian 32-bit length and that many bytes
of path. The service answers, in order, until QUIT or the end of the stream:

- STAT: ``STAT`` with mode, size and mtime (all zero if the path is missing);
- LIST: one ``DENT`` (mode, size, mtime, name length, name) per entry, then
  ``DONE`` with four zero words;
- RECV: ``DATA`` chunks of at most 64 KiB, then ``DONE``, or ``FAIL`` with a
  message;
- SEND: reads ``DATA`` chunks up to ``DONE`` (whose word is the mtime), stores
  the file and answers ``OKAY`` or ``FAIL``.

The v2 requests (STA2, LST2, SND2, RCV2) are not offered: the banner does not
announce their features, so clients use the v1 requests above.
"""

import struct

from .errors import FileSystemError
from .filesystem import FileSystem
from .transport import Stream

MAX_PATH = 1024
MAX_CHUNK = 64 * 1024
_WORD = struct.Struct("<I")


def serve_sync(stream: Stream, files: FileSystem) -> None:
    """Answer sync requests until the client quits or closes the stream."""
    handlers = {b"STAT": _stat, b"LIST": _list, b"RECV": _recv, b"SEND": _send}
    while True:
        request = stream.read_exact(4)
        length = _WORD.unpack(stream.read_exact(4))[0]
        if request == b"QUIT":
            return
        handler = handlers.get(request)
        if handler is None or length > MAX_PATH:
            _fail(stream, f"unknown or malformed sync request {request!r}")
            return
        path = stream.read_exact(length).decode("utf-8", "replace")
        handler(stream, files, path)


def _stat(stream: Stream, files: FileSystem, path: str) -> None:
    node = files.stat(path)
    if node is None:
        stream.write(b"STAT" + struct.pack("<3I", 0, 0, 0))
        return
    stream.write(b"STAT" + struct.pack("<3I", node.mode, node.size, node.mtime))


def _list(stream: Stream, files: FileSystem, path: str) -> None:
    node = files.stat(path)
    entries = []
    if node is not None and node.is_dir:
        entries = [(".", node), ("..", node), *files.listdir(path)]
    payload = b""
    for name, child in entries:
        encoded = name.encode()
        payload += b"DENT" + struct.pack(
            "<4I", child.mode, child.size, child.mtime, len(encoded)
        )
        payload += encoded
    stream.write(payload + b"DONE" + struct.pack("<4I", 0, 0, 0, 0))


def _recv(stream: Stream, files: FileSystem, path: str) -> None:
    try:
        data = files.read(path)
    except FileSystemError as exc:
        _fail(stream, exc.reason)
        return
    payload = b""
    for start in range(0, len(data), MAX_CHUNK):
        chunk = data[start : start + MAX_CHUNK]
        payload += b"DATA" + _WORD.pack(len(chunk)) + chunk
    stream.write(payload + b"DONE" + _WORD.pack(0))


def _send(stream: Stream, files: FileSystem, spec: str) -> None:
    path, _, mode_text = spec.rpartition(",")
    if not path:
        path, mode_text = spec, "33188"
    chunks = []
    while True:
        kind = stream.read_exact(4)
        word = _WORD.unpack(stream.read_exact(4))[0]
        if kind == b"DONE":
            break
        if kind != b"DATA" or word > MAX_CHUNK:
            _fail(stream, "invalid data message")
            return
        chunks.append(stream.read_exact(word))
    try:
        mode = int(mode_text) if mode_text.isdigit() else 0o644
        files.write(path, b"".join(chunks), mode=mode, mtime=word)
    except FileSystemError as exc:
        _fail(stream, f"couldn't create file: {exc.reason}")
        return
    stream.write(b"OKAY" + _WORD.pack(0))


def _fail(stream: Stream, message: str) -> None:
    encoded = message.encode()
    stream.write(b"FAIL" + _WORD.pack(len(encoded)) + encoded)

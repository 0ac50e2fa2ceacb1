"""ADB transport messages: the 24-byte header, its payload and its checks.

A message is six little-endian 32-bit words (command, arg0, arg1, payload
length, payload checksum, command XOR 0xFFFFFFFF) followed by the payload.
The checksum is the byte sum of the payload; from protocol version 0x01000001
on, a sender may leave it 0 and the receiver must not check it.
"""

import socket
import struct
from dataclasses import dataclass

from .errors import ProtocolError, StreamClosedError

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453
KNOWN_COMMANDS = frozenset(
    {A_SYNC, A_CNXN, A_AUTH, A_OPEN, A_OKAY, A_CLSE, A_WRTE, A_STLS}
)

VERSION_MIN = 0x01000000
VERSION_SKIP_CHECKSUM = 0x01000001
MAX_PAYLOAD = 1024 * 1024
# Before CNXN the peer may use any payload size up to this (adb's MAX_PAYLOAD).
HANDSHAKE_MAX_PAYLOAD = 1024 * 1024
AUTH_TOKEN = 1
AUTH_SIGNATURE = 2
AUTH_RSAPUBLICKEY = 3

_HEADER = struct.Struct("<6I")
HEADER_SIZE = _HEADER.size
_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class Message:
    """One ADB transport message."""

    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return self.command.to_bytes(4, "little").decode("ascii", "replace")


def checksum(data: bytes) -> int:
    return sum(data) & _MASK


def encode(message: Message, version: int) -> bytes:
    """Serialise a message, with a checksum only where the version needs one."""
    crc = checksum(message.data) if version < VERSION_SKIP_CHECKSUM else 0
    header = _HEADER.pack(
        message.command,
        message.arg0 & _MASK,
        message.arg1 & _MASK,
        len(message.data),
        crc,
        message.command ^ _MASK,
    )
    return header + message.data


def read_message(sock: socket.socket, version: int, max_payload: int) -> Message:
    """Read one message; raises ProtocolError, or StreamClosedError at EOF."""
    command, arg0, arg1, length, crc, magic = _HEADER.unpack(
        _read_exact(sock, HEADER_SIZE)
    )
    if magic != command ^ _MASK or command not in KNOWN_COMMANDS:
        raise ProtocolError(f"bad message header: command=0x{command:08x}")
    if length > max_payload:
        raise ProtocolError(f"payload of {length} bytes exceeds {max_payload}")
    data = _read_exact(sock, length)
    if command == A_CNXN:
        # A CNXN announces its sender's version, which decides its own checksum.
        version = max(version, arg0)
    if not _checksum_ok(data, crc, version):
        raise ProtocolError("payload checksum mismatch")
    return Message(command, arg0, arg1, data)


def _checksum_ok(data: bytes, crc: int, version: int) -> bool:
    # Like adbd, a peer on the newer version is trusted whether it sent a
    # checksum or left the field 0.
    return version >= VERSION_SKIP_CHECKSUM or crc == checksum(data)


def _read_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 256 * 1024))
        if not chunk:
            raise StreamClosedError("the adb server closed the transport")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)

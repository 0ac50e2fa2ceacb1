"""Service dispatch: what the phone does with each stream the adb server opens.

An OPEN names a service. Dispatch runs three stages:

1. Parse: split the name into the service, its options and its argument
   (``shell,v2,raw:ls -l`` is service ``shell``, options ``v2`` and ``raw``,
   argument ``ls -l``).
2. Select: ``shell`` with a command runs it once, raw or framed by shell
   protocol v2 (packet id 1 stdout, 2 stderr, 3 exit code); ``shell`` without a
   command is an interactive session with terminal echo; ``exec`` runs a
   command raw; ``sync`` transfers files; ``framebuffer`` sends the screen;
   ``root``/``unroot``/``remount`` answer as a production build does. Other
   names are refused, and the transport answers the OPEN with CLSE.
3. Run: the handler reads the stream, writes its output and returns; the
   transport then closes the stream.
"""

import logging
import struct
import time
from dataclasses import dataclass

from . import capture
from .phone import Phone
from .shell_runner import STDERR, STDOUT, ShellOutput, ShellRunner
from .sync_service import serve_sync
from .transport import Service, Stream

logger = logging.getLogger(__name__)

# Shell protocol v2 packet ids.
V2_STDIN = 0
V2_STDOUT = 1
V2_STDERR = 2
V2_EXIT = 3
V2_CLOSE_STDIN = 4
V2_WINDOW_SIZE = 5
V2_MAX_PACKET = 64 * 1024
_V2_HEADER = struct.Struct("<BI")

_FIXED_REPLIES = {
    "root": b"adbd cannot run as root in production builds\n",
    "unroot": b"adbd not running as root\n",
    "remount": b'Not running as root. Try "adb root" first.\n',
}


@dataclass(frozen=True)
class ServiceRequest:
    """A parsed service name."""

    service: str
    options: tuple[str, ...]
    argument: str

    @property
    def protocol_v2(self) -> bool:
        return "v2" in self.options


def parse_service(name: str) -> ServiceRequest:
    head, _, argument = name.partition(":")
    service, *options = head.split(",")
    return ServiceRequest(service, tuple(options), argument)


class Services:
    """The dispatcher handed to each transport."""

    def __init__(self, phone: Phone) -> None:
        self._phone = phone

    def __call__(self, name: str) -> Service | None:
        request = parse_service(name)
        handler = self._select(request)
        if handler is None:
            return None
        return _logged(request, handler)

    def _select(self, request: ServiceRequest) -> Service | None:
        if request.service == "shell":
            if not request.argument.strip():
                return lambda stream: self._interactive(stream, request.protocol_v2)
            if request.protocol_v2:
                return lambda stream: self._shell_v2(stream, request.argument)
            return lambda stream: self._shell_raw(stream, request.argument)
        if request.service == "exec":
            return lambda stream: self._shell_raw(stream, request.argument)
        if request.service == "sync":
            return lambda stream: serve_sync(stream, self._phone.files)
        if request.service == "framebuffer":
            return lambda stream: stream.write(
                capture.framebuffer(self._phone.render())
            )
        if request.service in _FIXED_REPLIES:
            reply = _FIXED_REPLIES[request.service]
            return lambda stream: stream.write(reply)
        return None

    def new_runner(self) -> ShellRunner:
        config = self._phone.config
        env = {
            "PATH": "/product/bin:/apex/com.android.runtime/bin:/system/bin",
            "HOME": "/",
            "USER": "shell",
            "HOSTNAME": config.product,
            "EXTERNAL_STORAGE": "/sdcard",
            "ANDROID_DATA": "/data",
            "ANDROID_ROOT": "/system",
            "TMPDIR": "/data/local/tmp",
        }
        return ShellRunner(self._phone, env)

    def _shell_raw(self, stream: Stream, command: str) -> None:
        # NOTE: input the client sends to a one-shot command is ignored;
        # commands read an empty stdin, as with ``adb shell cmd < /dev/null``.
        output = self.new_runner().run(command)
        stream.write(output.combined())

    def _shell_v2(self, stream: Stream, command: str) -> None:
        output = self.new_runner().run(command)
        _write_v2_output(stream, output)
        stream.write(_v2_packet(V2_EXIT, bytes([output.exit_code & 0xFF])))

    def _interactive(self, stream: Stream, protocol_v2: bool) -> None:
        session = _InteractiveSession(self.new_runner(), self._phone.config.product)
        channel = _V2Channel(stream) if protocol_v2 else _RawChannel(stream)
        channel.send(session.prompt())
        while not session.finished:
            data = channel.receive()
            if data is None:
                break
            channel.send(session.feed(data))
        channel.finish(session.runner.status)


def _logged(request: ServiceRequest, handler: Service) -> Service:
    # Only the command's name is logged: its arguments may be typed text such
    # as a password.
    command = request.argument.split(maxsplit=1)[0] if request.argument.strip() else ""

    def run(stream: Stream) -> None:
        started = time.monotonic()
        try:
            handler(stream)
        finally:
            elapsed_ms = round((time.monotonic() - started) * 1000)
            extra = {"service": request.service, "command": command}
            logger.info("service done", extra={**extra, "duration_ms": elapsed_ms})

    return run


def _v2_packet(packet_id: int, data: bytes) -> bytes:
    return _V2_HEADER.pack(packet_id, len(data)) + data


def _write_v2_output(stream: Stream, output: ShellOutput) -> None:
    ids = {STDOUT: V2_STDOUT, STDERR: V2_STDERR}
    for fd, data in output.chunks:
        for start in range(0, len(data), V2_MAX_PACKET):
            stream.write(_v2_packet(ids[fd], data[start : start + V2_MAX_PACKET]))


class _InteractiveSession:
    """Line editing and echo of a terminal, in front of a ShellRunner."""

    def __init__(self, runner: ShellRunner, hostname: str) -> None:
        self.runner = runner
        self._hostname = hostname
        self._line = ""
        self.finished = False

    def prompt(self) -> bytes:
        return f"{self._hostname}:/ $ ".encode()

    def feed(self, data: bytes) -> bytes:
        """Consume typed bytes; return what the terminal shows in reply."""
        shown = b""
        for char in data.decode("utf-8", "replace"):
            shown += self._key(char)
            if self.finished:
                break
        return shown

    def _key(self, char: str) -> bytes:
        if char in "\r\n":
            return b"\r\n" + self._run_line()
        if char == "\x7f" or char == "\b":
            if not self._line:
                return b""
            self._line = self._line[:-1]
            return b"\b \b"
        if char == "\x03":
            self._line = ""
            return b"^C\r\n" + self.prompt()
        if char == "\x04" and not self._line:
            self.finished = True
            return b""
        self._line += char
        return char.encode()

    def _run_line(self) -> bytes:
        line, self._line = self._line.strip(), ""
        if line in ("exit", "logout"):
            self.finished = True
            return b""
        output = self.runner.run(line) if line else ShellOutput()
        return output.combined().replace(b"\n", b"\r\n") + self.prompt()


class _RawChannel:
    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    def send(self, data: bytes) -> None:
        if data:
            self._stream.write(data)

    def receive(self) -> bytes | None:
        data = self._stream.read()
        return data or None

    def finish(self, status: int) -> None:
        return None


class _V2Channel:
    """Shell protocol v2 framing around an interactive session."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    def send(self, data: bytes) -> None:
        if data:
            self._stream.write(_v2_packet(V2_STDOUT, data))

    def receive(self) -> bytes | None:
        while True:
            packet_id, length = _V2_HEADER.unpack(
                self._stream.read_exact(_V2_HEADER.size)
            )
            payload = self._stream.read_exact(length)
            if packet_id == V2_STDIN:
                return payload
            if packet_id == V2_CLOSE_STDIN:
                return None

    def finish(self, status: int) -> None:
        self._stream.write(_v2_packet(V2_EXIT, bytes([status & 0xFF])))

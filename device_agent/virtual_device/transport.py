"""One adb server connection, from handshake to teardown.

The adb server talks to a phone over a single TCP connection that carries many
logical streams. A ``Transport`` runs three stages on it:

1. Handshake: wait for the server's CNXN, negotiate the protocol version and
   the largest payload (the smaller of both sides), and answer with CNXN and
   the device banner. A virtual device trusts every host, so an AUTH from the
   server is answered with CNXN too and never with an AUTH challenge.
2. Stream demux: OPEN asks the dispatcher for the named service and, if it
   exists, answers OKAY with a fresh local id and runs the service on its own
   thread; OKAY releases the stream's pending write; WRTE hands data to the
   stream and is acknowledged; CLSE ends the stream.
3. Teardown: when the server leaves, breaks the protocol or the phone is
   unplugged, every stream is closed so that its service thread stops.

Flow control follows the classic protocol: after each WRTE the sender waits for
the peer's OKAY before sending the next one. The ``delayed_ack`` feature is not
advertised, so the server never expects windowed acknowledgements.
"""

import contextlib
import itertools
import logging
import socket
import threading
from collections.abc import Callable

from . import protocol
from .errors import ProtocolError, StreamClosedError
from .protocol import Message

logger = logging.getLogger(__name__)

# A service is a callable run on its own thread; the dispatcher returns None for
# a service name the device does not offer.
Service = Callable[["Stream"], None]
Dispatcher = Callable[[str], Service | None]

CLOSE_ACK_TIMEOUT_S = 2.0
HANDSHAKE_TIMEOUT_S = 10.0


class Stream:
    """One logical stream: a byte pipe between a service and an adb client."""

    def __init__(self, transport: "Transport", local_id: int, remote_id: int) -> None:
        self.local_id = local_id
        self.remote_id = remote_id
        self._transport = transport
        self._cond = threading.Condition()
        self._inbox = bytearray()
        self._awaiting_ack = False
        self._remote_closed = False
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed or self._remote_closed

    def write(self, data: bytes) -> None:
        """Send data in payload-sized WRTEs; raises StreamClosedError."""
        size = self._transport.max_payload
        for start in range(0, len(data), size):
            self._wait_until_acknowledged(timeout=None)
            with self._cond:
                self._awaiting_ack = True
            chunk = data[start : start + size]
            self._transport.send(
                Message(protocol.A_WRTE, self.local_id, self.remote_id, chunk)
            )

    def read(self, timeout: float | None = None) -> bytes:
        """Return whatever data has arrived, or b"" once the peer closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._inbox or self.closed, timeout)
            data = bytes(self._inbox)
            self._inbox.clear()
            return data

    def read_exact(self, size: int) -> bytes:
        """Return exactly ``size`` bytes; raises StreamClosedError at end of stream."""
        with self._cond:
            self._cond.wait_for(lambda: len(self._inbox) >= size or self.closed)
            if len(self._inbox) < size:
                raise StreamClosedError("stream ended inside a request")
            data = bytes(self._inbox[:size])
            del self._inbox[:size]
            return data

    def close(self) -> None:
        """Close our end once the last write was acknowledged (or shortly after)."""
        if self._closed:
            return
        self._wait_until_acknowledged(timeout=CLOSE_ACK_TIMEOUT_S, quiet=True)
        with self._cond:
            if self._closed:
                return
            self._closed = True
            remote_closed = self._remote_closed
            self._cond.notify_all()
        self._transport.forget(self.local_id)
        if not remote_closed:
            self._transport.send_quietly(
                Message(protocol.A_CLSE, self.local_id, self.remote_id)
            )

    def on_ack(self) -> None:
        with self._cond:
            self._awaiting_ack = False
            self._cond.notify_all()

    def on_data(self, data: bytes) -> None:
        with self._cond:
            self._inbox.extend(data)
            self._cond.notify_all()

    def on_remote_close(self) -> None:
        with self._cond:
            self._remote_closed = True
            self._cond.notify_all()

    def _wait_until_acknowledged(
        self, timeout: float | None, quiet: bool = False
    ) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._awaiting_ack or self.closed, timeout)
            if self.closed and not quiet:
                raise StreamClosedError("stream closed by the adb server")


class Transport:
    """The device side of one TCP connection from the adb server."""

    def __init__(
        self, sock: socket.socket, banner: bytes, dispatcher: Dispatcher
    ) -> None:
        self._sock = sock
        self._banner = banner
        self._dispatcher = dispatcher
        self._send_lock = threading.Lock()
        self._streams: dict[int, Stream] = {}
        self._streams_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._dead = threading.Event()
        self.version = protocol.VERSION_MIN
        self.max_payload = protocol.HANDSHAKE_MAX_PAYLOAD

    def serve(self) -> None:
        """Run the handshake, then demultiplex until the connection ends."""
        try:
            self._handshake()
            self._demux()
        except (StreamClosedError, OSError):
            logger.debug("transport ended")
        except ProtocolError as exc:
            logger.warning("transport protocol error", extra={"error": str(exc)})
        finally:
            self.close()

    def close(self) -> None:
        """Drop the connection and end every stream, as an unplugged cable would."""
        if self._dead.is_set():
            return
        self._dead.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with self._streams_lock:
            streams = list(self._streams.values())
            self._streams.clear()
        for stream in streams:
            stream.on_remote_close()

    def send(self, message: Message) -> None:
        """Send one message; raises StreamClosedError when the connection is gone."""
        if self._dead.is_set():
            raise StreamClosedError("transport is closed")
        payload = protocol.encode(message, self.version)
        try:
            with self._send_lock:
                self._sock.sendall(payload)
        except OSError as exc:
            self.close()
            raise StreamClosedError("transport is closed") from exc

    def send_quietly(self, message: Message) -> None:
        with contextlib.suppress(StreamClosedError):
            self.send(message)

    def forget(self, local_id: int) -> None:
        with self._streams_lock:
            self._streams.pop(local_id, None)

    def _handshake(self) -> None:
        self._sock.settimeout(HANDSHAKE_TIMEOUT_S)
        while True:
            message = self._read()
            if message.command == protocol.A_CNXN:
                self._accept_connect(message)
                break
            if message.command == protocol.A_AUTH:
                self._reply_connect()
                break
        self._sock.settimeout(None)

    def _accept_connect(self, message: Message) -> None:
        self.version = min(message.arg0, protocol.VERSION_SKIP_CHECKSUM)
        self.max_payload = max(4096, min(message.arg1, protocol.MAX_PAYLOAD))
        logger.info(
            "adb server connected",
            extra={"version": hex(self.version), "max_payload": self.max_payload},
        )
        self._reply_connect()

    def _reply_connect(self) -> None:
        reply = Message(protocol.A_CNXN, self.version, self.max_payload, self._banner)
        self.send(reply)

    def _demux(self) -> None:
        handlers = {
            protocol.A_OPEN: self._on_open,
            protocol.A_OKAY: self._on_okay,
            protocol.A_WRTE: self._on_write,
            protocol.A_CLSE: self._on_close,
            protocol.A_CNXN: self._on_reconnect,
            protocol.A_AUTH: lambda _message: self._reply_connect(),
        }
        while not self._dead.is_set():
            message = self._read()
            handler = handlers.get(message.command)
            if handler is not None:
                handler(message)

    def _read(self) -> Message:
        return protocol.read_message(self._sock, self.version, protocol.MAX_PAYLOAD)

    def _on_open(self, message: Message) -> None:
        name = message.data.rstrip(b"\0").decode("utf-8", "replace")
        service = self._dispatcher(name)
        if service is None:
            logger.info("service refused", extra={"service": name.partition(":")[0]})
            self.send(Message(protocol.A_CLSE, 0, message.arg0))
            return
        stream = Stream(self, next(self._ids), message.arg0)
        with self._streams_lock:
            self._streams[stream.local_id] = stream
        self.send(Message(protocol.A_OKAY, stream.local_id, stream.remote_id))
        thread = threading.Thread(
            target=_run_service, args=(service, stream, name), daemon=True
        )
        thread.start()

    def _on_okay(self, message: Message) -> None:
        stream = self._stream(message.arg1)
        if stream is not None:
            stream.on_ack()

    def _on_write(self, message: Message) -> None:
        stream = self._stream(message.arg1)
        if stream is None:
            return
        stream.on_data(message.data)
        self.send(Message(protocol.A_OKAY, stream.local_id, stream.remote_id))

    def _on_close(self, message: Message) -> None:
        stream = self._stream(message.arg1)
        if stream is not None:
            stream.on_remote_close()
            self.forget(stream.local_id)

    def _on_reconnect(self, message: Message) -> None:
        # A second CNXN means the server restarted its side of the transport and
        # has forgotten its streams, so they are dropped without a CLSE.
        with self._streams_lock:
            streams = list(self._streams.values())
            self._streams.clear()
        for stream in streams:
            stream.on_remote_close()
        self._accept_connect(message)

    def _stream(self, local_id: int) -> Stream | None:
        with self._streams_lock:
            return self._streams.get(local_id)


def _run_service(service: Service, stream: Stream, name: str) -> None:
    try:
        service(stream)
    except StreamClosedError:
        logger.debug("stream closed early", extra={"service": name})
    except Exception:
        logger.exception("service failed", extra={"service": name})
    finally:
        stream.close()

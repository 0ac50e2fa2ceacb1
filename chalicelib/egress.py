"""Outbound HTTP to addresses users give us, safe from request forgery.

A request to a user's URL passes three stages, and the first two also run
alone when a URL is registered:

1. `check_url` reads the URL: `https` (plain `http` only where the stage's
   configuration allows it), a host, no user information, no fragment;
2. `resolve` looks the host up once, and every address it yields must be
   public: no private, shared, loopback (unless configuration allows it),
   link-local, multicast, reserved or unspecified address, none hiding one
   (IPv4-mapped, 6to4, Teredo, NAT64), and none of the cloud metadata
   addresses;
3. `post` connects to a vetted address itself, so that no second lookup can
   swap the target (DNS rebinding), while `Host`, SNI and the certificate
   check keep the URL's host name. One deadline covers connecting, sending
   and reading; at most `MAX_RESPONSE_BYTES` are read; redirects are answered
   as they are, never followed.

Failures are `EgressError`s that say whether trying again later may help.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2000
MAX_RESPONSE_BYTES = 64 * 1024
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
NAT64_NETWORKS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)


class EgressError(Exception):
    """A request to a user's URL could not be made or was refused."""

    retryable = False


class RefusedError(EgressError):
    """The URL, or an address its host resolves to, must not be contacted."""


class UnreachableError(EgressError):
    """The host did not resolve, or the connection failed or was cut."""

    retryable = True


class DeadlineError(EgressError):
    """The receiver did not answer within the deadline."""

    retryable = True


@dataclass(frozen=True)
class Policy:
    """What the stage's configuration allows beyond public https."""

    allow_http: bool = False
    allow_loopback: bool = False

    @classmethod
    def from_settings(cls) -> Policy:
        settings = get_settings()
        return cls(settings.webhooks_allow_http, settings.webhooks_allow_loopback)


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to ask for there."""

    scheme: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: float | None
    duration_ms: float


def check_url(url: object, policy: Policy | None = None) -> Target:
    """The parts of a URL we may send to; raises RefusedError saying why."""
    policy = policy or Policy.from_settings()
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL_LENGTH:
        raise RefusedError(f"must be a URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise RefusedError("is not a valid URL") from exc
    schemes = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in schemes:
        raise RefusedError(f"must use {' or '.join(schemes)}")
    if not host:
        raise RefusedError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise RefusedError("must not carry user information")
    if parts.fragment or "#" in url:
        raise RefusedError("must not contain a fragment")
    default_port = 443 if parts.scheme == "https" else 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or default_port, path)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`."""
    # NOTE: getaddrinfo has no timeout of its own; a slow DNS server stretches
    # the request it serves (registration, or a delivery beyond its deadline).
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(entry[4][0] for entry in found))


def resolve(
    target: Target, policy: Policy | None = None, resolver: Resolver | None = None
) -> list[IPAddress]:
    """The vetted addresses of the target's host, looked up once.

    Raises RefusedError if any address is not public, UnreachableError if the
    host does not resolve.
    """
    policy = policy or Policy.from_settings()
    lookup = resolver or resolve_host
    try:
        literal = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    try:
        texts = [str(literal)] if literal else lookup(target.host, target.port)
    except (OSError, UnicodeError) as exc:
        raise UnreachableError(f"host {target.host} does not resolve") from exc
    if not texts:
        raise UnreachableError(f"host {target.host} has no address")
    addresses = [ipaddress.ip_address(text.split("%")[0]) for text in texts]
    for address in addresses:
        problem = address_problem(address, policy)
        if problem and literal:
            raise RefusedError(f"must not point to {problem} ({address})")
        if problem:
            raise RefusedError(f"host {target.host} resolves to {problem} ({address})")
    return addresses


def address_problem(address: IPAddress, policy: Policy | None = None) -> str | None:
    """Why `address` must not be contacted, or None if it is public."""
    policy = policy or Policy()
    if policy.allow_loopback and _loopback(address):
        return None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for embedded in _embedded_ipv4(address):
        inner = address_problem(embedded, Policy())
        if inner:
            return f"an address embedding {inner}"
    if _loopback(address):
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_private or address.is_reserved or not address.is_global:
        return "a private or reserved address"
    return None


def _loopback(address: IPAddress) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found.append(address.teredo[1])
    if any(address in network for network in NAT64_NETWORKS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [embedded for embedded in found if embedded is not None]


def vet_url(
    url: object, policy: Policy | None = None, resolver: Resolver | None = None
) -> Target:
    """Check a URL and its host's addresses now; raises EgressError."""
    target = check_url(url, policy)
    resolve(target, policy, resolver)
    return target


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    policy: Policy | None = None,
    resolver: Resolver | None = None,
) -> Answer:
    """POST `body` to a vetted address of `url` within `timeout` seconds.

    Any status is an Answer (a redirect too, unfollowed); raises
    RefusedError, UnreachableError or DeadlineError.
    """
    started = time.monotonic()
    target = check_url(url, policy)
    addresses = resolve(target, policy, resolver)
    remaining = timeout - (time.monotonic() - started)
    if remaining <= 0:
        raise DeadlineError(f"no answer within {timeout:g} s")
    # NOTE: only the first vetted address is tried; a host whose first address
    # is unreachable fails this attempt, and the next one is a retry later.
    try:
        status, retry_after = _exchange(target, addresses[0], body, headers, remaining)
    except DeadlineError as exc:
        raise DeadlineError(f"no answer within {timeout:g} s") from exc
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    return Answer(status, retry_after, duration_ms)


def _exchange(
    target: Target,
    address: IPAddress,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> tuple[int, float | None]:
    connection = _pinned_connection(target, address, timeout)
    expired = threading.Event()
    watchdog = threading.Timer(timeout, _cut, args=(connection, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        if expired.is_set():
            # The cut connection can end a half-read answer as if complete.
            raise DeadlineError("the deadline passed")
        return response.status, parse_retry_after(response.getheader("Retry-After"))
    except TimeoutError as exc:
        raise DeadlineError("the deadline passed") from exc
    except ssl.SSLError as exc:
        raise UnreachableError(f"TLS failed: {exc.reason or exc}") from exc
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise DeadlineError("the deadline passed") from exc
        raise UnreachableError(_connection_problem(exc)) from exc
    finally:
        watchdog.cancel()
        connection.close()


def _pinned_connection(
    target: Target, address: IPAddress, timeout: float
) -> http.client.HTTPConnection:
    """A connection to `address` that presents itself as the target's host."""
    if target.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=_tls_context()
        )
    else:
        connection = http.client.HTTPConnection(
            target.host, target.port, timeout=timeout
        )

    def connect_pinned(
        _: tuple[str, int], timeout: float | None = None, source: object = None
    ) -> socket.socket:
        return socket.create_connection((str(address), target.port), timeout)

    connection._create_connection = connect_pinned  # type: ignore[attr-defined]
    return connection


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _cut(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """Stop an exchange that outlived its deadline, whatever it is waiting for."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            logger.debug("socket already closed at the deadline")


def _connection_problem(exc: Exception) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, http.client.HTTPException):
        return f"malformed answer ({type(exc).__name__})"
    return f"connection failed ({exc.strerror or type(exc).__name__})"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - time.time())

"""Webhook URLs cannot aim our requests at our own network.

Unit tests of `chalicelib.egress` use production's policy (https only, no
loopback) and injected resolvers, so no test needs DNS; integration tests go
through the API and the delivery handlers of the local stack.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib import egress
from chalicelib.settings import Settings, SettingsError
from tests.receivers import Answer, receiving
from tests.webhook_tools import ping, register, wait_for_delivery

PRODUCTION = egress.Policy()
LOCAL = egress.Policy(allow_http=True, allow_loopback=True)

INTERNAL_TARGETS = [
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://127.0.0.1/hook",
    "https://127.9.9.9:8443/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://169.254.170.2/v2/credentials",
    "https://0.0.0.0/hook",
    "https://100.64.0.1/hook",
    "https://224.0.0.1/hook",
    "https://255.255.255.255/hook",
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://[fe80::1]/hook",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://[fc00::5]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://[64:ff9b::a9fe:a9fe]/hook",
    "https://[2002:a00:1::]/hook",
    "https://[ff02::1]/hook",
]


def resolving(table: dict[str, list[str]], calls: list[str] | None = None):
    def resolver(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown host")
        return table[host]

    return resolver


@pytest.mark.parametrize("url", INTERNAL_TARGETS)
def test_internal_addresses_are_refused(url):
    with pytest.raises(egress.RefusedError):
        egress.vet_url(url, PRODUCTION, resolving({}))


@pytest.mark.parametrize(
    "url",
    ["https://10.0.0.1/", "https://169.254.169.254/", "https://[fd00:ec2::254]/"],
)
def test_allowing_loopback_allows_nothing_else(url):
    with pytest.raises(egress.RefusedError):
        egress.vet_url(url, LOCAL, resolving({}))


def test_loopback_and_http_only_where_configuration_allows_them():
    with pytest.raises(egress.RefusedError, match="must use https"):
        egress.vet_url("http://hooks.example.com/", PRODUCTION)

    assert egress.vet_url("http://127.0.0.1:9/x", LOCAL).port == 9
    assert egress.vet_url("http://[::1]:9/x", LOCAL).host == "::1"


@pytest.mark.parametrize(
    "addresses",
    [["10.1.2.3"], ["93.184.216.34", "10.0.0.1"], ["169.254.169.254"], ["::1"]],
)
def test_a_name_resolving_to_an_internal_address_is_refused(addresses):
    resolver = resolving({"hooks.example.com": addresses})

    with pytest.raises(egress.RefusedError, match=r"hooks\.example\.com resolves to"):
        egress.vet_url("https://hooks.example.com/x", PRODUCTION, resolver)


def test_localhost_and_numeric_spellings_of_loopback_are_refused():
    for url in ("https://localhost/x", "https://2130706433/x", "https://0x7f.1/x"):
        with pytest.raises(egress.RefusedError):
            egress.vet_url(url, PRODUCTION)


def test_a_public_name_is_accepted():
    resolver = resolving({"hooks.example.com": ["93.184.216.34", "2606:2800::1"]})

    target = egress.vet_url("https://hooks.example.com/in?x=1", PRODUCTION, resolver)

    assert (target.host, target.port, target.path) == (
        "hooks.example.com",
        443,
        "/in?x=1",
    )


@pytest.mark.parametrize(
    "url, problem",
    [
        ("ftp://example.com/", "must use https"),
        ("https://user:pw@example.com/", "user information"),
        ("https:///nohost", "must name a host"),
        ("https://example.com/#frag", "fragment"),
        ("https://example.com:99999/", "not a valid URL"),
        ("x" * 2001, "at most 2000"),
    ],
)
def test_malformed_urls_are_refused(url, problem):
    with pytest.raises(egress.RefusedError, match=problem):
        egress.check_url(url, PRODUCTION)


def test_the_prod_stage_refuses_the_local_switches():
    with pytest.raises(SettingsError):
        Settings(stage="prod", webhooks_allow_http=True)
    with pytest.raises(SettingsError):
        Settings(stage="prod", webhooks_allow_loopback=True)
    with pytest.raises(SettingsError):
        Settings.from_environ(
            {"TAPCRAFT_STAGE": "prod", "TAPCRAFT_WEBHOOKS_ALLOW_LOOPBACK": "true"}
        )
    prod = Settings.from_environ({"TAPCRAFT_STAGE": "prod"})
    assert not prod.webhooks_allow_http and not prod.webhooks_allow_loopback


def test_the_connection_goes_to_the_address_that_was_checked():
    calls: list[str] = []
    rebinding = iter([["127.0.0.1"], ["10.0.0.9"]])

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(rebinding)

    with receiving() as receiver:
        port = receiver.server.server_port
        answer = egress.post(
            f"http://hooks.example.test:{port}/in", b"{}", {}, 2, LOCAL, resolver
        )
        (request,) = receiver.wait_for(1)

    assert answer.status == 200
    assert calls == ["hooks.example.test"]
    assert request.headers["host"] == f"hooks.example.test:{port}"


def test_redirects_are_answers_not_followed():
    with (
        receiving() as target,
        receiving(
            Answer(302, {"Location": "http://169.254.169.254/latest/meta-data/"})
        ) as redirecting,
    ):
        answer = egress.post(redirecting.url, b"{}", {}, 2, LOCAL)
        time.sleep(0.3)

        assert answer.status == 302
        assert target.received == []


def test_one_deadline_covers_a_receiver_that_drips_its_answer():
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        connection, _ = server.accept()
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.1):
            try:
                connection.sendall(b"X")
            except OSError:
                break
        connection.close()

    threading.Thread(target=drip, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/slow"
    started = time.monotonic()
    try:
        with pytest.raises(egress.DeadlineError, match=r"within 0\.5 s"):
            egress.post(url, b"{}", {}, 0.5, LOCAL)
    finally:
        stop.set()
        server.close()

    assert time.monotonic() - started < 1.5


def test_https_checks_the_certificate_against_the_url_host(monkeypatch):
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _self_signed(key, "hooks.example.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _load_chain(context, pem, key_pem)
    trusting = ssl.create_default_context(cadata=pem.decode())
    monkeypatch.setattr(egress, "_tls_context", lambda: trusting)
    resolver = resolving(
        {"hooks.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]}
    )

    with receiving() as receiver:
        receiver.server.socket = context.wrap_socket(
            receiver.server.socket, server_side=True
        )
        port = receiver.server.server_port
        answer = egress.post(
            f"https://hooks.example.test:{port}/in", b"{}", {}, 2, LOCAL, resolver
        )
        with pytest.raises(egress.UnreachableError, match="TLS"):
            egress.post(
                f"https://other.example.test:{port}/in", b"{}", {}, 2, LOCAL, resolver
            )

    assert answer.status == 200


def _self_signed(key: ec.EllipticCurvePrivateKey, host: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )


def _load_chain(context: ssl.SSLContext, certificate: bytes, key: bytes) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(certificate)
        key_path.write_bytes(key)
        context.load_cert_chain(cert_path, key_path)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.0.0.1/hook",
        "http://192.168.0.10/hook",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0:8000/",
    ],
)
def test_registration_refuses_internal_targets(tenant, url):
    response = tenant.client.post("/webhooks", json={"url": url, "events": []})

    assert response.status_code == 400
    assert response.json()["error"]["details"].startswith("url: must not point to")


def test_a_name_that_rebinds_after_registration_is_refused_at_delivery(
    tenant, monkeypatch
):
    answers = {"rebind.example.test": ["93.184.216.34"]}
    monkeypatch.setattr(egress, "resolve_host", lambda host, port: list(answers[host]))
    webhook = register(tenant, "http://rebind.example.test/hook")
    answers["rebind.example.test"] = ["10.0.0.7"]

    queued = ping(tenant, webhook["id"])
    failed = wait_for_delivery(tenant, webhook["id"], queued["id"])

    assert failed["status"] == "failed"
    assert len(failed["attempts"]) == 1
    assert (
        "resolves to a private or reserved address" in (failed["attempts"][0]["error"])
    )


def test_a_redirect_is_not_followed_at_delivery(tenant):
    with (
        receiving() as target,
        receiving(
            Answer(302, {"Location": "http://169.254.169.254/latest/meta-data/"})
        ) as redirecting,
    ):
        webhook = register(tenant, redirecting.url)
        queued = ping(tenant, webhook["id"])
        failed = wait_for_delivery(tenant, webhook["id"], queued["id"])

        assert target.received == []
    assert failed["status"] == "failed"
    assert [a["status_code"] for a in failed["attempts"]] == [302]
    assert failed["attempts"][0]["error"] == "redirects are not followed (HTTP 302)"

"""The embedded local stack: moto as AWS, the API over HTTP, and the bridge.

Stages of `LocalStack.start()`:

1. start moto in server mode on a free loopback port (a child process, with
   DynamoDB's atomic conditional writes: see `infra.local.moto_server`) and
   turn on its Step Functions executor;
2. point this process at it through the standard AWS environment variables;
3. provision infra/template.yaml with API calls;
4. import the app, serve it through the local API gateway and start the
   event bridge.

`stop()` undoes all of it. The stack keeps its data in memory only.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config

from infra.local.provision import Provisioned, Provisioner

logger = logging.getLogger(__name__)

LOCAL_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TAPCRAFT_STAGE": "local",
    "TAPCRAFT_RESOURCE_PREFIX": "tapcraft-local",
    # Webhooks may reach receivers on this machine over plain http; the
    # settings refuse both switches on the prod stage.
    "TAPCRAFT_WEBHOOKS_ALLOW_HTTP": "true",
    "TAPCRAFT_WEBHOOKS_ALLOW_LOOPBACK": "true",
}
STARTUP_SECONDS = 30
REPOSITORY = Path(__file__).resolve().parents[2]


class StackError(RuntimeError):
    """A part of the local stack failed to start."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MotoServer:
    """moto in server mode, as a child process on loopback."""

    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = self.port or free_port()
        env = {**os.environ, **LOCAL_ENVIRONMENT, "MOTO_PORT": str(self.port)}
        env.pop("AWS_ENDPOINT_URL", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.local.moto_server",
                "-H",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            env=env,
            cwd=REPOSITORY,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()
        self._post(
            "/moto-api/config", {"stepfunctions": {"execute_state_machine": True}}
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise StackError("moto server exited during start-up")
            try:
                requests.get(f"{self.url}/moto-api/", timeout=1).close()
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise StackError(f"moto server did not answer within {STARTUP_SECONDS} s")

    def _post(self, path: str, body: dict[str, Any]) -> None:
        requests.post(f"{self.url}{path}", json=body, timeout=5).raise_for_status()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class LocalStack:
    """Everything `make run` and the tests need, in this process and one child.

    With `endpoint_url` set (LocalStack, say) no moto server is started and
    resources are provisioned there only if `provision` is true.
    """

    api_port: int = 0
    endpoint_url: str | None = None
    provision: bool = True
    moto: MotoServer = field(default_factory=MotoServer)
    provisioned: Provisioned | None = None
    gateway: Any = None
    bridge: Any = None
    app: Any = None

    @property
    def api_url(self) -> str:
        return self.gateway.url

    @property
    def aws_url(self) -> str:
        return self.endpoint_url or self.moto.url

    def start(self, with_bridge: bool = True) -> LocalStack:
        if self.endpoint_url is None:
            self.moto.start()
            os.environ.update(LOCAL_ENVIRONMENT)
        else:
            for name, value in LOCAL_ENVIRONMENT.items():
                os.environ.setdefault(name, value)
        os.environ["AWS_ENDPOINT_URL"] = self.aws_url
        session = boto3.session.Session(region_name=os.environ["AWS_DEFAULT_REGION"])
        if self.provision:
            self.provisioned = Provisioner(session, self.aws_url).provision(
                {"ResourcePrefix": os.environ["TAPCRAFT_RESOURCE_PREFIX"]}
            )
        self._serve(session, with_bridge)
        return self

    def _serve(self, session: boto3.session.Session, with_bridge: bool) -> None:
        import app as application
        from infra.local.bridge import EventBridge
        from infra.local.gateway import LocalGatewayServer

        self.app = application.app
        self.gateway = LocalGatewayServer(self.app, port=self.api_port)
        self.gateway.start()
        if with_bridge:
            self.bridge = EventBridge(
                self.app,
                sqs=session.client(
                    "sqs",
                    endpoint_url=self.aws_url,
                    # one connection for each poller thread of the bridge
                    config=Config(max_pool_connections=64),
                ),
                sns=session.client("sns", endpoint_url=self.aws_url),
                region=session.region_name,
            )
            self.bridge.start()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.moto.url,
            region_name=LOCAL_ENVIRONMENT["AWS_REGION"],
        )

    def stop(self) -> None:
        if self.bridge:
            self.bridge.stop()
        if self.gateway:
            self.gateway.shutdown()
            self.gateway.server_close()
        self.moto.stop()

"""`make run`: the whole system on this machine, until Ctrl-C.

Starts the local stack (moto, the API, the event bridge), creates a demo
organization with an owner and an admin API key, starts a virtual phone with
a device agent for it, and prints how to call it all.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from typing import TYPE_CHECKING, Any

from infra.local.stack import LocalStack

if TYPE_CHECKING:
    from infra.local.phone import LocalPhone

DEMO_EMAIL = "owner@demo.tapcraft.local"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.local")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("TAPCRAFT_API_PORT", "8000"))
    )
    parser.add_argument(
        "--moto-port", type=int, default=int(os.environ.get("TAPCRAFT_MOTO_PORT", "0"))
    )
    parser.add_argument(
        "--endpoint-url",
        help="use this AWS endpoint (LocalStack, say) instead of starting moto",
    )
    parser.add_argument(
        "--no-phone",
        action="store_true",
        help="start no virtual phone and no device agent",
    )
    parser.add_argument(
        "--no-provision",
        action="store_true",
        help="with --endpoint-url: the resources exist already",
    )
    return parser.parse_args()


def _banner(stack: LocalStack, key: str, phone: LocalPhone | None) -> str:
    base = f"{stack.api_url}/v1"
    device = (
        f"{phone.serial} ({phone.resolution}), with a device agent"
        if phone
        else ("none (--no-phone)")
    )
    return "\n".join(
        [
            "TapCraft Pro is running locally (data lives in memory only).",
            f"  API base URL : {base}",
            f"  Local AWS    : {stack.aws_url}",
            f"  Virtual phone: {device}",
            f"  Admin API key: {key}",
            "",
            "Try it:",
            f'  curl -s {base}/scripts -H "Authorization: Bearer {key}"',
            "",
            "Press Ctrl-C to stop.",
        ]
    )


def _start_phone(stack: LocalStack, owner: Any) -> LocalPhone:
    # Imported once the stack has set the environment the app's modules read.
    from chalicelib import auth
    from infra.local.phone import LocalPhone

    principal = auth.Principal(
        owner.org_id,
        owner.id,
        owner.role,
        auth.ROLE_PERMISSIONS[owner.role],
        "make-run",
    )
    return LocalPhone(stack.api_url, principal).start()


def main() -> None:
    arguments = _arguments()
    from chalicelib.logs import configure_logging

    os.environ.setdefault("TAPCRAFT_LOG_LEVEL", "WARNING")
    configure_logging(os.environ["TAPCRAFT_LOG_LEVEL"])
    stack = LocalStack(
        api_port=arguments.port,
        endpoint_url=arguments.endpoint_url,
        provision=not arguments.no_provision,
    )
    stack.moto.port = arguments.moto_port
    stopping = threading.Event()
    phone: LocalPhone | None = None
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stack.start()
        from chalicelib import accounts

        _, owner, key = accounts.bootstrap_organization(
            "Demo", DEMO_EMAIL, "Demo Owner"
        )
        if not arguments.no_phone:
            phone = _start_phone(stack, owner)
        print(_banner(stack, key.key, phone), flush=True)
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if phone is not None:
            phone.stop()
        stack.stop()
        print("TapCraft Pro stopped.", flush=True)


if __name__ == "__main__":
    main()

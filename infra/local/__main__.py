"""`make run`: the whole system on this machine, until Ctrl-C.

Starts the local stack (moto, the API, the event bridge), creates a demo
organization with an owner and an admin API key, and prints how to call it.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from infra.local.stack import LocalStack

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
        "--no-provision",
        action="store_true",
        help="with --endpoint-url: the resources exist already",
    )
    return parser.parse_args()


def _banner(stack: LocalStack, key: str) -> str:
    base = f"{stack.api_url}/v1"
    return "\n".join(
        [
            "TapCraft Pro is running locally (data lives in memory only).",
            f"  API base URL : {base}",
            f"  Local AWS    : {stack.aws_url}",
            f"  Admin API key: {key}",
            "",
            "Try it:",
            f'  curl -s {base}/scripts -H "Authorization: Bearer {key}"',
            "",
            "Press Ctrl-C to stop.",
        ]
    )


def main() -> None:
    arguments = _arguments()
    from chalicelib.logs import configure_logging

    configure_logging(os.environ.get("TAPCRAFT_LOG_LEVEL", "WARNING"))
    stack = LocalStack(
        api_port=arguments.port,
        endpoint_url=arguments.endpoint_url,
        provision=not arguments.no_provision,
    )
    stack.moto.port = arguments.moto_port
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stack.start()
        from chalicelib import accounts

        _, _, key = accounts.bootstrap_organization("Demo", DEMO_EMAIL, "Demo Owner")
        print(_banner(stack, key.key), flush=True)
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        print("TapCraft Pro stopped.", flush=True)


if __name__ == "__main__":
    main()

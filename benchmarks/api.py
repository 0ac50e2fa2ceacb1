"""Scripts API figures: AWS calls per request, in-process latency, cold start.

Runs against a fresh local stack (moto server over HTTP). Each route is
invoked in-process through the Lambda entry point, as API Gateway would
invoke it, so the figures leave out the local HTTP server. Baselines taken
in the same run: the health route (no AWS call) and a bare DynamoDB GetItem
through boto3 (the floor for any route that must read one item).

    python -m benchmarks.api [--requests 50]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

from benchmarks.harness import counted_aws_calls, local_stack
from infra.local.stack import LocalStack


def measure(action: Callable[[], object], repeat: int) -> tuple[float, Counter]:
    action()
    timings = []
    with counted_aws_calls() as calls:
        for _ in range(repeat):
            started = time.perf_counter()
            action()
            timings.append((time.perf_counter() - started) * 1000)
        per_request = Counter({k: v / repeat for k, v in calls.items()})
    return statistics.median(timings), per_request


def cold_start(samples: int = 5) -> tuple[float, float]:
    def timed(code: str) -> float:
        runs = []
        for _ in range(samples):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs.append((time.perf_counter() - started) * 1000)
        return statistics.median(runs)

    return timed("import app"), timed("pass")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    repeat = parser.parse_args().requests

    with local_stack(with_bridge=False) as stack:
        run(stack, repeat)


def run(stack: LocalStack, repeat: int) -> None:
    from chalicelib import accounts
    from infra.local.gateway import build_event
    from infra.local.lambda_context import LocalLambdaContext
    from tests import reference

    # A business organization: its limits hold this run, and every route's
    # figures include the rate limiter's write, as paying customers see them.
    _, _, key = accounts.bootstrap_organization(
        "Bench", "bench@example.test", "B", "business"
    )
    headers = {"authorization": f"Bearer {key.key}", "content-type": "application/json"}

    def call(method: str, path: str, body: dict | None = None, extra=None) -> dict:
        raw = json.dumps(body).encode() if body is not None else b""
        event = build_event(
            stack.app, method, f"/v1{path}", {**headers, **(extra or {})}, raw
        )
        result = stack.app(event, LocalLambdaContext(function_name="bench"))
        assert result["statusCode"] < 300, result["body"]
        return json.loads(result["body"])

    for _ in range(20):
        call("POST", "/scripts", reference.INSTAGRAM_SCRIPT)
    script_id = call("POST", "/scripts", reference.INSTAGRAM_SCRIPT)["data"]["script"][
        "id"
    ]
    png = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (32, 32), "red").save(png, format="PNG")

    def fresh_id() -> str:
        return call("POST", "/scripts", reference.CREATE_SCRIPT)["data"]["script"]["id"]

    routes = {
        "GET /v1/health (baseline, no AWS)": lambda: call("GET", "/health"),
        "GET /v1/scripts (21 scripts)": lambda: call("GET", "/scripts"),
        "GET /v1/scripts?cursor=": lambda: call("GET", "/scripts?cursor=&limit=20"),
        "POST /v1/scripts": lambda: call(
            "POST", "/scripts", reference.INSTAGRAM_SCRIPT
        ),
        "GET /v1/scripts/{id}": lambda: call("GET", f"/scripts/{script_id}"),
        "PUT /v1/scripts/{id}": lambda: call(
            "PUT", f"/scripts/{script_id}", {"name": "renamed"}
        ),
        "DELETE /v1/scripts/{id}": lambda: call("DELETE", f"/scripts/{fresh_id()}"),
    }
    table = stack.client("dynamodb")
    floor, _ = measure(
        lambda: table.get_item(
            TableName="tapcraft-local-scripts", Key={"id": {"S": script_id}}
        ),
        repeat,
    )
    print(f"moto server at {stack.moto.url}; {repeat} requests per route\n")
    print(
        f"{'route':40} {'median ms':>9} {'x health':>8} {'x GetItem':>9}  "
        "AWS calls per request"
    )
    health = None
    for name, action in routes.items():
        median, calls = measure(action, repeat)
        health = health or median
        described = ", ".join(f"{k} {v:g}" for k, v in sorted(calls.items())) or "none"
        print(
            f"{name:40} {median:9.2f} {median / health:8.1f} {median / floor:9.1f}  "
            f"{described}"
        )
    print(f"{'bare boto3 GetItem (floor)':40} {floor:9.2f}")
    print("\nNOTE: DELETE's figures include the POST that makes each script to delete.")
    app_ms, empty_ms = cold_start()
    print(
        f"\ncold start: import app.py {app_ms:.0f} ms in a fresh interpreter; "
        f"empty interpreter {empty_ms:.0f} ms; app adds {app_ms - empty_ms:.0f} ms "
        f"({app_ms / empty_ms:.1f}x)"
    )


if __name__ == "__main__":
    main()

"""Webhook figures: deliveries per second, and the time from event to delivery.

Runs against a fresh local stack: the moto server, and the event bridge
running the fan-out and delivery handlers with the production timings (10 s
per attempt). Events are published with `chalicelib.events.publish_event`,
as capabilities publish them, for a webhook whose receiver (a threaded
`http.server` on loopback) answers 200 at once and notes when each request
arrived and whether its signature verifies.

1. Latency: events published one at a time; from the publish call to the
   receiver holding the request, median and p95.
2. Throughput: a burst of events published from several threads; deliveries
   per second from the first publish to the last arrival, and checks that
   none was lost or delivered twice and that every signature verifies.
3. Isolation: the same burst while a second webhook, subscribed to the same
   events and already failing, points at a receiver that accepts
   connections and never answers, so each of its attempts waits out the
   timeout.

Baselines from the same run: a signed POST made directly through
`chalicelib.egress` to the same receiver (the HTTP hop alone), one at a time
and from as many threads; an SNS publish received back through a
raw-delivery SQS subscription (the hop that carries events to the fan-out);
and DynamoDB GetItems per second from as many threads, the moto server's
capacity, which together with the AWS calls each delivery makes (counted
during the burst) bounds the local rate.

    python -m benchmarks.webhooks [--latency-runs 30] [--burst 300]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
import socket
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from benchmarks.harness import by_service, counted_aws_calls, local_stack, percentile
from infra.local.stack import LocalStack

SECRET = secrets.token_urlsafe(24)
PUBLISHERS = 8


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # http.server's default backlog of 5 drops connections under a burst,
    # and each dropped one costs its sender a second.
    request_queue_size = 256


class Receiver:
    """Answers 200 at once; keeps each event id's arrival time and check."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.counts: Counter = Counter()
        self.invalid = 0
        self.lock = threading.Condition()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def note(self, body: bytes, signature: str) -> None:
        arrived = time.perf_counter()
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        event_id = json.loads(body)["id"]
        with self.lock:
            self.counts[event_id] += 1
            self.arrivals.setdefault(event_id, arrived)
            self.invalid += not hmac.compare_digest(f"sha256={expected}", signature)
            self.lock.notify_all()

    def wait_for(self, ids: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not ids <= set(self.arrivals):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.note(body, self.headers.get("X-TapCraft-Signature", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.stopping.set()
        self.server.close()
        for connection in self.held:
            connection.close()


def publish(org_id: str) -> tuple[str, float]:
    from chalicelib import events

    started = time.perf_counter()
    event_id = events.publish_event(
        "script.created", org_id, {"id": "script_bench", "name": "Bench"}
    )
    return event_id, started


def measure_latency(org_id: str, receiver: Receiver, runs: int) -> list[float]:
    latencies = []
    for _ in range(runs):
        event_id, started = publish(org_id)
        if not receiver.wait_for({event_id}, 30):
            raise RuntimeError(f"{event_id} was not delivered within 30 s")
        latencies.append((receiver.arrivals[event_id] - started) * 1000)
    return latencies


def measure_burst(org_id: str, receiver: Receiver, count: int) -> dict:
    with counted_aws_calls() as calls:
        with ThreadPoolExecutor(PUBLISHERS) as pool:
            sent = list(pool.map(lambda _: publish(org_id), range(count)))
        ids = {event_id for event_id, _ in sent}
        complete = receiver.wait_for(ids, 300)
    first = min(started for _, started in sent)
    arrived = [receiver.arrivals[i] for i in ids if i in receiver.arrivals]
    latencies = [(receiver.arrivals[i] - s) * 1000 for i, s in sent if i in ids]
    return {
        "seconds": max(arrived) - first,
        "delivered": len(arrived),
        "lost": len(ids) - len(arrived),
        "twice": sum(1 for i in ids if receiver.counts[i] > 1),
        "median_ms": statistics.median(latencies) if complete else float("nan"),
        "p95_ms": percentile(latencies, 0.95) if complete else float("nan"),
        "calls": dict(by_service(calls)),
    }


def direct_posts(url: str, count: int) -> tuple[float, float]:
    """The HTTP hop alone: median ms one at a time, posts/s from threads."""
    from chalicelib import egress, webhook_secrets

    body = json.dumps({"id": "evt_direct", "event": "ping", "data": {}}).encode()

    def post() -> float:
        headers = webhook_secrets.signature_headers(
            SECRET, "evt_direct", int(time.time()), body
        )
        started = time.perf_counter()
        egress.post(url, body, {"Content-Type": "application/json", **headers}, 10)
        return (time.perf_counter() - started) * 1000

    single = statistics.median(post() for _ in range(50))
    started = time.perf_counter()
    with ThreadPoolExecutor(PUBLISHERS) as pool:
        list(pool.map(lambda _: post(), range(count)))
    return single, count / (time.perf_counter() - started)


def moto_capacity(stack: LocalStack, count: int = 600) -> float:
    """DynamoDB GetItems per second the moto server answers from threads."""
    dynamodb = stack.client("dynamodb")
    key = {"id": {"S": "webhook_none"}}
    started = time.perf_counter()
    with ThreadPoolExecutor(PUBLISHERS) as pool:
        list(
            pool.map(
                lambda _: dynamodb.get_item(
                    TableName="tapcraft-local-webhooks", Key=key
                ),
                range(count),
            )
        )
    return count / (time.perf_counter() - started)


def sns_round_trip(stack: LocalStack, runs: int = 30) -> float:
    sns, sqs = stack.client("sns"), stack.client("sqs")
    topic = sns.create_topic(Name="bench-round-trip")["TopicArn"]
    url = sqs.create_queue(QueueName="bench-sns-round-trip")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    trips = []
    for _ in range(runs):
        started = time.perf_counter()
        sns.publish(TopicArn=topic, Message="x")
        message = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
        trips.append((time.perf_counter() - started) * 1000)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return statistics.median(trips)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-runs", type=int, default=30)
    parser.add_argument("--burst", type=int, default=300)
    arguments = parser.parse_args()
    with local_stack() as stack:
        run(stack, arguments)


def run(stack: LocalStack, arguments: argparse.Namespace) -> None:
    from chalicelib import accounts
    from chalicelib.settings import get_settings

    org, _, key = accounts.bootstrap_organization(
        "Bench", "bench@example.test", "B", "enterprise"
    )
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {key.key}"
    root = f"{stack.api_url}/v1"
    receiver, silent = Receiver(), Silent()
    figures: dict = {"burst_size": arguments.burst}
    try:
        webhook(api, root, receiver.url)
        figures["latencies"] = measure_latency(org.id, receiver, arguments.latency_runs)
        figures["burst"] = measure_burst(org.id, receiver, arguments.burst)
        stuck = webhook(api, root, silent.url)
        make_failing(api, root, stuck["id"])
        figures["isolated"] = measure_burst(org.id, receiver, arguments.burst)
        api.delete(f"{root}/webhooks/{stuck['id']}")
        figures["direct_ms"], figures["direct_rate"] = direct_posts(
            receiver.url, arguments.burst
        )
    finally:
        silent.close()
    figures["sns_ms"] = sns_round_trip(stack)
    figures["moto_rate"] = moto_capacity(stack)
    figures["timeout"] = get_settings().webhook_timeout_seconds
    figures["invalid"] = receiver.invalid
    receiver.close()
    report(figures)


def webhook(api: requests.Session, root: str, url: str) -> dict:
    created = api.post(
        f"{root}/webhooks",
        json={"url": url, "events": ["script.created"], "secret": SECRET},
    )
    created.raise_for_status()
    return created.json()["data"]["webhook"]


def make_failing(api: requests.Session, root: str, webhook_id: str) -> None:
    """Ping the silent receiver until its first attempt has timed out."""
    api.post(f"{root}/webhooks/{webhook_id}/test").raise_for_status()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = api.get(f"{root}/webhooks/{webhook_id}").json()["data"]["webhook"]
        if found["failing_since"]:
            return
        time.sleep(0.2)
    raise RuntimeError("the silent receiver's webhook never failed")


def report(figures: dict) -> None:
    latencies, burst = figures["latencies"], figures["burst"]
    direct_ms, sns_ms = figures["direct_ms"], figures["sns_ms"]
    median = statistics.median(latencies)
    print(
        f"event -> delivered, {len(latencies)} events one at a time: "
        f"median {median:.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"
    )
    print(
        f"  baselines: direct signed POST {direct_ms:.2f} ms, SNS -> SQS hop "
        f"{sns_ms:.1f} ms; the pipeline takes {median / (direct_ms + sns_ms):.1f}x "
        "their sum"
    )
    for label, run in (
        (f"burst: {figures['burst_size']} events from {PUBLISHERS} threads", burst),
        (
            "the same burst beside a failing webhook whose receiver never answers "
            f"({figures['timeout']} s timeout per attempt)",
            figures["isolated"],
        ),
    ):
        rate = run["delivered"] / run["seconds"]
        print(
            f"\n{label}:\n  {run['delivered']} delivered in {run['seconds']:.2f} s"
            f" = {rate:.0f} deliveries/s; event -> delivered median "
            f"{run['median_ms']:.0f} ms, p95 {run['p95_ms']:.0f} ms"
        )
        print(f"  lost: {run['lost']}, delivered twice: {run['twice']}")
    per_delivery = {k: v / burst["delivered"] for k, v in burst["calls"].items()}
    described = ", ".join(f"{k} {v:.1f}" for k, v in sorted(per_delivery.items()))
    print(
        f"\n  AWS calls per delivery in the first burst: "
        f"{sum(per_delivery.values()):.1f} ({described}; long polls included)"
    )
    print(
        f"  baseline: the moto server answers {figures['moto_rate']:.0f} DynamoDB "
        f"GetItems/s from {PUBLISHERS} threads (DynamoDB requests run one at a "
        "time there)"
    )
    rate = burst["delivered"] / burst["seconds"]
    print(
        f"\n  baseline: direct signed POSTs from {PUBLISHERS} threads "
        f"{figures['direct_rate']:.0f}/s; the pipeline delivers "
        f"{rate / figures['direct_rate']:.0%} of that rate"
    )
    print(f"\nsignatures that did not verify: {figures['invalid']}")


if __name__ == "__main__":
    main()

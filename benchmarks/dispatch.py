"""Dispatch figures: from `POST .../execute` to a claimed job, and a burst.

Runs against a fresh local stack: the API over HTTP, Step Functions and SQS
on moto, the event bridge running the dispatcher, and agents played by
threads that claim jobs and complete them at once.

1. Latency: executions started one at a time while one agent long-polls;
   the time from the execute request to the claim answer, median and p95.
2. Burst: 100 executions spread over 10 agents; the time until all have
   completed, and a check that none was lost or run twice.

Baselines from the same run: an SQS send-to-receive round trip and a
StartExecution call on the same moto server, the two hops dispatch adds.

    python -m benchmarks.dispatch [--latency-runs 20] [--burst 100] [--agents 10]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter

import requests

from benchmarks.harness import local_stack, percentile
from infra.local.stack import LocalStack

CREATE = {
    "name": "Bench",
    "nodes": [{"id": "n", "type": "wait", "config": {"duration": 1}}],
    "connections": [],
    "variables": {},
    "settings": {"retry_on_failure": False},
}


class Agent(threading.Thread):
    """Claims jobs for one phone and completes each at once."""

    def __init__(self, root: str, admin: requests.Session, name: str) -> None:
        super().__init__(daemon=True)
        created = admin.post(f"{root}/v1/agents", json={"name": name}).json()
        self.session = requests.Session()
        self.session.headers["Authorization"] = (
            f"Bearer {created['data']['agent']['token']}"
        )
        self.root, self.serial = root, f"bench-{name}"
        self.claims: list[tuple[str, float]] = []
        self.stopping = threading.Event()
        self.session.post(
            f"{root}/v1/agent/heartbeat", json={"devices": [{"serial": self.serial}]}
        )

    def run(self) -> None:
        while not self.stopping.is_set():
            answer = self.session.post(
                f"{self.root}/v1/agent/jobs/claim",
                json={"devices": [self.serial], "wait_seconds": 2},
            ).json()["data"]["job"]
            if answer is None:
                continue
            self.claims.append((answer["execution_id"], time.perf_counter()))
            self.session.post(
                f"{self.root}/v1/agent/jobs/{answer['job_id']}/complete",
                json={"success": True},
            )


def baselines(stack: LocalStack, runs: int = 20) -> tuple[float, float]:
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName="bench-round-trip")["QueueUrl"]
    trips = []
    for _ in range(runs):
        started = time.perf_counter()
        sqs.send_message(QueueUrl=url, MessageBody="x")
        message = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
        trips.append((time.perf_counter() - started) * 1000)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="bench-noop",
        roleArn="arn:aws:iam::123456789012:role/bench",
        definition='{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}',
    )["stateMachineArn"]
    starts = []
    for index in range(runs):
        started = time.perf_counter()
        sfn.start_execution(stateMachineArn=machine, name=f"noop-{index}")
        starts.append((time.perf_counter() - started) * 1000)
    return statistics.median(trips), statistics.median(starts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--agents", type=int, default=10)
    arguments = parser.parse_args()
    with local_stack() as stack:
        run(stack, arguments)


def run(stack: LocalStack, arguments: argparse.Namespace) -> None:
    from chalicelib import accounts

    _, _, key = accounts.bootstrap_organization(
        "Bench", "bench@example.test", "B", "enterprise"
    )
    root, api = stack.api_url, f"{stack.api_url}/v1"
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {key.key}"
    script_id = admin.post(f"{api}/scripts", json=CREATE).json()["data"]["script"]["id"]
    admin.put(f"{api}/scripts/{script_id}", json={"status": "active"})

    sqs_ms, start_ms = baselines(stack)
    latencies = measure_latency(root, admin, api, script_id, arguments.latency_runs)
    burst_seconds, claims, statuses = measure_burst(
        root, admin, api, script_id, arguments.burst, arguments.agents
    )

    median = statistics.median(latencies)
    print(f"local stack: API {api}, moto {stack.moto.url}")
    print(
        f"\nexecute -> claimed, {len(latencies)} runs: median {median:.0f} ms, "
        f"p95 {percentile(latencies, 0.95):.0f} ms"
    )
    print(
        f"  baselines: SQS round trip {sqs_ms:.1f} ms, StartExecution "
        f"{start_ms:.1f} ms; dispatch takes {median / (sqs_ms + start_ms):.1f}x"
        " their sum"
    )
    print(
        f"\nburst: {arguments.burst} executions over {arguments.agents} agents "
        f"finished in {burst_seconds:.1f} s "
        f"({arguments.burst / burst_seconds:.1f} executions/s)"
    )
    counts = Counter(execution for execution, _ in claims)
    twice = [e for e, n in counts.items() if n > 1]
    print(
        f"  claimed once: {len(counts)}, claimed twice: {len(twice)}, "
        f"statuses: {dict(statuses)}"
    )


def measure_latency(root, admin, api, script_id, runs) -> list[float]:
    agent = Agent(root, admin, "latency")
    agent.start()
    latencies = []
    for _ in range(runs):
        seen = len(agent.claims)
        started = time.perf_counter()
        admin.post(f"{api}/scripts/{script_id}/execute", json={})
        while len(agent.claims) == seen:
            time.sleep(0.005)
        latencies.append((agent.claims[-1][1] - started) * 1000)
    agent.stopping.set()
    agent.join()
    return latencies


def measure_burst(root, admin, api, script_id, count, agent_count):
    agents = [Agent(root, admin, f"burst-{i}") for i in range(agent_count)]
    for agent in agents:
        agent.start()
    started = time.perf_counter()
    ids = [
        admin.post(f"{api}/scripts/{script_id}/execute", json={}).json()["data"][
            "execution"
        ]["id"]
        for _ in range(count)
    ]
    pending = set(ids)
    statuses: Counter = Counter()
    deadline = time.monotonic() + 300
    while pending and time.monotonic() < deadline:
        listed = admin.get(
            f"{api}/executions", params={"limit": 100, "script_id": script_id}
        ).json()["data"]["executions"]
        for execution in listed:
            if execution["id"] in pending and execution["status"] not in (
                "queued",
                "running",
            ):
                statuses[execution["status"]] += 1
                pending.discard(execution["id"])
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    statuses["unfinished"] = len(pending)
    for agent in agents:
        agent.stopping.set()
    claims = [claim for agent in agents for claim in agent.claims]
    return elapsed, claims, statuses


if __name__ == "__main__":
    main()

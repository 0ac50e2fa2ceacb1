"""Executions end to end: API, Step Functions on moto, dispatch and a played agent."""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import reference
from tests.played_agent import PlayedAgent, wait_for

_serials = itertools.count()


def serial() -> str:
    return f"emulator-{next(_serials)}"


def active_script(tenant, **settings) -> str:
    body = copy.deepcopy(reference.CREATE_SCRIPT)
    body["variables"] = {"count": 0}
    body["settings"].update({"retry_on_failure": False, **settings})
    created = tenant.client.post("/scripts", json=body).json()["data"]["script"]
    activated = tenant.client.put(
        f"/scripts/{created['id']}", json={"status": "active"}
    )
    assert activated.status_code == 200, activated.text
    return created["id"]


def execute(tenant, script_id, **body):
    response = tenant.client.post(f"/scripts/{script_id}/execute", json=body)
    assert response.status_code == 202, response.text
    return response.json()["data"]["execution"]


@pytest.fixture
def agent(tenant):
    return PlayedAgent(tenant, "bench-1", [serial()])


def test_a_run_from_execute_to_completed(tenant, agent):
    script_id = active_script(tenant)

    started = execute(tenant, script_id, parameters={"count": 5})
    job = agent.claim()
    running = tenant.client.get(f"/executions/{started['id']}").json()["data"]
    progress = agent.progress(
        job["job_id"],
        progress=50,
        current_step="Launching Gmail",
        logs=[
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "level": "info",
                "message": "Gmail launched",
            }
        ],
    )
    done = agent.complete(job["job_id"], data_collected={"count": 6})
    finished = wait_for(tenant.client, started["id"], ("completed",))

    assert started["status"] == "queued"
    assert started["progress"] == 0
    assert job["parameters"] == {"count": 5}
    assert job["script"]["nodes"][0]["type"] == "app_launch"
    assert running["execution"]["status"] == "running"
    assert progress.status_code == done.status_code == 200
    assert finished["status"] == "completed"
    assert finished["progress"] == 100
    assert finished["result"] == {
        "success": True,
        "actions_executed": 3,
        "actions_successful": 3,
        "actions_failed": 0,
        "data_collected": {"count": 6},
    }
    assert finished["logs"] == [
        {
            "timestamp": "2026-01-01T00:00:00Z",
            "level": "info",
            "message": "Gmail launched",
        }
    ]
    assert finished["duration"] >= 0
    assert finished["completed_at"]


def test_completion_updates_script_statistics(tenant, agent):
    script_id = active_script(tenant)
    for success in (True, True, False):
        execution = execute(tenant, script_id)
        job = agent.claim()
        if success:
            agent.complete(job["job_id"])
        else:
            agent.complete(job["job_id"], success=False, error_type="app_not_found")
        wait_for(tenant.client, execution["id"], ("completed", "failed"))

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        script = tenant.client.get(f"/scripts/{script_id}").json()["data"]["script"]
        if script["execution_count"] == 3:
            break
        time.sleep(0.2)
    assert script["execution_count"] == 3
    assert script["success_rate"] == pytest.approx(66.67)
    assert script["average_duration"] >= 0
    estimate = execute(tenant, script_id)["estimated_duration"]
    assert estimate is None or estimate >= 0


def test_a_script_failure_is_final_and_not_retried(tenant, agent):
    script_id = active_script(tenant, retry_on_failure=True, max_retries=3)
    execution = execute(tenant, script_id)
    job = agent.claim()

    agent.complete(
        job["job_id"],
        success=False,
        error_type="detection_timeout",
        error_message="heart_icon.png not found in 5 s",
    )
    failed = wait_for(tenant.client, execution["id"], ("failed",))

    assert failed["error"] == {
        "type": "detection_timeout",
        "message": "heart_icon.png not found in 5 s",
    }
    assert agent.claim(wait=2) is None


def test_an_agent_lost_mid_job_is_retried_on_another(tenant):
    first = PlayedAgent(tenant, "dies", [serial()])
    second = PlayedAgent(tenant, "survives", [serial()])
    script_id = active_script(tenant, retry_on_failure=True, max_retries=2)
    execution = execute(tenant, script_id)

    lost = first.claim(serials=first.serials)
    retried = second.claim(wait=15)
    late = first.complete(lost["job_id"])
    second.complete(retried["job_id"])
    finished = wait_for(tenant.client, execution["id"], ("completed",))

    assert retried["execution_id"] == execution["id"]
    assert retried["attempt"] == 2
    assert late.status_code == 403
    assert finished["status"] == "completed"
    assert finished["attempt"] == 2
    assert finished["device_id"] == second.serials[0]


def test_the_whole_execution_times_out(tenant, agent):
    script_id = active_script(tenant)
    execution = execute(
        tenant, script_id, options={"timeout": 2000, "retry_on_failure": False}
    )
    job = agent.claim()
    stop = threading.Event()
    agent.keep_alive(job["job_id"], stop)

    timed_out = wait_for(tenant.client, execution["id"], ("timed_out",), seconds=15)
    stop.set()

    assert timed_out["status"] == "timed_out"
    assert timed_out["error"]["type"] == "timeout"
    assert agent.complete(job["job_id"]).status_code == 403
    again = tenant.client.get(f"/executions/{execution['id']}").json()["data"]
    assert again["execution"]["status"] == "timed_out"


def test_stop_while_queued(tenant, agent, stack):
    script_id = active_script(tenant)
    execution = execute(tenant, script_id, device_id=agent.serials[0])
    time.sleep(1.5)

    stopped = tenant.client.post(
        f"/executions/{execution['id']}/stop", json={"reason": "changed my mind"}
    )

    body = stopped.json()["data"]["execution"]
    assert stopped.status_code == 200
    assert body["status"] == "stopped"
    assert body["reason"] == "changed my mind"
    assert body["stopped_at"]
    assert agent.claim(wait=2) is None
    machine = stack.client("stepfunctions")
    arn = _execution_arn(stack, execution["id"])
    deadline = time.monotonic() + 10
    while machine.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the state machine never ended"
        time.sleep(0.2)


def _execution_arn(stack, execution_id):
    return (
        "arn:aws:states:us-east-1:123456789012:execution:"
        f"tapcraft-local-execution:{execution_id}"
    )


def test_stop_while_running_reaches_the_agent_and_is_not_overwritten(tenant, agent):
    script_id = active_script(tenant)
    execution = execute(tenant, script_id)
    job = agent.claim()
    assert agent.job_heartbeat(job["job_id"]).json()["data"]["stop_requested"] is False

    stopped = tenant.client.post(f"/executions/{execution['id']}/stop")
    told = agent.job_heartbeat(job["job_id"]).json()["data"]["stop_requested"]
    agent.complete(
        job["job_id"],
        success=False,
        error_type="stopped",
        actions_executed=1,
        actions_successful=1,
    )
    time.sleep(1.5)
    final = tenant.client.get(f"/executions/{execution['id']}").json()["data"]

    assert stopped.json()["data"]["execution"]["status"] == "stopped"
    assert told is True
    assert final["execution"]["status"] == "stopped"
    assert final["execution"]["result"]["actions_executed"] == 1
    again = tenant.client.post(f"/executions/{execution['id']}/stop")
    assert again.status_code == 400


def test_a_duplicate_dispatch_message_makes_one_job(tenant, agent, stack):
    script_id = active_script(tenant)
    execution = execute(tenant, script_id, device_id=agent.serials[0])
    dynamodb = stack.client("dynamodb")
    job_id = f"job_{execution['id'].removeprefix('exec_')}_1"
    deadline = time.monotonic() + 10
    while "Item" not in (
        item := dynamodb.get_item(
            TableName="tapcraft-local-jobs", Key={"id": {"S": job_id}}
        )
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    token = item["Item"]["queue_token"]["S"]
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName="tapcraft-local-dispatch")["QueueUrl"]

    message = {
        "phase": "queue",
        "execution_id": execution["id"],
        "attempt": 1,
        "task_token": token,
    }
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
    time.sleep(2)
    first = agent.claim()
    second = agent.claim(wait=1)

    assert first["job_id"] == job_id
    assert second is None


def test_two_agents_racing_for_one_job(tenant):
    racers = [PlayedAgent(tenant, f"racer-{i}", [serial()]) for i in range(4)]
    script_id = active_script(tenant)

    with ThreadPoolExecutor(4) as pool:
        claims = [pool.submit(r.claim, 6) for r in racers]
        time.sleep(0.5)
        execute(tenant, script_id)
        results = [c.result() for c in claims]

    assert len([r for r in results if r is not None]) == 1


def test_a_device_runs_one_job_at_a_time(tenant, agent):
    script_id = active_script(tenant)
    execute(tenant, script_id)
    execute(tenant, script_id)

    first = agent.claim()
    stop = threading.Event()
    agent.keep_alive(first["job_id"], stop)
    second = agent.claim(wait=2)
    agent.complete(first["job_id"])
    stop.set()
    third = agent.claim()

    assert first is not None
    assert second is None
    assert third is not None and third["job_id"] != first["job_id"]


def test_a_job_for_an_offline_device_waits_until_it_appears(tenant):
    agent = PlayedAgent(tenant, "later", [])
    wanted = serial()
    agent.report([wanted])
    agent.report([])
    script_id = active_script(tenant)
    execution = execute(tenant, script_id, device_id=wanted)

    nothing = agent.claim(wait=1, serials=[serial()])
    devices = tenant.client.get("/devices").json()["data"]["devices"]
    agent.report([wanted])
    job = agent.claim(serials=[wanted])

    assert nothing is None
    assert {d["id"]: d["status"] for d in devices}[wanted] == "offline"
    assert job["execution_id"] == execution["id"]
    assert job["device_serial"] == wanted


def test_devices_are_listed_with_their_state(tenant, agent):
    devices = tenant.client.get("/devices").json()["data"]["devices"]

    assert [(d["id"], d["status"], d["model"]) for d in devices] == [
        (agent.serials[0], "online", "Pixel Test")
    ]


def test_messages_after_the_end_are_refused_and_change_nothing(tenant, agent):
    script_id = active_script(tenant)
    execution = execute(tenant, script_id)
    job = agent.claim()
    agent.complete(job["job_id"], data_collected={"n": 1})
    wait_for(tenant.client, execution["id"], ("completed",))

    late = [
        agent.job_heartbeat(job["job_id"]),
        agent.progress(job["job_id"], progress=10),
        agent.complete(job["job_id"], success=False, error_type="timeout"),
    ]
    final = tenant.client.get(f"/executions/{execution['id']}").json()["data"]

    assert [r.status_code for r in late] == [403, 403, 403]
    assert final["execution"]["status"] == "completed"
    assert final["execution"]["progress"] == 100
    assert final["execution"]["result"]["data_collected"] == {"n": 1}


def test_other_organizations_cannot_touch_executions(tenant, other_tenant, agent):
    script_id = active_script(tenant)
    execution = execute(tenant, script_id)
    stranger_agent = PlayedAgent(other_tenant, "stranger", [serial()])

    assert stranger_agent.claim(wait=1) is None
    job = agent.claim()
    path = f"/executions/{execution['id']}"
    assert other_tenant.client.get(path).status_code == 404
    assert other_tenant.client.post(f"{path}/stop").status_code == 404
    assert other_tenant.client.get(f"{path}/logs").status_code == 404
    assert other_tenant.client.post(f"/scripts/{script_id}/execute").status_code == 404
    assert (
        other_tenant.client.get(f"/executions?script_id={script_id}").status_code == 404
    )
    assert stranger_agent.job_heartbeat(job["job_id"]).status_code == 404
    assert stranger_agent.complete(job["job_id"]).status_code == 404
    listed = other_tenant.client.get("/executions").json()["data"]["executions"]
    assert execution["id"] not in [e["id"] for e in listed]
    assert (
        other_tenant.client.get("/devices").json()["data"]["devices"][0]["id"]
        == stranger_agent.serials[0]
    )
    assert other_tenant.client.delete(f"/agents/{agent.agent['id']}").status_code == 404
    assert tenant.client.get(path).json()["data"]["execution"]["status"] == "running"


def test_api_keys_do_not_open_agent_routes_and_agent_tokens_nothing_else(tenant, agent):
    from tests.conftest import ApiClient

    as_user = ApiClient(tenant.base_url.removesuffix("/v1"), tenant.key)
    as_agent = ApiClient(tenant.base_url, agent.token)

    assert as_user.post("/v1/agent/heartbeat", json={"devices": []}).status_code == 401
    assert as_agent.get("/scripts").status_code == 401
    revoked = tenant.client.delete(f"/agents/{agent.agent['id']}")
    assert revoked.json()["data"]["agent"]["status"] == "revoked"
    assert (
        agent.client.post("/v1/agent/heartbeat", json={"devices": []}).status_code
        == 401
    )


@pytest.mark.parametrize(
    ("body", "status", "details"),
    [
        ({"options": {"timeout": 5}}, 400, "options.timeout"),
        ({"options": {"async": "yes"}}, 400, "options.async"),
        ({"parameters": {"bad name": 1}}, 400, "parameters.bad name"),
        ({"parameters": [1]}, 400, "parameters"),
        ({"device_id": "nowhere"}, 404, "nowhere"),
        ({"priority": 1}, 400, "priority"),
    ],
)
def test_bad_execute_requests_are_refused(tenant, body, status, details):
    script_id = active_script(tenant)

    response = tenant.client.post(f"/scripts/{script_id}/execute", json=body)

    assert response.status_code == status
    assert details in response.json()["error"]["details"]
    assert tenant.client.get("/executions").json()["data"]["executions"] == []


def test_only_active_scripts_run_and_only_with_scripts_execute(tenant):
    draft = tenant.client.post("/scripts", json=reference.CREATE_SCRIPT).json()
    script_id = draft["data"]["script"]["id"]
    viewer = tenant.member("viewer")

    refused = tenant.client.post(f"/scripts/{script_id}/execute", json={})
    forbidden = viewer.post(f"/scripts/{active_script(tenant)}/execute", json={})

    assert refused.status_code == 400
    assert "draft" in refused.json()["error"]["details"]
    assert forbidden.status_code == 403


def test_an_idempotency_key_starts_one_execution(tenant):
    script_id = active_script(tenant)
    headers = {"Idempotency-Key": "order-42"}
    body = {"parameters": {"count": 1}}

    first = tenant.client.post(
        f"/scripts/{script_id}/execute", json=body, headers=headers
    )
    second = tenant.client.post(
        f"/scripts/{script_id}/execute", json=body, headers=headers
    )
    changed = tenant.client.post(
        f"/scripts/{script_id}/execute",
        json={"parameters": {"count": 2}},
        headers=headers,
    )

    ids = {r.json()["data"]["execution"]["id"] for r in (first, second)}
    assert len(ids) == 1
    assert changed.status_code == 400
    listed = tenant.client.get("/executions").json()["data"]["executions"]
    assert [e["id"] for e in listed] == list(ids)


def test_synchronous_execution_waits_for_the_end(tenant, agent):
    script_id = active_script(tenant)

    def run_agent(outcome):
        job = agent.claim(wait=10)
        agent.complete(job["job_id"], **outcome)

    worker = threading.Thread(target=run_agent, args=({"data_collected": {"x": 1}},))
    worker.start()
    done = tenant.client.post(
        f"/scripts/{script_id}/execute", json={"options": {"async": False}}
    )
    worker.join()
    worker = threading.Thread(
        target=run_agent, args=({"success": False, "error_type": "app_not_found"},)
    )
    worker.start()
    failed = tenant.client.post(
        f"/scripts/{script_id}/execute", json={"options": {"async": False}}
    )
    worker.join()

    assert done.status_code == 200
    assert done.json()["data"]["execution"]["status"] == "completed"
    assert done.json()["data"]["execution"]["result"]["data_collected"] == {"x": 1}
    assert failed.status_code == 422
    assert failed.json()["error"]["code"] == "SCRIPT_EXECUTION_FAILED"
    assert "app_not_found" in failed.json()["error"]["details"]


def test_listing_filters_and_pages(tenant, agent):
    first_script, second_script = active_script(tenant), active_script(tenant)
    ids = [execute(tenant, first_script)["id"] for _ in range(3)]
    other = execute(tenant, second_script)["id"]
    stopped = tenant.client.post(f"/executions/{ids[0]}/stop").json()

    def listed(query):
        response = tenant.client.get(f"/executions?{query}")
        assert response.status_code == 200, response.text
        return response.json()["data"]

    by_script = listed(f"script_id={first_script}")
    page_two = listed("limit=2&page=2")
    only_stopped = listed("status=stopped")
    future = listed("start_date=2999-01-01T00:00:00Z")
    everything = listed("start_date=2000-01-01T00:00:00Z&end_date=2999-01-01T00:00:00Z")

    assert [e["id"] for e in by_script["executions"]] == ids[::-1]
    assert by_script["pagination"]["total"] == 3
    assert [e["id"] for e in page_two["executions"]] == [ids[1], ids[0]]
    assert page_two["pagination"] == {
        "page": 2,
        "limit": 2,
        "total": 4,
        "pages": 2,
        "next_cursor": None,
    }
    assert [e["id"] for e in only_stopped["executions"]] == [
        stopped["data"]["execution"]["id"]
    ]
    assert future["executions"] == []
    assert len(everything["executions"]) == 4
    assert everything["executions"][0]["id"] == other
    assert everything["executions"][0]["script_name"] == "New Automation Script"
    assert tenant.client.get("/executions?status=bogus").status_code == 400


def test_long_logs_are_paged(tenant, agent):
    script_id = active_script(tenant)
    execution = execute(tenant, script_id)
    job = agent.claim()
    for batch in range(3):
        lines = [
            {
                "timestamp": f"2026-01-01T00:00:{batch:02d}Z",
                "level": "info",
                "message": f"line {batch * 50 + i}",
            }
            for i in range(50)
        ]
        assert agent.progress(job["job_id"], logs=lines).status_code == 200

    first = tenant.client.get(f"/executions/{execution['id']}").json()["data"]
    cursor = first["execution"]["logs_next_cursor"]
    rest = tenant.client.get(
        f"/executions/{execution['id']}/logs", params={"cursor": cursor}
    ).json()["data"]

    messages = [line["message"] for line in first["execution"]["logs"] + rest["logs"]]
    assert len(first["execution"]["logs"]) == 100
    assert messages == [f"line {i}" for i in range(150)]
    assert rest["next_cursor"] is None

"""device_agent.client: envelopes unwrapped, failures translated at the boundary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.protocol import JobResult
from device_agent.client import ApiClient
from device_agent.errors import ApiError, ApiUnavailableError, JobLostError
from tests.device_agent.conftest import free_port
from tests.device_agent.fake_api import TOKEN, FakeApi


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi().start()
    yield fake
    fake.stop()


def test_the_api_root_is_found_with_or_without_v1(api: FakeApi) -> None:
    for url in (api.url, api.url + "/", api.url + "/v1", api.url + "/v1/"):
        assert ApiClient(url, TOKEN).claim(["emulator-5554"], 0) is None


def test_a_wrong_token_is_an_api_error_not_worth_retrying(api: FakeApi) -> None:
    with pytest.raises(ApiError) as caught:
        ApiClient(api.url, "tcag_wrong").heartbeat([])
    assert caught.value.status == 401
    assert not isinstance(caught.value, ApiUnavailableError)


def test_a_job_taken_away_raises_job_lost(api: FakeApi) -> None:
    api.lost.add("job_9")
    client = ApiClient(api.url, TOKEN)

    for call in (
        lambda: client.job_heartbeat("job_9"),
        lambda: client.complete("job_9", JobResult(success=True)),
        lambda: client.asset("job_9", "heart_icon.png"),
    ):
        with pytest.raises(JobLostError):
            call()


def test_outages_and_5xx_are_worth_retrying(api: FakeApi) -> None:
    client = ApiClient(api.url, TOKEN)
    api.failing_completes = 1
    with pytest.raises(ApiUnavailableError):
        client.complete("job_1", JobResult(success=True))

    api.unreachable = True
    with pytest.raises(ApiUnavailableError):
        client.job_heartbeat("job_1")
    with pytest.raises(ApiUnavailableError):
        ApiClient(f"http://127.0.0.1:{free_port()}", TOKEN).heartbeat([])


def test_stop_requests_come_back_from_the_job_heartbeat(api: FakeApi) -> None:
    client = ApiClient(api.url, TOKEN)
    assert client.job_heartbeat("job_2") is False
    api.stop_requested.add("job_2")
    assert client.job_heartbeat("job_2") is True

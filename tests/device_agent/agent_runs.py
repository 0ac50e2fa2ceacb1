"""Running a device agent on a thread for the length of a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from device_agent.agent import Agent
from device_agent.client import ApiClient
from device_agent.device import AdbServer
from device_agent.settings import AgentSettings


@contextmanager
def agent_running(
    settings: AgentSettings, adb_server: AdbServer, stop_seconds: float
) -> Iterator[Agent]:
    """An agent polling with `settings` until the block ends, then stopped."""
    agent = Agent(settings, ApiClient(settings.api_url, settings.token), adb_server)
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    try:
        yield agent
    finally:
        agent.stop()
        thread.join(stop_seconds)
        assert not thread.is_alive(), "the agent did not stop"

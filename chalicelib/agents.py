"""Device agents and the phones they report.

Admins create agents and hand the token (shown once) to the host that runs
`python -m device_agent`. An agent token opens only the agent routes of its
own organization. Each agent heartbeat upserts the phones it sees; a phone
not seen for `device_timeout_seconds` counts as offline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib import lookups, tokens
from chalicelib.auth import Principal
from chalicelib.errors import NotFoundError, UnauthorizedError, ValidationError
from chalicelib.ids import now_iso, parse_iso, to_iso, utc_now
from chalicelib.models import Agent, Device
from chalicelib.protocol import MAX_DEVICES, DeviceReport
from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)

CREDENTIAL_KIND = "tcag"
SEEN_RESOLUTION = timedelta(seconds=10)


@dataclass(frozen=True)
class AgentPrincipal:
    org_id: str
    agent_id: str


@dataclass(frozen=True)
class NewAgent:
    record: Agent
    token: str


def create_agent(principal: Principal, name: object) -> NewAgent:
    """Register an agent; raises ForbiddenError without team:manage."""
    principal.require("team:manage")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
        raise ValidationError("name", "must be 1 to 100 characters")
    minted = tokens.mint(CREDENTIAL_KIND)
    record = Agent(
        f"agent_{minted.token_id}",
        org_id=principal.org_id,
        name=name.strip(),
        prefix=minted.prefix,
        secret_hash=minted.digest,
        created_at=now_iso(),
    )
    record.save(condition=Agent.id.does_not_exist())
    logger.info("agent created", extra={"agent_id": record.id})
    return NewAgent(record, minted.token)


def list_agents(principal: Principal) -> list[Agent]:
    principal.require("team:manage")
    return list(Agent.by_org.query(principal.org_id, scan_index_forward=False))


def revoke_agent(principal: Principal, agent_id: str) -> Agent:
    """Revoke an agent's token; raises NotFoundError for others' agents."""
    principal.require("team:manage")
    record = lookups.owned(Agent, principal.org_id, agent_id, "Agent")
    if not record.revoked_at:
        record.update(actions=[Agent.revoked_at.set(now_iso())])
    return record


def authenticate(token: str) -> AgentPrincipal:
    """The agent behind a token; raises UnauthorizedError."""
    if tokens.token_id(CREDENTIAL_KIND, token) is None:
        raise UnauthorizedError("Agent routes need an agent token")
    record = tokens.find_record(Agent, CREDENTIAL_KIND, token, "agent")
    if record is None or record.revoked_at:
        raise UnauthorizedError("The agent token is not valid")
    _touch(record)
    return AgentPrincipal(record.org_id, record.id)


def _touch(record: Agent) -> None:
    now = utc_now()
    seen = record.last_seen_at
    if not seen or now - parse_iso(seen) >= SEEN_RESOLUTION:
        record.update(actions=[Agent.last_seen_at.set(to_iso(now))])


def record_heartbeat(agent: AgentPrincipal, reports: object) -> list[DeviceReport]:
    """Upsert the phones an agent sees and mark the ones it lost as gone."""
    if not isinstance(reports, list) or len(reports) > MAX_DEVICES:
        raise ValidationError("devices", f"must be a list of at most {MAX_DEVICES}")
    devices = [
        DeviceReport.from_json(r, f"devices[{i}]") for i, r in enumerate(reports)
    ]
    now = now_iso()
    for device in devices:
        Device(agent.org_id, device.serial).update(
            actions=[
                Device.agent_id.set(agent.agent_id),
                Device.model.set(device.model),
                Device.android_version.set(device.android_version),
                Device.screen_width.set(device.screen_width),
                Device.screen_height.set(device.screen_height),
                Device.state.set(device.state),
                Device.last_seen_at.set(now),
            ]
        )
    _mark_gone(agent, {d.serial for d in devices})
    return devices


def _mark_gone(agent: AgentPrincipal, present: set[str]) -> None:
    for device in Device.query(
        agent.org_id, filter_condition=(Device.agent_id == agent.agent_id)
    ):
        if device.serial not in present and device.state != "gone":
            device.update(
                actions=[Device.state.set("gone")],
                condition=Device.agent_id == agent.agent_id,
            )


def list_devices(principal: Principal) -> list[Device]:
    principal.require("scripts:read")
    return list(Device.query(principal.org_id))


def get_device(org_id: str, serial: str) -> Device:
    """A phone of the organization; raises NotFoundError."""
    try:
        return Device.get(org_id, serial)
    except DoesNotExist as exc:
        raise NotFoundError(f"Device {serial} was not found") from exc


def device_status(device: Device) -> str:
    """online, busy or offline, as users see it."""
    timeout = timedelta(seconds=get_settings().device_timeout_seconds)
    fresh = utc_now() - parse_iso(device.last_seen_at) < timeout
    if not fresh or device.state != "device":
        return "offline"
    return "busy" if device.current_job else "online"


def describe_device(device: Device) -> dict:
    return {
        "id": device.serial,
        "serial": device.serial,
        "agent_id": device.agent_id,
        "model": device.model,
        "android_version": device.android_version,
        "screen": {
            "width": int(device.screen_width),
            "height": int(device.screen_height),
        },
        "state": device.state,
        "status": device_status(device),
        "current_execution_job": device.current_job,
        "last_seen_at": device.last_seen_at,
    }


def describe_agent(record: Agent) -> dict:
    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "status": "revoked" if record.revoked_at else "active",
        "created_at": record.created_at,
        "last_seen_at": record.last_seen_at,
        "revoked_at": record.revoked_at,
    }

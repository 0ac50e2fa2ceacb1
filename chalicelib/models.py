"""PynamoDB models, one per table of infra/template.yaml.

Table names come from the resource prefix in the settings; the key schema and
indexes must match the template, which tests/infra/test_provision.py checks.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)
from pynamodb.models import Model

from chalicelib.settings import get_settings

_settings = get_settings()


class _Meta:
    region = _settings.region
    connect_timeout_seconds = 3
    read_timeout_seconds = 10
    max_retry_attempts = 3
    # Webhook deliveries run a batch's messages on parallel threads.
    max_pool_connections = 50


class PlanOverrides(MapAttribute):
    """An organization's own limits where its contract departs from its tier."""

    requests_per_minute = NumberAttribute(null=True)
    requests_per_hour = NumberAttribute(null=True)
    requests_per_day = NumberAttribute(null=True)
    max_scripts = NumberAttribute(null=True)


class Organization(Model):
    class Meta(_Meta):
        table_name = _settings.resource_name("organizations")

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    tier = UnicodeAttribute(default="free")
    created_at = UnicodeAttribute()
    plan_overrides = PlanOverrides(null=True)
    script_count = NumberAttribute(default=0)


class UsersByOrg(GlobalSecondaryIndex):
    class Meta:
        index_name = "org-index"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


class User(Model):
    class Meta(_Meta):
        table_name = _settings.resource_name("users")

    id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()
    password_hash = UnicodeAttribute(null=True)
    password_changed_at = UnicodeAttribute(null=True)
    by_org = UsersByOrg()


class ApiKeysByOrg(GlobalSecondaryIndex):
    class Meta:
        index_name = "org-index"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ApiKey(Model):
    """An API key; only the SHA-256 of the full key is stored."""

    class Meta(_Meta):
        table_name = _settings.resource_name("api-keys")

    id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    permissions = UnicodeSetAttribute()
    created_at = UnicodeAttribute()
    last_used_at = UnicodeAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)
    by_org = ApiKeysByOrg()


class ScriptsByOrg(GlobalSecondaryIndex):
    class Meta:
        index_name = "org-index"
        projection = IncludeProjection(
            [
                "name",
                "description",
                "category",
                "tags",
                "status",
                "updated_at",
                "version",
                "execution_count",
                "success_count",
                "total_duration",
            ]
        )

    org_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Script(Model):
    """A script; its node graph is kept as one JSON document in `definition`."""

    class Meta(_Meta):
        table_name = _settings.resource_name("scripts")

    id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    category = UnicodeAttribute(default="")
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    status = UnicodeAttribute()
    definition = UnicodeAttribute()
    version = NumberAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    execution_count = NumberAttribute(default=0)
    success_count = NumberAttribute(default=0)
    total_duration = NumberAttribute(default=0)
    by_org = ScriptsByOrg()

    @property
    def success_rate(self) -> float:
        """Percent of finished executions that succeeded."""
        runs = int(self.execution_count or 0)
        return 100.0 * int(self.success_count or 0) / runs if runs else 0.0

    @property
    def average_duration(self) -> float:
        """Mean seconds of the successful executions."""
        successes = int(self.success_count or 0)
        return float(self.total_duration or 0) / successes if successes else 0.0


class Asset(Model):
    """An image a script's nodes refer to; its bytes live in the assets bucket."""

    class Meta(_Meta):
        table_name = _settings.resource_name("assets")

    script_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    org_id = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    width = NumberAttribute()
    height = NumberAttribute()
    sha256 = UnicodeAttribute()
    object_key = UnicodeAttribute()
    created_at = UnicodeAttribute()


_EXECUTION_SUMMARY = [
    "script_id",
    "script_name",
    "status",
    "started_at",
    "duration",
    "actions_executed",
]


class ExecutionsByOrg(GlobalSecondaryIndex):
    class Meta:
        index_name = "org-index"
        projection = IncludeProjection(_EXECUTION_SUMMARY)

    org_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ExecutionsByScript(GlobalSecondaryIndex):
    class Meta:
        index_name = "script-index"
        projection = IncludeProjection(_EXECUTION_SUMMARY)

    script_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Execution(Model):
    """One run of a script; the state machine and the agent routes move it on."""

    class Meta(_Meta):
        table_name = _settings.resource_name("executions")

    id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    script_id = UnicodeAttribute()
    script_name = UnicodeAttribute()
    user_id = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    request = UnicodeAttribute()
    device_id = UnicodeAttribute(null=True)
    estimated_duration = NumberAttribute(null=True)
    attempt = NumberAttribute(default=0)
    current_job_id = UnicodeAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)
    device_serial = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    stopped_at = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    progress = NumberAttribute(default=0)
    current_step = UnicodeAttribute(null=True)
    result = UnicodeAttribute(null=True)
    duration = NumberAttribute(null=True)
    actions_executed = NumberAttribute(null=True)
    error_type = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    outcome_event = UnicodeAttribute(null=True)
    notification_webhook_id = UnicodeAttribute(null=True)
    by_org = ExecutionsByOrg()
    by_script = ExecutionsByScript()


class ExecutionLog(Model):
    """A log line an agent reported; `position` orders lines within a run."""

    class Meta(_Meta):
        table_name = _settings.resource_name("execution-logs")

    execution_id = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)
    timestamp = UnicodeAttribute()
    level = UnicodeAttribute()
    message = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)


class QueuedJobs(GlobalSecondaryIndex):
    """Sparse: only jobs waiting for a device carry `queued_at`."""

    class Meta:
        index_name = "queued-index"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)
    queued_at = UnicodeAttribute(range_key=True)


class Job(Model):
    """One attempt of an execution, as handed to a device agent."""

    class Meta(_Meta):
        table_name = _settings.resource_name("jobs")

    id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    execution_id = UnicodeAttribute()
    attempt = NumberAttribute()
    queue_token = UnicodeAttribute()
    run_token = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    device_id = UnicodeAttribute(null=True)
    queued_at = UnicodeAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)
    device_serial = UnicodeAttribute(null=True)
    claimed_at = UnicodeAttribute(null=True)
    stop_requested = BooleanAttribute(default=False)
    expires_at = NumberAttribute(null=True)
    queued = QueuedJobs()


class AgentsByOrg(GlobalSecondaryIndex):
    class Meta:
        index_name = "org-index"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Agent(Model):
    """A device agent host; its token is stored only as a SHA-256 hash."""

    class Meta(_Meta):
        table_name = _settings.resource_name("agents")

    id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    last_seen_at = UnicodeAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)
    by_org = AgentsByOrg()


class Device(Model):
    """A phone as its agent last reported it; `current_job` locks it to one job."""

    class Meta(_Meta):
        table_name = _settings.resource_name("devices")

    org_id = UnicodeAttribute(hash_key=True)
    serial = UnicodeAttribute(range_key=True)
    agent_id = UnicodeAttribute()
    model = UnicodeAttribute(default="")
    android_version = UnicodeAttribute(default="")
    screen_width = NumberAttribute(default=0)
    screen_height = NumberAttribute(default=0)
    state = UnicodeAttribute(default="device")
    last_seen_at = UnicodeAttribute()
    current_job = UnicodeAttribute(null=True)


class RateCounter(Model):
    """An organization's request counters for one UTC day.

    Besides its key and expiry the item holds `m<minute of day>`, `h<hour of
    day>` and `d` counters, which `chalicelib.ratelimit` names at run time.
    """

    class Meta(_Meta):
        table_name = _settings.resource_name("rate-limits")

    id = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()


class OAuthClientsByOrg(GlobalSecondaryIndex):
    class Meta:
        index_name = "org-index"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OAuthClient(Model):
    """A third-party application; a confidential one keeps its secret's SHA-256."""

    class Meta(_Meta):
        table_name = _settings.resource_name("oauth-clients")

    id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    name = UnicodeAttribute()
    client_type = UnicodeAttribute()
    redirect_uris = ListAttribute(of=UnicodeAttribute)
    scopes = UnicodeSetAttribute()
    secret_prefix = UnicodeAttribute(null=True)
    secret_hash = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    by_org = OAuthClientsByOrg()


class AuthorizationCode(Model):
    """A single-use authorization code; the code itself is kept as a hash."""

    class Meta(_Meta):
        table_name = _settings.resource_name("oauth-codes")

    id = UnicodeAttribute(hash_key=True)
    secret_hash = UnicodeAttribute()
    client_id = UnicodeAttribute()
    org_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    redirect_uri = UnicodeAttribute()
    redirect_given = BooleanAttribute()
    scopes = UnicodeSetAttribute()
    code_challenge = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    used_at = UnicodeAttribute(null=True)
    grant_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class GrantsByClient(GlobalSecondaryIndex):
    class Meta:
        index_name = "client-index"
        projection = KeysOnlyProjection()

    client_id = UnicodeAttribute(hash_key=True)


class OAuthGrant(Model):
    """What a user allowed a client: the family its refresh tokens belong to."""

    class Meta(_Meta):
        table_name = _settings.resource_name("oauth-grants")

    id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    org_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    scopes = UnicodeSetAttribute()
    created_at = UnicodeAttribute()
    refreshed_at = UnicodeAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()
    by_client = GrantsByClient()


class RefreshToken(Model):
    """One refresh token of a grant; each is good for a single exchange."""

    class Meta(_Meta):
        table_name = _settings.resource_name("oauth-refresh-tokens")

    id = UnicodeAttribute(hash_key=True)
    secret_hash = UnicodeAttribute()
    grant_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    used_at = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class SigningKey(Model):
    """An RSA key pair that signs JWTs; KMS encrypts the private half.

    Every key shares one partition (`purpose`), so listing them is one Query.
    """

    class Meta(_Meta):
        table_name = _settings.resource_name("signing-keys")

    purpose = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    public_jwk = UnicodeAttribute()
    private_key_ciphertext = UnicodeAttribute()
    created_at = UnicodeAttribute()
    retired_at = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class WebhooksByOrg(GlobalSecondaryIndex):
    class Meta:
        index_name = "org-index"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Webhook(Model):
    """A receiver of events; its signing secret is kept as KMS ciphertext.

    `failing_since` is the first failed attempt since the last success; a
    webhook failing long enough is disabled, with `disabled_at` and why.
    """

    class Meta(_Meta):
        table_name = _settings.resource_name("webhooks")

    id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute, default=list)
    secret_ciphertext = UnicodeAttribute()
    active = BooleanAttribute(default=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    failing_since = UnicodeAttribute(null=True)
    consecutive_failures = NumberAttribute(default=0)
    disabled_at = UnicodeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)
    by_org = WebhooksByOrg()


class DeliveryAttempt(MapAttribute):
    """One HTTP attempt of a delivery, as the delivery log shows it."""

    attempt = NumberAttribute()
    at = UnicodeAttribute()
    status_code = NumberAttribute(null=True)
    duration_ms = NumberAttribute()
    error = UnicodeAttribute(null=True)


class WebhookDelivery(Model):
    """One event on its way to one webhook, with every attempt made.

    Ids sort by the event's time, so a webhook's log reads newest first;
    `payload` is the exact body every attempt sends.
    """

    class Meta(_Meta):
        table_name = _settings.resource_name("webhook-deliveries")

    webhook_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    org_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    payload = UnicodeAttribute()
    status = UnicodeAttribute()
    attempt_count = NumberAttribute(default=0)
    attempts = ListAttribute(of=DeliveryAttempt, default=list)
    created_at = UnicodeAttribute()
    next_attempt_at = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    redelivery_of = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()

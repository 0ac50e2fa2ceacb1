"""PynamoDB models, one per table of infra/template.yaml.

Table names come from the resource prefix in the settings; the key schema and
indexes must match the template, which tests/infra/test_provision.py checks.
"""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
)
from pynamodb.models import Model

from chalicelib.settings import get_settings

_settings = get_settings()


class _Meta:
    region = _settings.region
    connect_timeout_seconds = 3
    read_timeout_seconds = 10
    max_retry_attempts = 3


class Organization(Model):
    class Meta(_Meta):
        table_name = _settings.resource_name("organizations")

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    tier = UnicodeAttribute(default="free")
    created_at = UnicodeAttribute()


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
                "success_rate",
                "average_duration",
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
    success_rate = NumberAttribute(default=0)
    average_duration = NumberAttribute(default=0)
    by_org = ScriptsByOrg()


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

"""TapCraft Pro's public API and event handlers (AWS Chalice)."""

from __future__ import annotations

import json

from chalice import Chalice, Response

from chalicelib import accounts, api_keys, assets, nodes, openapi, scripts
from chalicelib.batch import process_sqs_batch
from chalicelib.http import ApiRequest, ApiRoutes, Reply, request_middleware
from chalicelib.logs import configure_logging
from chalicelib.settings import get_settings

settings = get_settings()
configure_logging(settings.log_level)

app = Chalice(app_name="tapcraft")
app.register_middleware(request_middleware, "http")
api = ApiRoutes(app)

SCRIPT = "/v1/scripts/{script_id}"
ASSET = "/v1/scripts/{script_id}/assets/{name}"
IMAGE_TYPES = ("image/png", "image/jpeg")


@api.route("/v1/health", "GET", "Service health", public=True, response="Health")
def health(request: ApiRequest) -> dict:
    return {"status": "ok"}


@api.route(
    "/v1/openapi.json",
    "GET",
    "This API's OpenAPI 3.1 document",
    public=True,
    response="openapi",
)
def openapi_document(request: ApiRequest) -> Response:
    document = openapi.build_document(api.specs)
    return Response(json.dumps(document), headers={"Content-Type": "application/json"})


@api.route(
    "/v1/api-keys",
    "POST",
    "Create an API key for yourself",
    body="ApiKeyInput",
    response="ApiKeyData",
    status=201,
    tag="api-keys",
)
def create_api_key(request: ApiRequest) -> dict:
    user = accounts.get_user(request.caller.org_id, request.caller.user_id)
    body = request.body
    created = api_keys.create_api_key(
        user, body.get("name"), body.get("permissions"), request.caller.permissions
    )
    described = api_keys.describe_api_key(created.record)
    return {"api_key": {**described, "key": created.key}}


@api.route(
    "/v1/api-keys",
    "GET",
    "List your API keys (all with team:manage)",
    response="ApiKeyList",
    tag="api-keys",
)
def list_api_keys(request: ApiRequest) -> dict:
    keys = api_keys.list_api_keys(request.caller)
    return {"api_keys": [api_keys.describe_api_key(k) for k in keys]}


@api.route(
    "/v1/api-keys/{key_id}",
    "DELETE",
    "Revoke an API key",
    response="ApiKeyData",
    tag="api-keys",
)
def revoke_api_key(request: ApiRequest, key_id: str) -> dict:
    record = api_keys.revoke_api_key(request.caller, key_id)
    return {"api_key": api_keys.describe_api_key(record)}


@api.route(
    "/v1/node-types",
    "GET",
    "The node types a script may use",
    permission="scripts:read",
    response="NodeTypeList",
    tag="scripts",
)
def list_node_types(request: ApiRequest) -> dict:
    return {"node_types": nodes.describe_node_types()}


@api.route(
    "/v1/scripts",
    "GET",
    "List scripts",
    permission="scripts:read",
    response="ScriptList",
    tag="scripts",
    query=("page", "limit", "sort", "order", "status", "category", "tags", "cursor"),
)
def list_scripts(request: ApiRequest) -> dict:
    page = scripts.list_scripts(request.caller, scripts.parse_list_query(request.query))
    pages = -(-page.total // page.limit)
    return {
        "scripts": [scripts.summary(s) for s in page.scripts],
        "pagination": {
            "page": page.page,
            "limit": page.limit,
            "total": page.total,
            "pages": pages,
            "next_cursor": page.next_cursor,
        },
    }


@api.route(
    "/v1/scripts",
    "POST",
    "Create a script",
    permission="scripts:write",
    body="ScriptInput",
    response="ScriptData",
    status=201,
    tag="scripts",
)
def create_script(request: ApiRequest) -> Reply:
    script = scripts.create_script(request.caller, request.body)
    headers = {"ETag": scripts.etag(script), "Location": f"/v1/scripts/{script.id}"}
    return Reply({"script": scripts.describe(script)}, 201, headers)


@api.route(
    SCRIPT,
    "GET",
    "Get a script",
    permission="scripts:read",
    response="ScriptData",
    tag="scripts",
)
def get_script(request: ApiRequest, script_id: str) -> Reply:
    script = scripts.get_script(request.caller, script_id)
    return Reply(
        {"script": scripts.describe(script)}, headers={"ETag": scripts.etag(script)}
    )


@api.route(
    SCRIPT,
    "PUT",
    "Update a script",
    permission="scripts:write",
    body="ScriptUpdate",
    response="ScriptData",
    headers=("If-Match",),
    tag="scripts",
)
def update_script(request: ApiRequest, script_id: str) -> Reply:
    version = scripts.parse_if_match(request.header("if-match"))
    script = scripts.update_script(request.caller, script_id, request.body, version)
    return Reply(
        {"script": scripts.describe(script)}, headers={"ETag": scripts.etag(script)}
    )


@api.route(
    SCRIPT,
    "DELETE",
    "Delete a script and its assets",
    permission="scripts:write",
    response="Message",
    tag="scripts",
)
def delete_script(request: ApiRequest, script_id: str) -> dict:
    scripts.delete_script(request.caller, script_id)
    return {"message": "Script deleted successfully"}


@api.route(
    f"{SCRIPT}/assets",
    "GET",
    "List a script's images",
    permission="scripts:read",
    response="AssetList",
    tag="assets",
)
def list_assets(request: ApiRequest, script_id: str) -> dict:
    script = scripts.get_script(request.caller, script_id)
    return {"assets": [assets.describe_asset(a) for a in assets.list_assets(script)]}


@api.route(
    ASSET,
    "PUT",
    "Upload an image (PNG or JPEG)",
    permission="scripts:write",
    body="binary",
    body_types=IMAGE_TYPES,
    response="AssetData",
    status=201,
    max_body_bytes=assets.MAX_ASSET_BYTES,
    tag="assets",
)
def put_asset(request: ApiRequest, script_id: str, name: str) -> dict:
    script = scripts.get_script(request.caller, script_id)
    asset = assets.put_asset(script, name, request.raw_body)
    return {"asset": assets.describe_asset(asset)}


@api.route(
    ASSET,
    "GET",
    "Download an image",
    permission="scripts:read",
    response="binary",
    response_types=IMAGE_TYPES,
    tag="assets",
)
def get_asset(request: ApiRequest, script_id: str, name: str) -> Response:
    script = scripts.get_script(request.caller, script_id)
    asset, data = assets.get_asset(script, name)
    headers = {"Content-Type": asset.content_type, "ETag": f'"{asset.sha256}"'}
    return Response(body=data, headers=headers)


@api.route(
    ASSET,
    "DELETE",
    "Delete an image",
    permission="scripts:write",
    response="Message",
    tag="assets",
)
def delete_asset(request: ApiRequest, script_id: str, name: str) -> dict:
    script = scripts.get_script(request.caller, script_id)
    assets.delete_asset(script, name)
    return {"message": "Asset deleted successfully"}


@app.on_sqs_message(queue=settings.resource_name(assets.CLEANUP_QUEUE), batch_size=10)
def on_asset_cleanup(event) -> dict:
    """Remove deleted scripts' assets and records; failures are retried alone."""
    return process_sqs_batch(event.to_dict(), event.context, scripts.finish_deletion)

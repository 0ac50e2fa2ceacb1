"""TapCraft Pro's public API and event handlers (AWS Chalice)."""

from __future__ import annotations

import json

from chalice import Chalice, Response

from chalicelib import (
    accounts,
    agents,
    api_keys,
    assets,
    delivery,
    event_types,
    executions,
    jobs,
    nodes,
    oauth,
    oauth_clients,
    openapi,
    pages,
    protocol,
    scripts,
    signing,
    webhooks,
)
from chalicelib.batch import process_sqs_batch, process_sqs_batch_concurrently
from chalicelib.http import (
    FORM,
    JSON,
    ApiRequest,
    ApiRoutes,
    Reply,
    request_middleware,
)
from chalicelib.logs import configure_logging
from chalicelib.settings import get_settings

settings = get_settings()
configure_logging(settings.log_level)

app = Chalice(app_name="tapcraft")
app.register_middleware(request_middleware, "http")
api = ApiRoutes(app)

SCRIPT = "/v1/scripts/{script_id}"
ASSET = "/v1/scripts/{script_id}/assets/{name}"
WEBHOOK = "/v1/webhooks/{webhook_id}"
IMAGE_TYPES = ("image/png", "image/jpeg")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OAUTH_AUTHORIZE_QUERY = (
    "client_id",
    "response_type",
    "scope",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
)


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
    body = request.body
    created = api_keys.create_own_api_key(
        request.caller, body.get("name"), body.get("permissions")
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


@api.route(
    "/v1/users/me/password",
    "PUT",
    "Set your password, used to sign in when authorizing OAuth clients",
    body="PasswordInput",
    response="Message",
    tag="users",
)
def set_own_password(request: ApiRequest) -> dict:
    accounts.set_own_password(request.caller, request.body)
    return {"message": "Password set"}


@api.route(
    "/v1/oauth/clients",
    "POST",
    "Register an OAuth client (a confidential one's secret is shown once)",
    permission="integrations:manage",
    body="OAuthClientInput",
    response="OAuthClientData",
    status=201,
    tag="oauth",
)
def register_oauth_client(request: ApiRequest) -> dict:
    created = oauth_clients.register_client(request.caller, request.body)
    described = oauth_clients.describe_client(created.record)
    return {"client": {**described, "client_secret": created.secret}}


@api.route(
    "/v1/oauth/clients",
    "GET",
    "List the organization's OAuth clients",
    permission="integrations:manage",
    response="OAuthClientList",
    tag="oauth",
)
def list_oauth_clients(request: ApiRequest) -> dict:
    found = oauth_clients.list_clients(request.caller)
    return {"clients": [oauth_clients.describe_client(c) for c in found]}


@api.route(
    "/v1/oauth/clients/{client_id}",
    "DELETE",
    "Delete an OAuth client and revoke every token it holds",
    permission="integrations:manage",
    response="OAuthClientData",
    tag="oauth",
)
def delete_oauth_client(request: ApiRequest, client_id: str) -> dict:
    deleted = oauth_clients.delete_client(request.caller, client_id)
    return {"client": oauth_clients.describe_client(deleted)}


@api.route(
    "/oauth/authorize",
    "GET",
    "The sign-in and consent page of the authorization code flow",
    public=True,
    response="html",
    query=OAUTH_AUTHORIZE_QUERY,
    tag="oauth",
)
def authorize(request: ApiRequest) -> Response:
    page = oauth.authorization_page(request.query, request.header("cookie"))
    return pages.respond(page)


@api.route(
    "/oauth/authorize",
    "POST",
    "Sign in and allow or deny; redirects back to the client",
    public=True,
    body="ConsentForm",
    body_types=(FORM,),
    response="html",
    tag="oauth",
)
def authorize_decision(request: ApiRequest) -> Response:
    outcome = oauth.submit_consent(request.body, request.header("cookie"))
    return pages.respond(outcome)


@api.route(
    "/oauth/token",
    "POST",
    "Exchange an authorization code or a refresh token for tokens",
    public=True,
    body="TokenRequest",
    body_types=(FORM,),
    response="TokenResponse",
    headers=("Authorization",),
    tag="oauth",
)
def issue_tokens(request: ApiRequest) -> Response:
    issued = oauth.exchange(request.body, request.header("authorization"))
    return Response(json.dumps(issued), headers={**NO_STORE, "Content-Type": JSON})


@api.route(
    "/oauth/revoke",
    "POST",
    "Revoke an access or refresh token and the grant behind it",
    public=True,
    body="RevokeRequest",
    body_types=(FORM,),
    response="empty",
    headers=("Authorization",),
    tag="oauth",
)
def revoke_token(request: ApiRequest) -> Response:
    oauth.revoke(request.body, request.header("authorization"))
    return Response("", headers={**NO_STORE, "Content-Type": JSON})


@api.route(
    "/.well-known/jwks.json",
    "GET",
    "The public keys that verify access tokens",
    public=True,
    response="JsonWebKeySet",
    tag="oauth",
)
def json_web_keys(request: ApiRequest) -> Response:
    headers = {"Content-Type": JSON, "Cache-Control": "public, max-age=300"}
    return Response(json.dumps(signing.jwks()), headers=headers)


@api.route(
    f"{SCRIPT}/execute",
    "POST",
    "Run a script on a device",
    permission="scripts:execute",
    body="ExecuteInput",
    body_required=False,
    response="ExecutionData",
    status=202,
    headers=("Idempotency-Key",),
    tag="executions",
)
def execute_script(request: ApiRequest, script_id: str) -> Reply:
    execution = executions.start_execution(
        request.caller,
        script_id,
        request.body,
        request.header("idempotency-key"),
        request.raw.lambda_context,
    )
    status = 202 if execution.status in executions.ACTIVE else 200
    return Reply({"execution": executions.describe(execution)}, status)


@api.route(
    "/v1/executions",
    "GET",
    "List executions",
    permission="scripts:read",
    response="ExecutionList",
    tag="executions",
    query=("script_id", "status", "start_date", "end_date", "page", "limit", "cursor"),
)
def list_executions(request: ApiRequest) -> dict:
    query = executions.parse_list_query(request.query)
    page = executions.list_executions(request.caller, query)
    return {
        "executions": [executions.summary(e) for e in page.executions],
        "pagination": {
            "page": 1 if query.cursor else query.page,
            "limit": query.limit,
            "total": page.total,
            "pages": -(-page.total // query.limit),
            "next_cursor": page.next_cursor,
        },
    }


@api.route(
    "/v1/executions/{execution_id}",
    "GET",
    "Get an execution with its first logs",
    permission="scripts:read",
    response="ExecutionData",
    tag="executions",
)
def get_execution(request: ApiRequest, execution_id: str) -> dict:
    execution = executions.get_execution(request.caller, execution_id)
    return {"execution": executions.describe(execution)}


@api.route(
    "/v1/executions/{execution_id}/logs",
    "GET",
    "Page through an execution's logs",
    permission="scripts:read",
    response="LogList",
    query=("cursor",),
    tag="executions",
)
def list_execution_logs(request: ApiRequest, execution_id: str) -> dict:
    cursor = (request.query.get("cursor") or [None])[-1]
    lines, following = executions.list_logs(request.caller, execution_id, cursor)
    return {
        "logs": [executions.describe_log(line) for line in lines],
        "next_cursor": following,
    }


@api.route(
    "/v1/executions/{execution_id}/stop",
    "POST",
    "Stop an execution",
    permission="scripts:execute",
    body="StopInput",
    body_required=False,
    response="ExecutionData",
    tag="executions",
)
def stop_execution(request: ApiRequest, execution_id: str) -> dict:
    reason = (request.body or {}).get("reason")
    execution = executions.stop_execution(request.caller, execution_id, reason)
    return {"execution": executions.describe(execution, with_logs=False)}


@api.route(
    "/v1/devices",
    "GET",
    "The organization's phones and their state",
    permission="scripts:read",
    response="DeviceList",
    tag="devices",
)
def list_devices(request: ApiRequest) -> dict:
    devices = agents.list_devices(request.caller)
    return {"devices": [agents.describe_device(d) for d in devices]}


@api.route(
    "/v1/agents",
    "POST",
    "Register a device agent",
    permission="team:manage",
    body="AgentInput",
    response="AgentData",
    status=201,
    tag="agents",
)
def create_agent(request: ApiRequest) -> dict:
    created = agents.create_agent(request.caller, request.body.get("name"))
    return {"agent": {**agents.describe_agent(created.record), "token": created.token}}


@api.route(
    "/v1/agents",
    "GET",
    "List device agents",
    permission="team:manage",
    response="AgentList",
    tag="agents",
)
def list_agents(request: ApiRequest) -> dict:
    return {
        "agents": [agents.describe_agent(a) for a in agents.list_agents(request.caller)]
    }


@api.route(
    "/v1/agents/{agent_id}",
    "DELETE",
    "Revoke a device agent",
    permission="team:manage",
    response="AgentData",
    tag="agents",
)
def revoke_agent(request: ApiRequest, agent_id: str) -> dict:
    return {
        "agent": agents.describe_agent(agents.revoke_agent(request.caller, agent_id))
    }


@api.route(
    protocol.HEARTBEAT_PATH,
    "POST",
    "Agent: report the phones attached",
    agent=True,
    body="AgentHeartbeatInput",
    response="AgentHeartbeatData",
    tag="agent protocol",
)
def agent_heartbeat(request: ApiRequest) -> dict:
    devices = agents.record_heartbeat(
        request.calling_agent, request.body.get("devices")
    )
    return {"agent_id": request.calling_agent.agent_id, "devices": len(devices)}


@api.route(
    protocol.CLAIM_PATH,
    "POST",
    "Agent: wait for a job for one of its phones",
    agent=True,
    body="ClaimInput",
    response="ClaimData",
    tag="agent protocol",
)
def agent_claim(request: ApiRequest) -> dict:
    assignment = jobs.claim_job(request.calling_agent, request.body)
    return {"job": assignment.to_json() if assignment else None}


@api.route(
    protocol.JOB_HEARTBEAT_PATH,
    "POST",
    "Agent: keep a job alive",
    agent=True,
    body="Empty",
    body_required=False,
    response="JobHeartbeatData",
    tag="agent protocol",
)
def agent_job_heartbeat(request: ApiRequest, job_id: str) -> dict:
    return {"stop_requested": jobs.heartbeat(request.calling_agent, job_id)}


@api.route(
    protocol.JOB_EVENTS_PATH,
    "POST",
    "Agent: report progress and log lines",
    agent=True,
    body="ProgressInput",
    response="Acknowledged",
    tag="agent protocol",
)
def agent_job_events(request: ApiRequest, job_id: str) -> dict:
    jobs.record_progress(request.calling_agent, job_id, request.body)
    return {"accepted": True}


@api.route(
    protocol.JOB_COMPLETE_PATH,
    "POST",
    "Agent: report how a job ended",
    agent=True,
    body="CompleteInput",
    response="Acknowledged",
    tag="agent protocol",
)
def agent_job_complete(request: ApiRequest, job_id: str) -> dict:
    jobs.complete(request.calling_agent, job_id, request.body)
    return {"accepted": True}


@api.route(
    protocol.JOB_ASSET_PATH,
    "GET",
    "Agent: download an image a job needs",
    agent=True,
    response="binary",
    response_types=IMAGE_TYPES,
    tag="agent protocol",
)
def agent_job_asset(request: ApiRequest, job_id: str, name: str) -> Response:
    asset, data = jobs.job_asset(request.calling_agent, job_id, name)
    return Response(body=data, headers={"Content-Type": asset.content_type})


@api.route(
    "/v1/event-types",
    "GET",
    "The events webhooks can receive, each with its payload schema",
    response="EventTypeList",
    tag="webhooks",
)
def list_event_types(request: ApiRequest) -> dict:
    return {"event_types": event_types.describe_event_types()}


@api.route(
    "/v1/webhooks",
    "POST",
    "Register a webhook (its secret is shown only in this answer)",
    permission="integrations:manage",
    body="WebhookInput",
    response="WebhookData",
    status=201,
    tag="webhooks",
)
def create_webhook(request: ApiRequest) -> Reply:
    created = webhooks.create_webhook(request.caller, request.body)
    described = webhooks.describe(created.record)
    headers = {"Location": f"/v1/webhooks/{created.record.id}"}
    return Reply({"webhook": {**described, "secret": created.secret}}, 201, headers)


@api.route(
    "/v1/webhooks",
    "GET",
    "List the organization's webhooks",
    permission="integrations:manage",
    response="WebhookList",
    tag="webhooks",
)
def list_webhooks(request: ApiRequest) -> dict:
    found = webhooks.list_webhooks(request.caller)
    return {"webhooks": [webhooks.describe(w) for w in found]}


@api.route(
    WEBHOOK,
    "GET",
    "Get a webhook",
    permission="integrations:manage",
    response="WebhookData",
    tag="webhooks",
)
def get_webhook(request: ApiRequest, webhook_id: str) -> dict:
    webhook = webhooks.get_webhook(request.caller, webhook_id)
    return {"webhook": webhooks.describe(webhook)}


@api.route(
    WEBHOOK,
    "PUT",
    "Change a webhook's URL, events, secret or state",
    permission="integrations:manage",
    body="WebhookUpdate",
    response="WebhookData",
    tag="webhooks",
)
def update_webhook(request: ApiRequest, webhook_id: str) -> dict:
    webhook = webhooks.update_webhook(request.caller, webhook_id, request.body)
    return {"webhook": webhooks.describe(webhook)}


@api.route(
    WEBHOOK,
    "DELETE",
    "Delete a webhook",
    permission="integrations:manage",
    response="Message",
    tag="webhooks",
)
def delete_webhook(request: ApiRequest, webhook_id: str) -> dict:
    webhooks.delete_webhook(request.caller, webhook_id)
    return {"message": "Webhook deleted successfully"}


@api.route(
    f"{WEBHOOK}/deliveries",
    "GET",
    "The webhook's deliveries, newest first, with every attempt",
    permission="integrations:manage",
    response="WebhookDeliveryList",
    query=("limit", "cursor", "status"),
    tag="webhooks",
)
def list_webhook_deliveries(request: ApiRequest, webhook_id: str) -> dict:
    page = webhooks.list_deliveries(request.caller, webhook_id, request.query)
    return {
        "deliveries": [webhooks.describe_delivery(d) for d in page.deliveries],
        "next_cursor": page.next_cursor,
    }


@api.route(
    f"{WEBHOOK}/deliveries/{{delivery_id}}/redeliver",
    "POST",
    "Send a finished delivery's body again",
    permission="integrations:manage",
    body="Empty",
    body_required=False,
    response="WebhookDeliveryData",
    status=202,
    tag="webhooks",
)
def redeliver_webhook_delivery(
    request: ApiRequest, webhook_id: str, delivery_id: str
) -> Reply:
    queued = webhooks.redeliver(request.caller, webhook_id, delivery_id)
    return Reply({"delivery": webhooks.describe_delivery(queued)}, 202)


@api.route(
    f"{WEBHOOK}/test",
    "POST",
    "Send the webhook a signed ping event",
    permission="integrations:manage",
    body="Empty",
    body_required=False,
    response="WebhookDeliveryData",
    status=202,
    tag="webhooks",
)
def test_webhook(request: ApiRequest, webhook_id: str) -> Reply:
    queued = webhooks.send_ping(request.caller, webhook_id)
    return Reply({"delivery": webhooks.describe_delivery(queued)}, 202)


@app.on_sqs_message(queue=settings.resource_name("dispatch"), batch_size=10)
def on_dispatch(event) -> dict:
    """Turn the state machine's dispatch messages into jobs for the agents."""
    return process_sqs_batch(event.to_dict(), event.context, jobs.dispatch_job)


@app.on_sqs_message(queue=settings.resource_name(assets.CLEANUP_QUEUE), batch_size=10)
def on_asset_cleanup(event) -> dict:
    """Remove deleted scripts' assets and records; failures are retried alone."""
    return process_sqs_batch(event.to_dict(), event.context, scripts.finish_deletion)


@app.on_sqs_message(queue=settings.resource_name(delivery.EVENTS_QUEUE), batch_size=10)
def on_webhook_event(event) -> dict:
    """Record and queue one delivery per webhook an event concerns."""
    return process_sqs_batch(event.to_dict(), event.context, delivery.fan_out)


@app.on_sqs_message(
    queue=settings.resource_name(delivery.DELIVERIES_QUEUE), batch_size=10
)
def on_webhook_delivery(event) -> dict:
    """One HTTP attempt per message, all of a batch at once."""
    return process_sqs_batch_concurrently(event.to_dict(), delivery.attempt_delivery)


@app.on_sqs_message(queue=settings.resource_name(delivery.RETRIES_QUEUE), batch_size=10)
def on_webhook_retry(event) -> dict:
    """Retries, and attempts to failing webhooks, apart from first attempts."""
    return process_sqs_batch_concurrently(event.to_dict(), delivery.attempt_delivery)

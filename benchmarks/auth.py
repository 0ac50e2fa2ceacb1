"""Authentication figures: what the rate limiter and JWT verification add.

Runs against a fresh local stack (moto server over HTTP). `GET
/v1/scripts/{id}` is invoked in-process through the Lambda entry point, as
in benchmarks/api.py, in four variants measured in the same run, round by
round in turn, so that any drift touches all of them alike:

- an API key of an enterprise organization: no limiter write (the baseline);
- an API key of an organization with limits: adds the limiter's UpdateItem;
- an OAuth access token of the enterprise organization: RS256 verification
  and a read of the token's grant, in place of the key's read;
- an access token of the limited organization: both.

Two floors follow, taken alone: `signing.verify` (python-jose, no AWS) and
`ratelimit.consume` (one UpdateItem to moto).

    python -m benchmarks.auth [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Callable

import requests

from benchmarks.harness import counted_aws_calls, local_stack, median_ms
from infra.local.stack import LocalStack

CALLBACK = "https://bench.example/callback"
HIGH = 10**9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    repeat = parser.parse_args().requests
    with local_stack(with_bridge=False) as stack:
        run(stack, repeat)


def organization(stack: LocalStack, name: str, tier: str) -> tuple[str, str, str]:
    """An organization's id, its owner's API key and an access token for both."""
    from chalicelib import accounts

    org, owner, key = accounts.bootstrap_organization(
        name, f"{name.lower()}@bench.example", name, tier
    )
    phrase = secrets.token_urlsafe(18)
    accounts.set_password(owner, phrase)
    return org.id, key.key, access_token(stack.api_url, key.key, owner.email, phrase)


def access_token(root: str, key: str, email: str, phrase: str) -> str:
    """The authorization code flow over HTTP, as a third-party app runs it."""
    headers = {"Authorization": f"Bearer {key}"}
    client = requests.post(
        f"{root}/v1/oauth/clients",
        json={"name": "Bench", "redirect_uris": [CALLBACK], "scopes": ["scripts:read"]},
        headers=headers,
        timeout=30,
    ).json()["data"]["client"]
    browser = requests.Session()
    page = browser.get(
        f"{root}/oauth/authorize",
        params={"client_id": client["id"], "response_type": "code"},
        timeout=30,
    )
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    consent = {"email": email, "password": phrase, "decision": "approve"}
    answer = browser.post(
        f"{root}/oauth/authorize",
        data={"form_token": form_token.group(1), **consent},
        allow_redirects=False,
        timeout=30,
    )
    code = re.search(r"code=([^&]+)", answer.headers["Location"]).group(1)
    issued = requests.post(
        f"{root}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client["id"],
            "client_secret": client["client_secret"],
            "redirect_uri": CALLBACK,
        },
        timeout=30,
    )
    return issued.json()["access_token"]


def run(stack: LocalStack, repeat: int) -> None:
    from chalicelib import plans, ratelimit, signing
    from chalicelib.settings import get_settings
    from infra.local.gateway import build_event
    from infra.local.lambda_context import LocalLambdaContext
    from tests import reference

    free_org, free_key, free_token = organization(stack, "Limited", "business")
    plans.set_plan(
        free_org,
        "business",
        {
            "requests_per_minute": HIGH,
            "requests_per_hour": HIGH,
            "requests_per_day": HIGH,
        },
    )
    _, open_key, open_token = organization(stack, "Unlimited", "enterprise")

    def script_of(credential: str) -> str:
        event = build_event(
            stack.app,
            "POST",
            "/v1/scripts",
            {
                "authorization": f"Bearer {credential}",
                "content-type": "application/json",
            },
            json.dumps(reference.CREATE_SCRIPT).encode(),
        )
        result = stack.app(event, LocalLambdaContext(function_name="bench"))
        return json.loads(result["body"])["data"]["script"]["id"]

    def reader(credential: str, script_id: str) -> Callable[[], None]:
        headers = {"authorization": f"Bearer {credential}"}

        def call() -> None:
            event = build_event(
                stack.app, "GET", f"/v1/scripts/{script_id}", headers, b""
            )
            result = stack.app(event, LocalLambdaContext(function_name="bench"))
            assert result["statusCode"] == 200, result["body"]

        return call

    open_script, limited_script = script_of(open_key), script_of(free_key)
    variants = {
        "API key, no limiter (baseline)": reader(open_key, open_script),
        "API key + rate limiter": reader(free_key, limited_script),
        "JWT access token, no limiter": reader(open_token, open_script),
        "JWT access token + rate limiter": reader(free_token, limited_script),
    }
    medians = interleaved(variants, repeat)
    calls = {name: aws_calls(action, 20) for name, action in variants.items()}

    audience = get_settings().oauth_audience
    verify_ms = median_ms(
        lambda: signing.verify(open_token, audience, "at+jwt"), repeat
    )
    plan = plans.plan_for(free_org)
    consume_ms = median_ms(lambda: ratelimit.consume(free_org, plan), repeat)
    report(medians, calls, verify_ms, consume_ms, repeat, stack.moto.url)


def interleaved(variants: dict[str, Callable[[], None]], repeat: int) -> dict:
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for action in variants.values():
        action()
    for _ in range(repeat):
        for name, action in variants.items():
            started = time.perf_counter()
            action()
            timings[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in timings.items()}


def aws_calls(action: Callable[[], None], repeat: int) -> Counter:
    with counted_aws_calls() as calls:
        for _ in range(repeat):
            action()
        return Counter({k: v / repeat for k, v in calls.items()})


def report(
    medians: dict[str, float],
    calls: dict[str, Counter],
    verify_ms: float,
    consume_ms: float,
    repeat: int,
    moto_url: str,
) -> None:
    baseline = next(iter(medians.values()))
    print(f"moto server at {moto_url}; GET /v1/scripts/{{id}}, {repeat} rounds\n")
    print(
        f"{'variant':34} {'median ms':>9} {'added ms':>8} {'x base':>6}  "
        "AWS calls per request"
    )
    for name, median in medians.items():
        described = ", ".join(f"{k} {v:g}" for k, v in sorted(calls[name].items()))
        print(
            f"{name:34} {median:9.2f} {median - baseline:8.2f} "
            f"{median / baseline:6.2f}  {described}"
        )
    print(f"\n{'signing.verify alone (no AWS)':34} {verify_ms:9.3f}")
    print(f"{'ratelimit.consume alone (1 write)':34} {consume_ms:9.3f}")
    print(
        "\nNOTE: 'added' compares each variant with the baseline of the same run; "
        "the\nJWT variants read the token's grant where the baseline reads the key."
    )


if __name__ == "__main__":
    main()

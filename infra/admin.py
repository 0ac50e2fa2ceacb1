"""Operator commands against a deployed (or local) TapCraft Pro.

    python -m infra.admin create-org --name "Acme" --owner-email ops@acme.test
    python -m infra.admin set-password --org-id org_… --email ops@acme.test
    python -m infra.admin set-plan --org-id org_… --tier pro
    python -m infra.admin rotate-signing-key

The AWS credentials, region and `TAPCRAFT_RESOURCE_PREFIX` of the target
stage come from the environment, as they do for the app itself. The new
owner's API key is printed once and stored only as a hash. `set-password`
reads the password from standard input (a prompt on a terminal), never from
the command line, where other users of the machine could see it.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
from collections.abc import Callable

from chalicelib import accounts, plans, signing
from chalicelib.errors import ApiError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-org", help="organization, owner and key")
    create.add_argument("--name", required=True, help="organization name")
    create.add_argument("--owner-email", required=True)
    create.add_argument("--owner-name", default="")
    create.add_argument("--tier", default="free", choices=accounts.TIERS)
    password = commands.add_parser(
        "set-password", help="set a user's sign-in password (read from stdin)"
    )
    password.add_argument("--org-id", required=True)
    password.add_argument("--email", required=True)
    plan = commands.add_parser("set-plan", help="an organization's tier and limits")
    plan.add_argument("--org-id", required=True)
    plan.add_argument("--tier", required=True, choices=plans.TIERS)
    for name in plans.LIMIT_FIELDS:
        plan.add_argument(
            f"--{name.replace('_', '-')}",
            type=int,
            help=f"override the tier's {name} ({plans.UNLIMITED} for no limit)",
        )
    commands.add_parser(
        "rotate-signing-key", help="sign new tokens with a new key; old ones stay valid"
    )
    return parser


def create_org(args: argparse.Namespace) -> dict[str, str]:
    org, owner, key = accounts.bootstrap_organization(
        args.name, args.owner_email, args.owner_name or args.owner_email, args.tier
    )
    return {
        "org_id": org.id,
        "user_id": owner.id,
        "api_key_id": key.record.id,
        "api_key": key.key,
    }


def set_password(args: argparse.Namespace) -> dict[str, str]:
    user = accounts.find_user(args.org_id, args.email)
    accounts.set_password(user, _read_password())
    return {"user_id": user.id, "password": "set"}


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("New password: ")
    return sys.stdin.readline().rstrip("\n")


def set_plan(args: argparse.Namespace) -> dict:
    overrides = {
        name: getattr(args, name)
        for name in plans.LIMIT_FIELDS
        if getattr(args, name) is not None
    }
    plan = plans.set_plan(args.org_id, args.tier, overrides)
    return {"org_id": args.org_id, **dataclasses.asdict(plan)}


def rotate_signing_key(args: argparse.Namespace) -> dict:
    created = signing.rotate()
    return {"kid": created.id, "published": [k["kid"] for k in signing.jwks()["keys"]]}


COMMANDS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "create-org": create_org,
    "set-password": set_password,
    "set-plan": set_plan,
    "rotate-signing-key": rotate_signing_key,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = COMMANDS[args.command](args)
    except ApiError as error:
        print(f"error: {error.details}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Operator commands against a deployed (or local) TapCraft Pro.

    python -m infra.admin create-org --name "Acme" --owner-email ops@acme.test

The AWS credentials, region and `TAPCRAFT_RESOURCE_PREFIX` of the target
stage come from the environment, as they do for the app itself. The new
owner's API key is printed once and stored only as a hash.
"""

from __future__ import annotations

import argparse
import json
import sys

from chalicelib import accounts
from chalicelib.errors import ApiError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-org", help="organization, owner and key")
    create.add_argument("--name", required=True, help="organization name")
    create.add_argument("--owner-email", required=True)
    create.add_argument("--owner-name", default="")
    create.add_argument("--tier", default="free", choices=accounts.TIERS)
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = create_org(args)
    except ApiError as error:
        print(f"error: {error.details}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Deploy one stage to AWS: the data stack, then the Chalice app, then the
# settings `chalice deploy` cannot express (partial batch responses on SQS
# event sources, API Gateway's error responses in our envelope).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${STAGE:?set STAGE to dev or prod}"
: "${AWS_DEFAULT_REGION:?set AWS_DEFAULT_REGION}"
prefix="tapcraft-${STAGE}"

aws cloudformation deploy --stack-name "${prefix}-data" \
  --template-file infra/template.yaml \
  --parameter-overrides "ResourcePrefix=${prefix}"

chalice deploy --stage "${STAGE}"

python -m infra.post_deploy --stage "${STAGE}" --prefix "${prefix}"

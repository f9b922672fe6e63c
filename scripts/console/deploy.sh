#!/usr/bin/env bash
# Uploads the built console to its bucket and invalidates what changed: run after `serverless deploy`
# with AWS credentials. Usage: scripts/console/deploy.sh <stage> [region]
#  - assets/ have content-hashed names: uploaded with a one-year immutable Cache-Control, never
#    invalidated (a new build has new names); old ones stay for pages still open on the old version.
#  - index.html names the current assets: no-cache, and the only path invalidated.
set -euo pipefail
stage="${1:?usage: deploy.sh <stage> [region]}"
region="${2:-${AWS_REGION:-us-east-1}}"
stack="sensorcloud-${stage}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

output() {
  aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
bucket="$(output ConsoleBucketName)"
distribution="$(output ConsoleDistributionId)"
[ -n "$bucket" ] && [ -n "$distribution" ] || { echo "stack $stack has no console outputs" >&2; exit 1; }

out=".local/console-dist"
npx tsx scripts/console/cli.ts "$out"
aws s3 cp "$out/assets" "s3://$bucket/assets" --recursive --region "$region" \
  --cache-control "public, max-age=31536000, immutable"
aws s3 cp "$out/index.html" "s3://$bucket/index.html" --region "$region" \
  --cache-control "no-cache" --content-type "text/html; charset=utf-8"
aws cloudfront create-invalidation --distribution-id "$distribution" --paths /index.html /assets/favicon.svg \
  --query 'Invalidation.Id' --output text
echo "console deployed: $(output ConsoleUrl)"

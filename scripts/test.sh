#!/usr/bin/env bash
# The README's test command (`npm test`): installs whatever is missing (Debian packages, the Docker engine and
# the stand-in base images, node_modules), then runs the typecheck, the linters and every test. Each install
# step skips what is already there, so on a provisioned machine it goes straight to the tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${ROBOSTREAM_SKIP_PROVISION:-} != 1 ]]; then
  if [[ $(id -u) == 0 ]]; then bash scripts/provision/all.sh; else sudo -E bash scripts/provision/all.sh; fi
fi
# npm ci when node_modules is missing or older than the lockfile.
if [[ ! -x node_modules/.bin/tsc || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi

export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE:-32}
npm run typecheck
npm run lint
node scripts/run-tests.mjs "$@"

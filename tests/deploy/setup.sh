#!/usr/bin/env bash
# Installs the npm packages tests/deploy needs (kubernetes-models, dockerfile-ast, yaml) into
# tests/deploy/node_modules from package-lock.json. Idempotent: does nothing when node_modules
# already matches the lock file. Reaches only the npm registry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v node >/dev/null || { echo "setup.sh: node not found (scripts/bootstrap.sh installs nodejs)" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup.sh: npm not found (scripts/bootstrap.sh installs npm)" >&2; exit 1; }
stamp=node_modules/.opusrt-setup-stamp
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "setup.sh: node_modules is up to date"
  exit 0
fi
# Several ctest processes may start this at once: one installs, the others wait for it.
exec 9>"${TMPDIR:-/tmp}/opusrt-deploy-npm.$(id -u).lock"
flock 9
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then exit 0; fi
npm ci --no-audit --no-fund
node -e "require.resolve('kubernetes-models/package.json'); require.resolve('dockerfile-ast'); require.resolve('yaml')"
echo "$want" > "$stamp"
echo "setup.sh: installed kubernetes-models $(node -p "require('kubernetes-models/package.json').version")"

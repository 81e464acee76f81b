#!/usr/bin/env bash
# `buf breaking` (FILE rules, buf.yaml) against the contracts as they last landed on main:
#  - against origin/main's merge base when this checkout has a remote main that differs, and
#  - always against proto/BREAKING_BASELINE, the landed commit whose contracts clients were
#    built against. A clean clone of main (CI) has no separate remote main, so the baseline is
#    what keeps CI honest. Moving the baseline forward is a deliberate, reviewed act: the
#    commit that does it says which wire change it accepts and why.
set -euo pipefail
cd "$(dirname "$0")/.."
refs=("$(tr -d ' \n' <proto/BREAKING_BASELINE)")
if git rev-parse -q --verify origin/main >/dev/null; then
  base=$(git merge-base HEAD origin/main)
  [ "$base" != "$(git rev-parse HEAD)" ] && refs+=("$base")
fi
for ref in "${refs[@]}"; do
  echo "buf breaking against $ref"
  npx buf breaking --against ".git#ref=$ref"
done

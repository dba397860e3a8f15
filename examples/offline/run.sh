#!/usr/bin/env bash
# The whole capwatch loop without network: local pages, a baseline, an edit
# to one page, the change, the observed status move, drift, and the outbox.
# Everything happens in a scratch folder; the repository is not modified.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${1:-$(mktemp -d -t capwatch-offline.XXXXXX)}"
mkdir -p "$work/pages"
cp "$here/sources.toml" "$work/"
cp "$here"/pages-v1/* "$work/pages/"

cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
cw() { echo; echo "\$ capwatch $*"; "$repo/target/release/capwatch" --config "$work/sources.toml" "$@"; }

echo "== 1. first check: every page is a baseline; the guide's own page gives its validation date"
cw check
cw status
echo
echo "== what the guide's own text claims for each capability (Report Builder has no claim in the registry)"
cw claims

echo
echo "== 2. the Report Builder page changes: open beta → generally available (its nav/footer changed too)"
cp "$here"/pages-v2/* "$work/pages/"
cw check
cw diff report-builder
cw history report-builder
cw alerts

echo
echo "== 3. a reviewer validates Report Builder after updating the guide"
cw review report-builder --by "Ana Reviewer" --note "docs now say GA; guide to be updated"
cw status

echo
echo "== 4. the owner fixes the guide (\"Report Builder is generally available\"): the claim moves and the drift clears"
cp "$here"/pages-v3/guide.html "$work/pages/"
cw check
cw status
cw history report-builder
cw alerts
echo
echo "(scratch folder: $work)"

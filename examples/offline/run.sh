#!/usr/bin/env bash
# The whole capwatch loop without network: local pages, a baseline, an edit
# to one page, the change, the observed status move, drift, the digest with
# its links, and the owner closing the loop from the e-mail's "Mark reviewed"
# link. Everything happens in a scratch folder; the repository is not
# modified. Needs python3 (a tiny SMTP sink) and curl (the owner's browser).
#
# Environment: CAPWATCH_BIN (use this binary instead of building the release
# one), CAPWATCH_EXAMPLE_SMTP_PORT (2525), CAPWATCH_EXAMPLE_HTTP_PORT (8765),
# CAPWATCH_EXAMPLE_SCREENSHOT (a PNG path: headless Chromium photographs the
# confirmation page there before the owner confirms).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${1:-$(mktemp -d -t capwatch-offline.XXXXXX)}"
smtp_port="${CAPWATCH_EXAMPLE_SMTP_PORT:-2525}"
http_port="${CAPWATCH_EXAMPLE_HTTP_PORT:-8765}"
mkdir -p "$work/pages" "$work/mail"
sed -e "s/127.0.0.1:2525/127.0.0.1:$smtp_port/" -e "s/127.0.0.1:8765/127.0.0.1:$http_port/" \
    "$here/sources.toml" > "$work/sources.toml"
cp "$here"/pages-v1/* "$work/pages/"

if [ -z "${CAPWATCH_BIN:-}" ]; then
    cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
    CAPWATCH_BIN="$repo/target/release/capwatch"
fi
cw() { echo; echo "\$ capwatch $*"; "$CAPWATCH_BIN" --config "$work/sources.toml" "$@"; }

# The key that signs the e-mail's action links: from the environment only,
# the same value for `check` (which sends the digest) and `serve` (which
# opens the links).
CAPWATCH_SECRET="offline-example-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export CAPWATCH_SECRET

python3 "$here/smtp_sink.py" "$smtp_port" "$work/mail" &
sink=$!
"$CAPWATCH_BIN" --config "$work/sources.toml" serve --listen "127.0.0.1:$http_port" > "$work/serve.log" 2>&1 &
server=$!
trap 'kill $sink $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$http_port/healthz" > /dev/null 2>&1 && break
    sleep 0.2
done
# The SMTP sink must listen before the first check sends its digest.
for _ in $(seq 50); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$smtp_port" 2>/dev/null && break
    sleep 0.2
done

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

mail="$(ls "$work"/mail/*.eml | tail -1)"
echo
echo "== 3. the owner's digest ($mail) links to the dashboard and carries signed action links:"
python3 "$here/mail_links.py" "$mail" | sed 's/^/   /'

link="$(python3 "$here/mail_links.py" "$mail" | awk -F'\t' '$1 ~ /Report Builder/ && $2 == "Mark reviewed" {print $3; exit}')"
echo
echo "== 4. the owner opens \"Mark reviewed\" for Report Builder: a GET shows what would be recorded, and records nothing"
echo "\$ curl $link"
curl -fsS -c "$work/cookies" "$link" > "$work/confirm.html"
grep -o 'Pressing the button records[^<]*' "$work/confirm.html" | sed 's/^/   /'
if [ -n "${CAPWATCH_EXAMPLE_SCREENSHOT:-}" ]; then
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,760 \
        --screenshot="$CAPWATCH_EXAMPLE_SCREENSHOT" "$link" > /dev/null 2>&1
    echo "   (screenshot: $CAPWATCH_EXAMPLE_SCREENSHOT)"
fi

echo
echo "== 5. ... and presses the button: the form's POST records the review, with the channel mail-link"
csrf="$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$work/confirm.html")"
curl -fsS -b "$work/cookies" --data-urlencode "csrf=$csrf" \
    --data-urlencode "note=docs now say GA; guide to be updated" "$link" \
    | grep -o '<h1[^>]*>[^<]*</h1>' | sed -e 's/<[^>]*>//g' -e 's/^/   /'
echo "   the same link again: HTTP $(curl -sS -o /dev/null -w '%{http_code}' -b "$work/cookies" --data-urlencode "csrf=$csrf" "$link") (used already; nothing recorded)"
cw history report-builder
cw status

echo
echo "== 6. the owner fixes the guide (\"Report Builder is generally available\"): the claim moves and the drift clears"
cp "$here"/pages-v3/guide.html "$work/pages/"
cw check
cw status
cw history report-builder
cw alerts
echo
echo "== 7. a reviewer can also record a review from a shell"
cw review audience-lab --by "Ana Reviewer" --note "checked the Audience Lab page"
echo
echo "(scratch folder: $work; dashboard was http://127.0.0.1:$http_port/)"

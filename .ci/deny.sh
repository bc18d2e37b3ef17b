#!/usr/bin/env bash
# Dependency audit with cargo-deny: licenses, bans (duplicate versions,
# wildcards), sources, and RustSec advisories (deny.toml).
#
# CI cannot download the advisory database: advisories are checked offline
# against the snapshot in ../shared/advisory-db when it exists (made into
# the git checkout cargo-deny expects, dated as the snapshot), and skipped
# with a visible message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deny >/dev/null; then
    echo "deny: installing cargo-deny (about 2 minutes)"
    cargo install cargo-deny --locked --version 0.20.2 --quiet
fi

cargo deny --offline check licenses bans sources

snapshot="${REDLINE_ADVISORY_DB:-../shared/advisory-db}"
if [ ! -d "$snapshot/crates" ]; then
    echo "deny: SKIPPED advisories: no RustSec snapshot at $snapshot (set REDLINE_ADVISORY_DB to one)"
    exit 0
fi
# The directory name cargo-deny derives from the default database URL.
db="target/advisory-dbs/advisory-db-3157b0e258782691"
rm -rf "$db"
mkdir -p "$db"
cp -R "$snapshot"/. "$db"/
chmod -R u+w "$db"
when=$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$snapshot/SNAPSHOT" | head -1 || true)
when="${when:-$(date -u +%F)}T00:00:00Z"
(
    cd "$db"
    git init -q
    git add -A
    GIT_AUTHOR_DATE="$when" GIT_COMMITTER_DATE="$when" \
        git -c user.name=snapshot -c user.email=snapshot@localhost commit -qm "RustSec snapshot" --no-gpg-sign
)
echo "deny: advisories from $(cat "$snapshot/SNAPSHOT")"
cargo deny --offline check advisories

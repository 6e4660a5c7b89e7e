#!/usr/bin/env bash
# The whole test suite, from a fresh machine: the README's test command and what CI runs.
#   1. set the machine up (Docker engine, debian:bookworm-slim, chromium) — idempotent;
#   2. cargo test: unit tests, integration tests (fixture knowledge bases, real Docker runs,
#      headless Chromium), snapshot tests;
#   3. kb verify on this repository's own content/ in real Docker (dogfooding), then
#      kb check and a strict build of the site with the verification badges.
# Everything builds in the release profile once (tests included) to keep CI time down.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-machine.sh

export CARGO_TERM_COLOR=never
cargo build --release --locked
cargo test --release --locked -- --test-threads=2

kb=target/release/kb
echo "== kb check (repository content)"
"$kb" check
echo "== kb build --strict (repository content)"
"$kb" build --strict --out target/site
echo "== kb verify (repository content, real Docker)"
"$kb" verify

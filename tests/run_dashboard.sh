#!/usr/bin/env bash
# Serves the test dashboard at http://localhost:8080/dashboard.html from the project's own
# node_modules (tsx, chart.js, pg): nothing installed globally, nothing fetched from a CDN.
# PORT, HOST, REPORTS_DIR and DB_URL override the defaults (8080, 127.0.0.1, reports/, the local stack).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/tsx tests/dashboard/server.ts "$@"

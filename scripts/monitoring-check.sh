#!/usr/bin/env bash
# Checks monitoring/: the Prometheus rules parse (`promtool check rules`), their unit tests pass
# (`promtool test rules`), the Grafana dashboard is valid JSON, and every usvc_* metric the rules
# and the dashboard name is one the service's code exports, so a renamed metric cannot leave an
# alert or a panel silently watching nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool check rules monitoring/prometheus/rules.yml
promtool test rules monitoring/prometheus/rules.test.yml

dashboards=(monitoring/grafana/dashboards/*.json)
for dashboard in "${dashboards[@]}"; do
    python3 -m json.tool "$dashboard" >/dev/null
done

missing=0
for file in monitoring/prometheus/rules.yml "${dashboards[@]}"; do
    for metric in $(grep -oE '\busvc_[a-z_]+' "$file" | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
        if ! grep -rqF "\"$metric\"" crates host --include='*.rs'; then
            echo "$file names $metric, which the service does not export"
            missing=1
        fi
    done
done
exit "$missing"

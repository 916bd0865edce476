#!/usr/bin/env bash
# Checks monitoring/: the Prometheus rules parse (`promtool check rules`), their unit tests pass
# (`promtool test rules`), and every usvc_* metric they name is one the service's code exports,
# so a renamed metric cannot leave an alert silently watching nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool check rules monitoring/prometheus/rules.yml
promtool test rules monitoring/prometheus/rules.test.yml

missing=0
for metric in $(grep -oE '\busvc_[a-z_]+' monitoring/prometheus/rules.yml | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
    if ! grep -rqF "\"$metric\"" crates host --include='*.rs'; then
        echo "monitoring/prometheus/rules.yml names $metric, which the service does not export"
        missing=1
    fi
done
exit "$missing"

#!/usr/bin/env python3
"""Checks what deploys usvc, as far as can be checked without a cluster or a Docker engine.

- Every YAML file under deploy/ and .github/workflows/ parses.
- Every Kubernetes object names its apiVersion, kind and metadata.name; the kustomization's
  resources exist.
- The ConfigMap and the Secret template set only variables the service reads (`.env.example`,
  which a test keeps equal to the configuration).
- The probes' paths are routes the service serves, and the init container's command is one the
  binary has.
"""
import pathlib
import re
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
problems = []

known = set()
for line in (root / ".env.example").read_text().splitlines():
    match = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=", line)
    if match:
        known.add(match.group(1))

sources = "\n".join(p.read_text() for p in (root / "crates").rglob("*.rs"))
main = (root / "host/src/main.rs").read_text()

files = sorted((root / "deploy").rglob("*.yaml")) + sorted((root / ".github/workflows").glob("*.yml"))
for path in files:
    name = path.relative_to(root)
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as error:
        problems.append(f"{name}: {error}")
        continue
    if ".github" in path.parts:
        for document in documents:
            if "jobs" not in document:
                problems.append(f"{name}: a workflow without jobs")
        continue
    for document in documents:
        kind = document.get("kind")
        if document.get("apiVersion") is None or kind is None:
            problems.append(f"{name}: missing apiVersion or kind")
            continue
        if kind == "Kustomization":
            for resource in document.get("resources", []):
                if not (path.parent / resource).exists():
                    problems.append(f"{name}: resource {resource} does not exist")
            continue
        if not document.get("metadata", {}).get("name"):
            problems.append(f"{name}: {kind} without metadata.name")
        settings = document.get("data") if kind == "ConfigMap" else document.get("stringData") if kind == "Secret" else None
        for variable in settings or {}:
            if variable not in known:
                problems.append(f"{name}: {variable} is not a variable the service reads")
        if kind == "Deployment":
            spec = document["spec"]["template"]["spec"]
            for container in spec.get("containers", []):
                for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                    http = container.get(probe, {}).get("httpGet")
                    if http and f'"{http["path"]}"' not in sources:
                        problems.append(f"{name}: {probe} path {http['path']} is not a route")
            for container in spec.get("initContainers", []):
                command = container.get("command", [])
                if command[:1] != ["usvc"] or f'["{command[1]}"]' not in main:
                    problems.append(f"{name}: init command {command} is not one the binary has")

for problem in problems:
    print(problem)
print(f"{len(files)} files checked, {len(problems)} problems")
sys.exit(1 if problems else 0)

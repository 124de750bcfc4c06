#!/usr/bin/env bash
# Copy policies/*.yaml into the Helm chart (deploy/helm/aicc/files/policies/), so the chart ships
# the same policy files as the repository. `--check` only reports differences (exit 1 if any).
# tests/helm/test_chart.py fails when the two directories differ.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/policies"
dst="$root/deploy/helm/aicc/files/policies"
check=0
[[ "${1:-}" == "--check" ]] && check=1
mkdir -p "$dst"
status=0
for f in "$src"/*.yaml; do
  [[ -e "$f" ]] || continue
  name="$(basename "$f")"
  [[ "$name" == demo.yaml ]] && continue   # demo policy: laptop / e2e only, never shipped
  if ! cmp -s "$f" "$dst/$name"; then
    if (( check )); then echo "differs: $name"; status=1; else cp "$f" "$dst/$name"; echo "copied: $name"; fi
  fi
done
for f in "$dst"/*.yaml; do
  [[ -e "$f" ]] || continue
  name="$(basename "$f")"
  if [[ ! -e "$src/$name" || "$name" == demo.yaml ]]; then
    if (( check )); then echo "stale: $name"; status=1; else rm -f "$f"; echo "removed: $name"; fi
  fi
done
exit $status

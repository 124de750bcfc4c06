#!/usr/bin/env bash
# Copy policies/*.yaml into the Helm chart (deploy/helm/aicc/files/policies/) and the working-day
# calendars policies/calendars/*.yaml into deploy/helm/aicc/files/calendars/, so the chart ships the
# same files as the repository. `--check` only reports differences (exit 1 if any).
# tests/helm/test_chart.py fails when the directories differ.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
check=0
[[ "${1:-}" == "--check" ]] && check=1
status=0

sync() {  # sync SRC DST [SKIP]: SKIP is a file name never shipped
  local src="$1" dst="$2" skip="${3:-}"
  mkdir -p "$dst"
  for f in "$src"/*.yaml; do
    [[ -e "$f" ]] || continue
    name="$(basename "$f")"
    [[ "$name" == "$skip" ]] && continue
    if ! cmp -s "$f" "$dst/$name"; then
      if (( check )); then echo "differs: $name"; status=1; else cp "$f" "$dst/$name"; echo "copied: $name"; fi
    fi
  done
  for f in "$dst"/*.yaml; do
    [[ -e "$f" ]] || continue
    name="$(basename "$f")"
    if [[ ! -e "$src/$name" || "$name" == "$skip" ]]; then
      if (( check )); then echo "stale: $name"; status=1; else rm -f "$f"; echo "removed: $name"; fi
    fi
  done
}

sync "$root/policies" "$root/deploy/helm/aicc/files/policies" demo.yaml   # demo: laptop / e2e only
sync "$root/policies/calendars" "$root/deploy/helm/aicc/files/calendars"
exit $status

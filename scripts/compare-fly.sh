#!/usr/bin/env bash
# Frame time of two urbis binaries on the CesiumJS comparison's synthetic
# city (10,000 buildings, its pose, 1280 × 720), run alternately so that
# both see the same machine. Prints the minimum and median over the runs of
# each binary's frame p50 (second lap), and the city and composite passes.
#
# Usage: scripts/compare-fly.sh RUNS BINARY_A BINARY_B [extra fly arguments]
# The tileset and pose are made once under target/cesium-bench (needs
# python3, ../shared/tools/cesium-bench). To time an older commit, build it
# in a worktree (git worktree add /tmp/base COMMIT; cd /tmp/base;
# cargo build --release -p urbis_app) and pass its target/release/urbis.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="$1"; a="$2"; b="$3"; shift 3
bench=target/cesium-bench
if [ ! -f "$bench/city/tileset.json" ]; then
  mkdir -p "$bench"
  python3 ../shared/tools/cesium-bench/gen_city_tileset.py --out "$bench/city"
fi
if [ ! -f "$bench/pose.json" ]; then
  # The comparison's camera, twice (a tour of one still view).
  pose='{"lon": 115.899999421, "lat": 38.979130056, "height": 1695.010, "heading": 0, "pitch": -35.020822, "duration": 1}'
  echo "[$pose, $pose]" > "$bench/pose.json"
fi
export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}"
one() {
  "$1" fly "$bench/city/tileset.json" --tour "$bench/pose.json" --fov 35.98 --frames 24 --laps 2 --json "${@:2}" 2>/dev/null \
    | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d["total"].get("pass_ms_p50") or {}
print(d["laps"][1]["frame_ms_p50"], p.get("city") or 0, p.get("composite") or 0)'
}
for _ in $(seq "$runs"); do
  echo "A $(one "$a" "$@")"
  echo "B $(one "$b" "$@")"
done | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    k, *v = line.split()
    runs.setdefault(k, []).append([float(x) for x in v])
for k, rows in sorted(runs.items()):
    cols = list(zip(*rows))
    print(k, " | ".join("%s min %.1f median %.1f ms" % (n, min(c), statistics.median(c))
                        for n, c in zip(("frame", "city", "composite"), cols)))
if len(runs) == 2:
    a, b = (statistics.median(r[0] for r in runs[k]) for k in ("A", "B"))
    print("median frame A / B: %.2f" % (a / b))'

#!/usr/bin/env bash
# A short fuzz run of every parser, seeded from ../shared/data (and the
# committed seeds in fuzz/seeds). Usage: scripts/fuzz-smoke.sh [seconds per target]
# Needs cargo-fuzz; the stable toolchain is allowed its -Z flags with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
shared="../shared/data"
export RUSTC_BOOTSTRAP=1
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
seed() { # target, files...
  local t="$1"; shift
  mkdir -p "fuzz/corpus/$t"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "fuzz/corpus/$t/" || true; done
  if [ -d "fuzz/seeds/$t" ]; then cp fuzz/seeds/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true; fi
}
seed glb $(find "$shared/3dtiles" "$shared/gltf" -name '*.glb' -o -name '*.gltf' 2>/dev/null | head -20)
seed b3dm $(find "$shared/3dtiles" -name '*.b3dm' 2>/dev/null)
seed i3dm
seed pnts
seed cmpt
seed subtree $(find "$shared/3dtiles" -name '*.subtree' 2>/dev/null)
seed tileset_json $(find "$shared/3dtiles" "$shared/gltf" -name 'tileset.json' 2>/dev/null)
seed cityjson $(find "$shared/cityjson" -name '*.json' -size -64k 2>/dev/null | head -40)
seed ifc_step $(find "$shared/ifc" -name '*.ifc' 2>/dev/null) crates/urbis_formats/tests/data/sample.ifc
seed geojson
seed geotiff
seed ascii_grid "$shared/dem/hugo_site.asc"
seed live_payload
seed scenario_toml examples/scenarios/*.toml
seed osgb "$shared/osgb/test.osgb"
seed shapefile
seed imagery_geotiff
seed imagery_xyz
seed quantized_mesh
seed wmts_capabilities crates/urbis_formats/tests/data/wmts_capabilities.xml
seed wall_toml examples/wall/*.toml
seed wall_message
# LISFLOOD-FP inputs: the first byte picks the parser (0 .par, 1 .bci, 2 .bdy, 3 .stage, 4 grid).
mkdir -p fuzz/corpus/lisflood_inputs
k=0
for f in crates/urbis_sim/tests/data/lisflood/*/*.par crates/urbis_sim/tests/data/lisflood/*/*.bci \
         crates/urbis_sim/tests/data/lisflood/*/*.bdy crates/urbis_sim/tests/data/lisflood/*/*.stage \
         crates/urbis_sim/tests/data/lisflood/ea1/ea1.asc; do
  case "$f" in *.par) b=0;; *.bci) b=1;; *.bdy) b=2;; *.stage) b=3;; *) b=4;; esac
  { printf "\\$(printf '%03o' $b)"; cat "$f"; } > "fuzz/corpus/lisflood_inputs/seed$k"; k=$((k+1))
done
cargo fuzz build --sanitizer none -O
for t in glb b3dm i3dm pnts cmpt subtree tileset_json cityjson ifc_step geojson geotiff ascii_grid live_payload scenario_toml lisflood_inputs osgb shapefile imagery_geotiff imagery_xyz quantized_mesh wmts_capabilities wall_toml wall_message; do
  echo "fuzzing $t for ${secs}s"
  cargo fuzz run --sanitizer none -O "$t" "fuzz/corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=1048576 -timeout=10
done
echo "fuzz smoke: all targets ran without a crash"

#!/usr/bin/env bash
# Checks that no layer of the library uses a later one (DESIGN.md's layer order), two ways:
#  1. includes: src/LAYER/** and include/textune/LAYER/** include no header of a later layer;
#  2. symbols: no undefined symbol of libtextune_layer_LAYER.a is defined (strongly: T, D, B, R) only
#     in a later layer's archive (header-inline functions are weak and covered by 1).
# Usage: check_layer_order.sh SOURCE_DIR ARCHIVE...   (archives in layer order, named
# libtextune_layer_LAYER.a). Prints one line per violation, naming the layer, the later layer and
# the file:line or the demangled symbol; exits 1 when there is one, 2 on a usage error.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 SOURCE_DIR ARCHIVE..." >&2
  exit 2
fi
src=$1
shift
layers=()
archives=()
for a in "$@"; do
  [ -f "$a" ] || { echo "$0: no such archive: $a" >&2; exit 2; }
  n=$(basename "$a" .a)
  layers+=("${n#libtextune_layer_}")
  archives+=("$a")
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count=${#layers[@]}
status=0

# 1. includes. Public headers outside a layer folder belong to the layer that implements them.
extra_headers() {
  case $1 in
    train) echo 'textune/pipeline\.h"' ;;  # the C++ Pipeline, src/train/pipeline.cpp
    *) echo '^$' ;;
  esac
}
for ((i = 0; i < count; i++)); do
  L=${layers[$i]}
  for ((j = i + 1; j < count; j++)); do
    M=${layers[$j]}
    for d in "$src/src/$L" "$src/include/textune/$L"; do
      [ -d "$d" ] || continue
      while IFS= read -r hit; do
        [ -n "$hit" ] || continue
        echo "layer $L includes a header of the later layer $M: ${hit#"$src"/}"
        status=1
      done < <(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"((textune/)?$M/|$(extra_headers "$M"))" "$d" || true)
    done
  done
done

# 2. symbols
for ((i = 0; i < count; i++)); do
  nm -g -P --defined-only "${archives[$i]}" 2>/dev/null | awk 'NF >= 2 && $2 ~ /^[TDBR]$/ {print $1}' | sort -u >"$tmp/strong.$i"
  nm -g -P --defined-only "${archives[$i]}" 2>/dev/null | awk 'NF >= 2 && $2 != "U" {print $1}' | sort -u >"$tmp/def.$i"
  nm -g -P --undefined-only "${archives[$i]}" 2>/dev/null | awk 'NF >= 2 {print $1}' | sort -u >"$tmp/undef.$i"
done
: >"$tmp/earlier"
for ((i = 0; i < count; i++)); do
  sort -u "$tmp/earlier" "$tmp/def.$i" -o "$tmp/earlier"
  # what layer i needs and neither it nor an earlier layer defines
  comm -23 "$tmp/undef.$i" "$tmp/earlier" >"$tmp/missing"
  for ((j = i + 1; j < count; j++)); do
    while IFS= read -r sym; do
      [ -n "$sym" ] || continue
      echo "layer ${layers[$i]} uses $(echo "$sym" | c++filt) of the later layer ${layers[$j]}"
      status=1
    done < <(comm -12 "$tmp/missing" "$tmp/strong.$j")
  done
done
exit $status

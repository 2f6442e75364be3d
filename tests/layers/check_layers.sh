#!/usr/bin/env bash
# check_layers.sh SRC: the layers of DESIGN.md hold. Each layer's sources and public
# headers include only the dtf headers of the layers below it:
#   base     types status memory rng permute coo sort fault format version
#   kernels  base + kernels csf
#   mpi      base + kernels + grid comm factor distribute compress scalapack
#   solvers  mpi + tensor state solver model cp tr generate observed likelihood em loss optim gcp tucker (no io)
#   io       base + mpi + state + io                        (no solver, no kernels)
#   cli      everything
# and only io/ includes <hdf5.h>. (The build already compiles base and kernels without
# MPI's include path, and the solvers and the CLI without HDF5's.)
# check_layers.sh --self-test SRC: also show that a violation is caught.
set -u
if [ "${1:-}" = --self-test ]; then
  src=$2
  "$0" "$src" || exit 1
  copy=$(mktemp -d)
  trap 'rm -rf "$copy"' EXIT
  cp -r "$src/include" "$src/src" "$src/mpi" "$src/io" "$copy/"
  echo '#include "dtf/grid.h"' >>"$copy/src/kernels/khatri_rao.c"
  echo '#include "dtf/cp.h"' >>"$copy/io/spec.c"
  out=$("$0" "$copy" 2>&1) && { echo "FAIL: violations were not caught"; exit 1; }
  grep -q "src/kernels/khatri_rao.c (kernels) includes dtf/grid.h" <<<"$out" &&
    grep -q "io/spec.c (io) includes dtf/cp.h" <<<"$out" || { echo "FAIL: wrong report: $out"; exit 1; }
  echo "ok: the check catches violations"
  exit 0
fi
src=$1
base="types status memory rng permute coo sort fault format version"
kernels="$base kernels csf semisparse"
mpi="$kernels grid comm factor distribute compress scalapack"
solvers="$mpi tensor state solver model cp tr generate observed likelihood em em_select loss optim gcp tucker"
io="$base grid comm factor distribute state io"
allowed() { # LAYER -> allowed header names
  case $1 in
  base) echo "$base" ;; kernels) echo "$kernels" ;; mpi) echo "$mpi" ;; solvers) echo "$solvers" ;;
  io) echo "$io" ;; cli) echo "ALL" ;;
  esac
}
layer_of_header() {
  local h=$1
  for l in base kernels mpi solvers io; do
    case " $(allowed $l) " in *" $h "*)
      # the lowest layer that lists it
      echo "$l"
      return
      ;;
    esac
  done
  echo unknown
}
bad=0
check() { # FILE LAYER
  local f=$1 layer=$2 ok
  ok=" $(allowed "$layer") "
  while read -r h; do
    [ "$ok" = " ALL " ] && continue
    [ "$h" = dtf ] && { echo "$f ($layer) includes dtf/dtf.h"; bad=1; continue; }
    case "$ok" in *" $h "*) ;; *) echo "$f ($layer) includes dtf/$h.h"; bad=1 ;; esac
  done < <(sed -n 's/^#include "dtf\/\([a-z_]*\)\.h".*/\1/p' "$f")
  if [ "$layer" != io ] && grep -q '^#include <hdf5.h>' "$f"; then
    echo "$f ($layer) includes <hdf5.h>"
    bad=1
  fi
}
for f in "$src"/src/base/*.[ch]; do check "$f" base; done
for f in "$src"/src/kernels/*.[ch]; do check "$f" kernels; done
for f in "$src"/mpi/*.c; do check "$f" mpi; done
for f in "$src"/src/*.c "$src"/src/tucker/*.[ch]; do check "$f" solvers; done
for f in "$src"/io/*.[ch]; do check "$f" io; done
for f in "$src"/include/dtf/*.h; do
  name=$(basename "$f" .h)
  [ "$name" = dtf ] && continue
  layer=$(layer_of_header "$name")
  [ "$layer" != unknown ] || { echo "$f: header in no layer (add it to tests/layers/check_layers.sh)"; bad=1; continue; }
  check "$f" "$layer"
done
[ "$bad" -eq 0 ] && echo "ok: every layer includes only the layers below it"
exit "$bad"

#!/usr/bin/env bash
# extremes.sh CASE: inputs at the edges of what a number holds, read as written.
#   tns-long-values  .tns values of any length are strtod's reading of the whole token (a
#                    100-digit value, 1 followed by 70 zeros, a subnormal, one below the
#                    smallest double), converted to HDF5 bit for bit
#   info-huge-index  info on a .tns whose mode 2 has 2e9 indices (three entries) ends within
#                    seconds: nothing is sized by a mode's length
#   info-long-mode   info on a mode longer than 2^32 counts its slices with entries
#   coo-float-dims   a COO group whose dims are floats holding integers (as MATLAB writes
#                    them) is read with those dims
. "$(dirname "$0")/lib.sh"
set -e
case $1 in
tns-long-values)
  long=9.99999999999999945153271454209571651729503702787392447107715776066783064379706047475337982177734375E-21
  printf '1 1 1 %s\n2 2 2 1%070d\n1 2 1 4.9e-324\n2 1 2 1e-400\n' "$long" 0 >v.tns
  dtfrun 2 convert v.tns v.h5:/T -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "convert v.tns"; }
  "$PYTHON" - "$long" <<'PY'
import sys, h5py
got = h5py.File("v.h5")["T/values"][...].tolist()
want = [float(sys.argv[1]), float("1" + "0" * 70), 4.9e-324, 0.0]
assert got == want, (got, want)
PY
  ;;
info-huge-index | info-long-mode)
  [ "$1" = info-huge-index ] && i=2000000000 || i=4294967298
  printf '1 1 1 1.0\n2 %s 1 2.0\n2 %s 1 0.5\n' "$i" "$((i - 1))" >h.tns
  DTF_RUN_TIMEOUT=30 dtfrun 2 info h.tns
  cat out.txt
  [ "$RC" -eq 0 ] || { cat err.txt; fail "info h.tns"; }
  grep -q "^mode 2: $i slices, 3 with entries; entries per slice max 1," out.txt || fail "mode 2's slices"
  grep -q "^mode 1: 2 slices, 2 with entries; entries per slice max 2," out.txt || fail "mode 1's slices"
  ;;
coo-float-dims)
  "$PYTHON" - <<'PY'
import h5py, numpy as np
with h5py.File("f.h5", "w") as f:
    g = f.create_group("T")
    g.attrs["dims"] = np.array([4.0, 3.0, 2.0])
    g["indices"] = np.array([[0, 0, 0], [3, 2, 1]], dtype=np.uint64)
    g["values"] = np.array([1.0, 2.0])
PY
  dtfrun 2 info f.h5:/T
  [ "$RC" -eq 0 ] || { cat err.txt; fail "info f.h5:/T"; }
  grep -q "sparse, dims 4x3x2, 2 entries" out.txt || { cat out.txt; fail "dims"; }
  ;;
*) fail "unknown case '$1'" ;;
esac
echo "ok: $1"

#!/usr/bin/env bash
# same_fit.sh INPUT_A INPUT_B RANK: dtf cp gives the same fit (relative 1e-9) on two
# inputs holding the same tensor (sparse COO and dense), on 3 ranks.
. "$(dirname "$0")/lib.sh"
set -e
dtfrun 3 cp "$1" -r "$3" -i 30 --tol 0 --json a.json -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "cp $1"; }
dtfrun 3 cp "$2" -r "$3" -i 30 --tol 0 --json b.json -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "cp $2"; }
a=$(json_get a.json fit) b=$(json_get b.json fit)
echo "fits $a $b"
"$PYTHON" -c "import sys; a,b=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b) <= 1e-9*abs(b) else 1)" "$a" "$b" \
  || fail "fits differ: $a and $b"
echo ok

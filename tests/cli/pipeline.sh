#!/usr/bin/env bash
# generate -> cp -> eval -> info on 2 ranks, checking each step's output.
. "$(dirname "$0")/lib.sh"
set -e
dtfrun 2 generate -o x.h5 --dims 30x20x10 --rank 3 --noise 0.01 --seed 4 --truth truth.h5 --json gen.json
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate exit $RC"; }
grep -q 'wrote x.h5:/X 30x20x10' out.txt || fail "generate output: $(cat out.txt)"
[ "$(json_get gen.json dims)" = "[30, 20, 10]" ] || fail "generate dims"

dtfrun 2 cp x.h5 -r 3 -i 100 --tol 1e-8 -o model.h5 --json cp.json
[ "$RC" -eq 0 ] || { cat err.txt; fail "cp exit $RC"; }
grep -Eq '^iter 1 +fit [0-9.]+  delta [0-9.e+-]+  [0-9]+\.[0-9]{4} s  comm [0-9.]+ k?B$' err.txt || fail "no progress line: $(head -5 err.txt)"
fit=$(json_get cp.json fit)
for k in command ranks grid dims rank iterations fit converged time_total_s time_per_iter_s \
         comm_bytes_per_iter peak_rss_bytes_max; do
  json_get cp.json $k >/dev/null || fail "summary lacks $k"
done
# noise 1%: a rank-3 model fits to about 0.99
"$PYTHON" -c "import sys; f=float(sys.argv[1]); sys.exit(0 if 0.985 < f < 0.995 else 1)" "$fit" || fail "fit $fit"

dtfrun 3 eval model.h5 x.h5 --json eval.json
[ "$RC" -eq 0 ] || { cat err.txt; fail "eval exit $RC"; }
"$PYTHON" -c "import sys; a,b=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b) < 1e-9 else 1)" \
  "$(json_get eval.json fit)" "$fit" || fail "eval fit $(json_get eval.json fit) != cp fit $fit"
dtfrun 1 eval truth.h5 x.h5
# the planted model leaves exactly the 1% noise
"$PYTHON" -c "import sys; f=float(sys.argv[1].split()[1]); sys.exit(0 if 0.985 < f < 0.995 else 1)" \
  "$(cat out.txt)" || fail "truth fit: $(cat out.txt)"

dtfrun 2 info x.h5
[ "$RC" -eq 0 ] || fail "info exit $RC"
grep -q 'dense float64, dims 30x20x10, 6000 entries' out.txt || fail "info: $(cat out.txt)"
grep -q 'non-finite 0' out.txt || fail "info stats: $(cat out.txt)"
dtfrun 1 info model.h5
grep -q 'model.h5: cp model, dims 30x20x10, rank 3, fit 0.9' out.txt || fail "model info: $(cat out.txt)"
dtfrun 1 --version
grep -Eq '^dtf [0-9]+\.[0-9]+\.[0-9]+$' out.txt || fail "version: $(cat out.txt)"
for c in generate cp eval info; do
  dtfrun 1 $c --help
  [ "$RC" -eq 0 ] && grep -q "usage: mpirun -np N dtf $c" out.txt || fail "$c --help"
done
# no temporary file survives a successful run
[ -z "$(ls | grep dtf-tmp || true)" ] || fail "temporary files left"
echo ok

#!/usr/bin/env bash
# outputs.sh: outputs never destroy a file. Links to inputs, files holding other data,
# names too long for their temporary and stale temporaries are dealt with before any
# work; two runs writing one output do not mix; names with colons (a file-system prefix
# to ROMIO) are read and written. What every output does with every kind of existing
# name is tests/cli/output_table.sh.
. "$(dirname "$0")/lib.sh"
set -e
np=2
dtfrun $np generate -o in.h5 --dims 30x20x10 --rank 3 --noise 0.05 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate"; }

# expect CODE REGEX ARGS...: exit CODE, one error matching REGEX, no computation started
expect() {
  local code=$1 regex=$2
  shift 2
  dtfrun $np "$@"
  [ "$RC" -eq "$code" ] || { cat err.txt; fail "$*: exit $RC, expected $code"; }
  grep -Eq -- "$regex" err.txt || { cat err.txt; fail "$*: stderr does not match /$regex/"; }
  ! grep -Eq '^(read|iter|generate) ' err.txt || { cat err.txt; fail "$*: work started before the check"; }
  echo "ok: $*"
}
h5sum() { "$PYTHON" -c 'import h5py,sys,hashlib; f=h5py.File(sys.argv[1]); print(hashlib.sha1(f["X"][...].tobytes()).hexdigest())' "$1"; }
before=$(h5sum in.h5)

# links that lead back to the input
ln -s in.h5 sym.h5
expect 1 "--output 'sym.h5' is the input file 'in.h5' \(through a symbolic link\)" cp in.h5 -r 2 -o sym.h5
ln in.h5 hard.h5
expect 1 "--output 'hard.h5' is the input file 'in.h5' \(through a hard link\)" cp in.h5 -r 2 -o hard.h5
expect 1 "--json 'hard.h5' is the input file 'in.h5' \(through a hard link\)" cp in.h5 -r 2 --json hard.h5
[ "$(h5sum in.h5)" = "$before" ] || fail "the input changed"
rm hard.h5

# an existing HDF5 file: replaced if it holds only what is written there, else refused
dtfrun $np generate -o in.h5 --dims 30x20x10 --rank 3 --noise 0.05 -q --seed 1
[ "$RC" -eq 0 ] || { cat err.txt; fail "regenerating the same tensor file"; }
"$PYTHON" -c 'import h5py; f=h5py.File("keep.h5","w"); f["X"]=[1.0]; f["mine/Y"]=[2.0]'
expect 4 "--output 'keep.h5' already holds other data \('/mine'" generate -o keep.h5 --dims 4x4 --rank 1
dtfrun $np generate -o g.tns --dims 4x4x2 --rank 1 --nnz 5 -q
expect 4 "OUT 'keep.h5' already holds other data \('/X', '/mine'\)" convert g.tns keep.h5:/T
dtfrun $np generate -o keep.h5 --dims 4x4 --rank 1 --force -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "--force"; }
"$PYTHON" -c 'import h5py; f=h5py.File("keep.h5"); assert list(f) == ["X"] and f["X"].shape == (4, 4)'
rm keep.h5

# names too long for the temporary
long=$(printf 'n%.0s' $(seq 240)).h5
expect 4 "its file name has 243 characters; dtf writes it first under a temporary name 26 characters longer" \
  cp in.h5 -r 2 -o "$long"

# a stale temporary of another user: named in a warning, left alone, the run succeeds
stale=.m.h5.0123456789abcdef.dtf-tmp
echo partial >"$stale"
chown 65534 "$stale" 2>/dev/null || true
dtfrun $np cp in.h5 -r 2 -o m.h5 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "a stale temporary blocked the run"; }
grep -q "warning: '\./$stale' (8 B, owner uid [0-9]*) is the temporary of a run writing 'm.h5' that did not finish" err.txt \
  || { cat err.txt; fail "no warning about the stale temporary"; }
[ -f "$stale" ] || fail "the stale temporary was removed"
rm -f "$stale" m.h5

# two runs writing the same output at once: each writes its own temporary; the result is
# one complete run's file, never a mix
dtfrun 2 generate -o ref1.h5 --dims 60x50x40 --rank 3 --seed 1 -q
dtfrun 2 generate -o ref2.h5 --dims 60x50x40 --rank 3 --seed 2 -q
pids=()
for s in 1 2; do
  # two mpiruns at once need their own session directories (tests/isolate.sh)
  TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/r$s.XXXX") \
    timeout 120 "$MPIEXEC" --oversubscribe -np 2 "$DTF" generate -o both.h5 --dims 60x50x40 --rank 3 --seed $s -q \
    >"run$s.out" 2>"run$s.err" &
  pids+=($!)
done
wait "${pids[0]}" && wait "${pids[1]}" || { cat run1.err run2.err; fail "concurrent writers"; }
got=$(h5sum both.h5)
[ "$got" = "$(h5sum ref1.h5)" ] || [ "$got" = "$(h5sum ref2.h5)" ] || fail "concurrent writers mixed their data"
[ -z "$(ls -A | grep dtf-tmp || true)" ] || fail "temporaries left: $(ls -A | grep dtf-tmp)"

# names with a colon, which ROMIO would read as a file-system prefix
dtfrun $np generate -o "a:b.h5" --dims 20x10x5 --rank 2 -q
[ "$RC" -eq 0 ] && [ -s "a:b.h5" ] || { cat err.txt; fail "writing a:b.h5"; }
dtfrun $np cp "a:b.h5" -r 2 -o "m:1.h5" --checkpoint "c:1.h5" --checkpoint-every 2 -q
[ "$RC" -eq 0 ] && [ -s "m:1.h5" ] || { cat err.txt; fail "cp a:b.h5 -o m:1.h5"; }
dtfrun $np generate -o "s:1.tns" --dims 20x10x5 --rank 2 --nnz 200 -q
dtfrun $np convert "s:1.tns" "s:2.h5:/T"
[ "$RC" -eq 0 ] && [ -s "s:2.h5" ] || { cat err.txt; fail "convert s:1.tns s:2.h5:/T"; }
dtfrun $np eval "m:1.h5" "a:b.h5" -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "eval m:1.h5 a:b.h5"; }
echo ok

#!/usr/bin/env bash
# resume_refusals.sh: --resume refuses a checkpoint that belongs to another run, naming
# what differs, before any iteration; the checkpoint itself is left as it was.
. "$(dirname "$0")/lib.sh"
set -e
dtfrun 2 generate -o x.h5 --dims 30x20x10 --rank 3 --noise 0.05 --seed 1 -q
dtfrun 2 generate -o y.h5 --dims 30x20x10 --rank 3 --noise 0.05 --seed 2 -q
dtfrun 2 generate -o z.h5 --dims 30x20x11 --rank 3 --seed 1 -q
dtfrun 2 generate -o s.h5:/T --dims 30x20x10 --rank 3 --nnz 1200 --seed 1 -q
dtfrun 2 cp x.h5 -r 3 -i 10 --tol 0 --checkpoint ck.h5 --checkpoint-every 10 -q
dtfrun 2 cp s.h5:/T -r 3 -i 10 --tol 0 --checkpoint cks.h5 --checkpoint-every 10 -q
[ "$RC" -eq 0 ] && [ -s ck.h5 ] && [ -s cks.h5 ] || { cat err.txt; fail "setup"; }
sum=$(sha1sum ck.h5 cks.h5)

refuse() { # REGEX ARGS...
  local regex=$1
  shift
  dtfrun 2 "$@"
  [ "$RC" -eq 2 ] || { cat err.txt; fail "$*: exit $RC, expected 2"; }
  grep -Eq -- "$regex" err.txt || { cat err.txt; fail "$*: stderr does not match /$regex/"; }
  ! grep -q '^iter' err.txt || fail "$*: iterated before refusing"
  echo "ok: $*"
}
refuse "checkpoint 'ck.h5' was made from another input of the same shape: its \|\|X\|\| is" \
  cp y.h5 -r 3 -i 20 --checkpoint ck.h5 --resume
refuse "checkpoint 'ck.h5' was made for a 30x20x10 tensor; this input is 30x20x11" \
  cp z.h5 -r 3 -i 20 --checkpoint ck.h5 --resume
refuse "checkpoint 'ck.h5' was made with --rank 3; this run has --rank 4" cp x.h5 -r 4 -i 20 --checkpoint ck.h5 --resume
refuse "checkpoint 'ck.h5' was made with --seed 0; this run has --seed 5" \
  cp x.h5 -r 3 -i 20 --seed 5 --checkpoint ck.h5 --resume
refuse "checkpoint 'cks.h5' was made with no --permute; this run has --permute \(seed 0\)" \
  cp s.h5:/T -r 3 -i 20 --permute --checkpoint cks.h5 --resume
refuse "the checkpoint is at iteration 10; this run allows 5 \(-i\)" cp x.h5 -r 3 -i 5 --checkpoint ck.h5 --resume
[ "$(sha1sum ck.h5 cks.h5)" = "$sum" ] || fail "a refused resume changed a checkpoint"
cp ck.h5 other.h5
"$PYTHON" -c 'import h5py; f = h5py.File("other.h5", "r+"); del f.attrs["solver"]; f.attrs["solver"] = "tr-als"'
refuse "checkpoint 'other.h5' is a tr-als checkpoint; this run is cp-als" cp x.h5 -r 3 -i 20 --checkpoint other.h5 --resume
# the same input at another number of ranks, and the dense copy of a sparse input, resume
dtfrun 3 cp x.h5 -r 3 -i 20 --tol 0 --checkpoint ck.h5 --resume
[ "$RC" -eq 0 ] && grep -q "resumed from ck.h5 at iteration 10" err.txt || { cat err.txt; fail "resume on 3 ranks"; }
echo ok

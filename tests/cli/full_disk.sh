#!/usr/bin/env bash
# full_disk.sh: every writer on a full file system (a small tmpfs), at 1, 2 and 3 ranks:
# all ranks agree, exit 4 naming the space needed, nothing under the final name, no
# temporary left. Needs root to mount the tmpfs; exits 77 (skipped) where that fails.
. "$(dirname "$0")/lib.sh"
set -e
mkdir disk
if ! mount -t tmpfs -o size=256k tmpfs disk 2>/dev/null; then
  echo "skipped: cannot mount a tmpfs here (needs root)"
  exit 77
fi
trap 'umount "$WORK/disk" 2>/dev/null; rm -rf "$WORK"' EXIT
dtfrun 2 generate -o in.h5 --dims 30x20x10 --rank 3 --noise 0.05 -q
dtfrun 2 generate -o in.tns --dims 30x20x10 --rank 3 --nnz 2000 -q
dtfrun 2 convert in.tns in_coo.h5:/T -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "inputs"; }

# fill the disk, leaving FREE kB
fill() {
  rm -f disk/filler
  local total avail
  avail=$(df --output=avail -k disk | tail -1)
  [ "$avail" -le "$1" ] || dd if=/dev/zero of=disk/filler bs=1k count=$((avail - $1)) status=none 2>/dev/null || true
}

# full FREE REGEX OUTPUT NP ARGS...
full() {
  local free=$1 regex=$2 out=$3 np=$4
  shift 4
  fill "$free"
  dtfrun "$np" "$@"
  [ "$RC" -eq 4 ] || { cat err.txt; fail "$*: exit $RC on a full disk, expected 4"; }
  grep -Eq -- "$regex" err.txt || { cat err.txt; fail "$*: stderr does not match /$regex/"; }
  [ "$(grep -c 'error' err.txt)" -eq 1 ] || { cat err.txt; fail "$*: not one error message"; }
  [ ! -e "disk/$out" ] || fail "$*: $out was left on the full disk"
  left=$(ls -A disk | grep -v '^filler$' || true)
  [ -z "$left" ] || fail "$*: files left on the disk: $left"
  echo "ok ($np ranks, ${free} kB free): $*"
}
space="not enough space to write 'disk/[^']*': it needs about .* and the file system of 'disk' has .* available"
for np in 1 2 3; do
  full 4 "$space" m.h5 $np cp in.h5 -r 3 -o disk/m.h5
  full 4 "$space" ck.h5 $np cp in.h5 -r 3 -i 5 --checkpoint disk/ck.h5 --checkpoint-every 1
  full 4 "$space" x.h5 $np generate -o disk/x.h5 --dims 40x30x20 --rank 2
  full 4 "$space" y.h5 $np generate -o disk/y.h5 --dims 4x4 --rank 1
  full 4 "$space" s.h5 $np generate -o disk/s.h5:/T --dims 30x20x10 --rank 2 --nnz 1000
  full 4 "$space" c.h5 $np convert in.tns disk/c.h5:/T
  full 4 "$space" c.tns $np convert in_coo.h5:/T disk/c.tns
  full 0 "writing 'disk/s.json' failed: No space left on device" s.json $np generate -o g.h5 --dims 4x4 --rank 1 \
    --json disk/s.json
  rm -f g.h5
done
echo ok

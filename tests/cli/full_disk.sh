#!/usr/bin/env bash
# full_disk.sh: writes that fail, on a small tmpfs, at 1 to 3 ranks: every run exits 4
# with one message, within the time limit (a hang fails), without a crash at exit, and
# leaves nothing under the final name and no temporary.
#   - 4 kB free: each writer refused before any work by its size estimate (a JSON
#     summary, which fits, is refused when 0 bytes are free: tests/cli/output_table.sh);
#   - 0 bytes free with the space checks and the reservation skipped (DTF_FAULT=0:0:unreserved,
#     a file system without fallocate whose statvfs says nothing of the quota): the writes
#     themselves fail, inside HDF5's collectives for HDF5 files;
#   - a fault injected at each stage of a write on one rank: the data (write), HDF5's flush
#     and close, the rename.
# Needs root to mount the tmpfs; exits 77 (skipped) where that fails.
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
  local avail
  avail=$(df --output=avail -k disk | tail -1)
  [ "$avail" -le "$1" ] || dd if=/dev/zero of=disk/filler bs=1k count=$((avail - $1)) status=none 2>/dev/null || true
  [ "$(df --output=avail -k disk | tail -1)" -le "$1" ] || fail "could not fill the disk"
}

# failed REGEX OUT NP ARGS...: exit 4, one message matching REGEX, no crash, OUT absent
# (disk/OUT, or OUT in the working directory for the fault stages), nothing else left
failed() {
  local regex=$1 out=$2 np=$3
  shift 3
  dtfrun "$np" "$@"
  [ "$RC" -eq 4 ] || { cat err.txt; fail "$*: exit $RC, expected 4"; }
  grep -Eq -- "$regex" err.txt || { cat err.txt; fail "$*: stderr does not match /$regex/"; }
  [ "$(grep -c '^dtf [a-z]*: error' err.txt)" -eq 1 ] || { cat err.txt; fail "$*: not one error message"; }
  ! grep -q "Signal:" err.txt || { cat err.txt; fail "$*: a rank crashed"; }
  [ ! -e "disk/$out" ] && [ ! -e "$out" ] || fail "$*: $out was left"
  left=$( (ls -A disk; ls -A .) | grep -v -E '^(filler|disk|g\.h5|in\.h5|in\.tns|in_coo\.h5|out\.txt|err\.txt)$' || true)
  [ -z "$left" ] || fail "$*: files left: $left"
  echo "ok ($np ranks): $*"
}

space="not enough space to write 'disk/[^']*': it needs about .* and the file system of 'disk' has .* available"
writers=(
  "m.h5 cp in.h5 -r 3 -i 2 -o disk/m.h5"
  "ck.h5 cp in.h5 -r 3 -i 3 --checkpoint disk/ck.h5 --checkpoint-every 1"
  "x.h5 generate -o disk/x.h5 --dims 40x30x20 --rank 2"
  "s.h5 generate -o disk/s.h5:/T --dims 30x20x10 --rank 2 --nnz 1000"
  "c.h5 convert in.tns disk/c.h5:/T"
  "c.tns convert in_coo.h5:/T disk/c.tns"
)
fill 4
for w in "${writers[@]}"; do
  read -r out args <<<"$w"
  failed "$space" "$out" 2 $args
  rm -f g.h5
done

fill 0
writers+=("s.json generate -o g.h5 --dims 40x30x20 --rank 2 --json disk/s.json")
for np in 1 2 3; do
  for w in "${writers[@]}"; do
    read -r out args <<<"$w"
    DTF_FAULT=0:0:unreserved failed "writing '?disk/$out[^ ]* failed|writing dataset .* of 'disk/$out' failed" \
      "$out" "$np" $args
    rm -f g.h5
  done
done
rm -f disk/filler

# one rank fails at each stage of writing a model, a dense and a sparse tensor
for stage in write flush close rename; do
  rank=2
  [ $stage != rename ] || rank=0 # rank 0 renames
  for w in "m.h5 cp in.h5 -r 3 -i 2 -o m.h5" "x.h5 generate -o x.h5 --dims 40x30x20 --rank 2" \
    "c.h5 convert in.tns c.h5:/T"; do
    read -r out args <<<"$w"
    DTF_FAULT=$rank:1:$stage failed "fault injected|failed inside HDF5|cannot finish writing|cannot rename" "$out" 3 \
      $args
  done
done
echo ok

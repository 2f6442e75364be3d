#!/usr/bin/env bash
# output_table.sh [GROUP]: every output of every subcommand (one row each, below) against
# the existing names it may meet: the run's own earlier output is replaced (exit 0); a
# foreign HDF5 file and a foreign text file are refused (exit 4, one message naming why,
# nothing started, the file unchanged, no temporary left). Rows marked 'all' (one of each
# kind of output: tensor, tns, model, json) also meet a symbolic link to its own output (replaced,
# the link stays), an empty file (replaced), a link to a foreign file, a dangling link, a
# FIFO, a directory, an immutable file, and a read-only, an append-only and a full (0 bytes
# free) directory, all refused: these checks do not depend on the command (io/output.c
# makes them for every output a command registers). A new output or subcommand is
# covered by adding one row. GROUP (1-4) runs a quarter of the rows, so that ctest can
# spread them. Needs root (mounts, chattr); 77 where not.
. "$(dirname "$0")/lib.sh"
set -e
group=${1:-0}
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (tmpfs mounts, chattr)"; exit 77; }
mkdir ro full appendonly
mount -t tmpfs -o ro,size=64k tmpfs ro 2>/dev/null && mount -t tmpfs -o size=64k tmpfs full 2>/dev/null ||
  { echo "skipped: cannot mount a tmpfs here"; exit 77; }
trap 'umount "$WORK/ro" "$WORK/full" 2>/dev/null || true; chattr -R -ia "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
dd if=/dev/zero of=full/filler bs=4k count=64 status=none 2>/dev/null || true
[ "$(df --output=avail -k full | tail -1)" -eq 0 ] || fail "could not fill the tmpfs"
chattr +a appendonly || { echo "skipped: chattr +a fails here"; exit 77; }

# inputs: a dense and a sparse tensor, a CP and a Tucker model
dtfrun 1 generate -o in.h5 --dims 8x7x6 --rank 2 --noise 0.05 -q
dtfrun 1 generate -o in.tns --dims 8x7x6 --rank 2 --nnz 60 -q
dtfrun 1 convert in.tns coo.h5:/T -q
dtfrun 1 cp in.h5 -r 2 -i 3 -o cp.h5 -q
dtfrun 1 tucker in.h5 -r 2 -o tucker.h5 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "inputs"; }
"$PYTHON" -c 'import h5py; h5py.File("foreign.h5", "w")["X"] = [[1.0, 2.0], [3.0, 4.0]]'
printf 'notes that are not dtf output\n' >foreign.txt

# GROUP KIND COLUMNS EXT COMMAND (@ is the output's name without its extension; a
# command's other outputs are named after it, so that they are new wherever it is)
rows=(
  "1 tensor all h5 generate -o @.h5 --dims 5x4x3 --rank 1"
  "2 tns all tns generate -o @.tns --dims 5x4x3 --rank 1 --nnz 9"
  "3 model all h5 generate -o @-g.h5 --dims 5x4x3 --rank 1 --truth @.h5"
  "4 json all json generate -o @-g.h5 --dims 5x4x3 --rank 1 --json @.json"
  "1 model few h5 cp in.h5 -r 2 -i 2 -o @.h5"
  "1 model few h5 cp in.h5 -r 2 -i 2 --checkpoint @.h5 --checkpoint-every 1"
  "1 json few json cp in.tns -r 2 -i 2 --json @.json"
  "2 model few h5 tr in.h5 -r 2 -i 2 -o @.h5"
  "2 model few h5 tr in.h5 -r 2 -i 2 --checkpoint @.h5 --checkpoint-every 1"
  "2 json few json tr in.h5 -r 2 -i 2 --json @.json"
  "2 model few h5 gcp in.h5 -r 2 -i 2 -o @.h5"
  "2 model few h5 gcp in.h5 -r 2 -i 2 --checkpoint @.h5 --checkpoint-every 1"
  "2 json few json gcp in.h5 -r 2 -i 2 --json @.json"
  "2 model few h5 complete in.tns -r 2 -i 2 -o @.h5"
  "3 model few h5 complete in.tns -r 2 -i 2 --checkpoint @.h5 --checkpoint-every 1"
  "3 json few json complete in.tns -r 2 -i 2 --json @.json"
  "3 model few h5 tucker in.h5 -r 2 -o @.h5"
  "3 model few h5 tucker in.h5 -r 2 --method hooi -i 2 --checkpoint @.h5 --checkpoint-every 1"
  "3 json few json tucker in.h5 -r 2 --json @.json"
  "3 tensor few h5 convert in.tns @.h5:/T"
  "3 tns few tns convert coo.h5:/T @.tns"
  "4 json few json convert in.tns @-c.h5:/T --json @.json"
  "4 tns few tns predict cp.h5 --at in.tns -o @.tns"
  "4 tensor few h5 predict cp.h5 --at in.tns -o @.h5:/P"
  "4 json few json predict cp.h5 --at in.tns -o @-p.tns --json @.json"
  "4 tensor few h5 reconstruct tucker.h5 -o @.h5"
  "4 json few json reconstruct tucker.h5 -o @-r.h5 --json @.json"
  "4 json few json eval cp.h5 in.h5 --json @.json"
  "4 json few json info in.h5 --json @.json"
)

sum() { if [ -f "$1" ]; then sha1sum <"$1" | cut -c1-40; else ls -ld "$1" | cut -c1-10; fi; }
leftovers() { find . -name '*dtf-tmp*' -print -quit; }

# refused NAME REGEX ARGS...: exit 4, one message matching REGEX, no work, NAME unchanged
refused() {
  local name=$1 regex=$2
  shift 2
  local before
  before=$(sum "$name")
  dtfrun 1 "$@"
  [ "$RC" -eq 4 ] || { cat err.txt; fail "$*: exit $RC, expected 4"; }
  grep -Eq -- "$regex" err.txt || { cat err.txt; fail "$*: stderr does not match /$regex/"; }
  [ "$(grep -c 'error:' err.txt)" -eq 1 ] || { cat err.txt; fail "$*: not one error message"; }
  ! grep -Eq '^(read|iter|wrote|generate|fit) ' err.txt out.txt || { cat err.txt; fail "$*: work started"; }
  [ "$(sum "$name")" = "$before" ] || fail "$*: $name changed"
  [ -z "$(leftovers)" ] || fail "$*: left $(leftovers)"
}

# replaced NAME ARGS...: exit 0 and NAME is a new file (inode or modification time), no
# temporary left
replaced() {
  local name=$1
  shift
  local id
  id=$(stat -L -c '%i %.9Y' "$name")
  dtfrun 1 "$@"
  [ "$RC" -eq 0 ] || { cat err.txt; fail "$*: exit $RC, expected 0"; }
  [ -s "$name" ] && [ "$(stat -L -c '%i %.9Y' "$name")" != "$id" ] || fail "$*: $name was not replaced"
  [ -z "$(leftovers)" ] || fail "$*: left $(leftovers)"
}

n=0
for row in "${rows[@]}"; do
  read -r g kind cols ext cmd <<<"$row"
  [ "$group" -eq 0 ] || [ "$g" -eq "$group" ] || continue
  n=$((n + 1))
  args() { echo "${cmd//@/$1}"; }
  file() { echo "$1.$ext"; }
  # the run's own output, written anew, then replaced by the same run
  dtfrun 1 $(args o$n)
  [ "$RC" -eq 0 ] || { cat err.txt; fail "$cmd: exit $RC writing a new output"; }
  replaced "$(file o$n)" $(args o$n)
  cp foreign.h5 "$(file fh$n)"
  refused "$(file fh$n)" "exists and|already holds other data" $(args fh$n)
  cp foreign.txt "$(file ft$n)"
  refused "$(file ft$n)" "exists and (is not|is an)" $(args ft$n)
  if [ "$cols" = all ]; then
    ln -s "$(file o$n)" "$(file own$n)"
    replaced "$(file o$n)" $(args own$n)
    [ -L "$(file own$n)" ] || fail "$cmd: the symbolic link to its own output was replaced by a file"
    : >"$(file empty$n)"
    replaced "$(file empty$n)" $(args empty$n)
    ln -s "$(file fh$n)" "$(file lf$n)"
    refused "$(file fh$n)" "exists and|already holds other data" $(args lf$n)
    ln -s nowhere/x "$(file dl$n)"
    refused "$(file dl$n)" "is a symbolic link to 'nowhere/x', which does not exist" $(args dl$n)
    mkfifo "$(file fifo$n)"
    refused "$(file fifo$n)" "it is a FIFO" $(args fifo$n)
    mkdir "$(file dir$n)"
    refused "$(file dir$n)" "it is a directory" $(args dir$n)
    chattr +i "$(file o$n)"
    refused "$(file o$n)" "is immutable" $(args o$n)
    chattr -i "$(file o$n)"
    refused ro "Read-only file system" $(args ro/x$n)
    refused appendonly "directory 'appendonly' is append-only" $(args appendonly/x$n)
    refused full "not enough space to write 'full/x$n" $(args full/x$n)
  fi
  echo "ok: $kind output of: ${cmd//@/OUT}"
done
[ "$n" -gt 0 ] || fail "no rows in group $group"
echo ok

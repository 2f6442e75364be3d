#!/usr/bin/env bash
# bad_input.sh CODE REGEX NP ARGS...: dtf must exit with CODE, print one error matching
# REGEX (extended grep) on stderr, finish within the test's time limit, and leave no file
# behind in its working directory.
. "$(dirname "$0")/lib.sh"
set -e
code=$1 regex=$2 np=$3
shift 3
dtfrun "$np" "$@"
cat err.txt >&2
[ "$RC" -eq "$code" ] || fail "exit code $RC, expected $code"
grep -Eq -- "$regex" err.txt || fail "stderr does not match /$regex/"
[ "$(grep -c 'error:' err.txt)" -le 1 ] || fail "the error was printed more than once"
! grep -q "HDF5-DIAG" err.txt || fail "the HDF5 library's error stack reached the user"
left=$(ls -A | grep -v -E '^(out|err)\.txt$' || true)
[ -z "$left" ] || fail "files left behind: $left"
echo "ok: exit $RC"

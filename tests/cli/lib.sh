# Shared by the CLI test scripts: run dtf under mpirun in a fresh directory, assert.
# Needs DTF (the binary), MPIEXEC, PYTHON (with h5py and numpy) in the environment.
set -u
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dtf-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }

# dtf NP ARGS...: run dtf on NP ranks; stdout to out.txt, stderr to err.txt; sets RC. A run
# longer than DTF_RUN_TIMEOUT seconds (120) fails.
dtfrun() {
  local np=$1; shift
  set +e
  timeout "${DTF_RUN_TIMEOUT:-120}" "$MPIEXEC" --oversubscribe -np "$np" "$DTF" "$@" >out.txt 2>err.txt
  RC=$?
  set -e
  [ "$RC" -ne 124 ] || fail "dtf $* timed out"
  ! grep -q "HDF5-DIAG" err.txt || { cat err.txt; fail "dtf $*: the HDF5 library's error stack reached the user"; }
}

# json_get FILE KEY: print a key of a JSON summary.
json_get() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

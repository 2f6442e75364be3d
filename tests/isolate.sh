#!/usr/bin/env bash
# isolate.sh CMD...: run CMD with a TMPDIR of its own. Open MPI keeps its session
# directory under TMPDIR, and concurrent mpiruns sharing one race to create and remove
# it ("orte_session_dir failed"). The path stays short for PMIx's Unix sockets.
set -u
export TMPDIR=$(mktemp -d /tmp/dtf.XXXXXX)
"$@"
rc=$?
rm -rf "$TMPDIR"
exit $rc

#!/usr/bin/env bash
# The quick start: build dtf (installing what is missing), generate an example tensor on
# 2 ranks, and factor it with CP-ALS on 2 ranks, printing progress and the result.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/mpi-env.sh
scripts/build.sh
mkdir -p demo
DTF=build/dtf
echo "== mpirun -np 2 dtf generate -o demo/example.h5 --dims 200x150x100 --rank 8 --noise 0.05"
mpirun -np 2 "$DTF" generate -o demo/example.h5 --dims 200x150x100 --rank 8 --noise 0.05 --truth demo/truth.h5
echo "== mpirun -np 2 dtf cp demo/example.h5 -r 8 -o demo/model.h5"
mpirun -np 2 "$DTF" cp demo/example.h5 -r 8 -o demo/model.h5 --json demo/summary.json
echo "== mpirun -np 2 dtf eval demo/truth.h5 demo/example.h5   (the planted model: 5% noise)"
mpirun -np 2 "$DTF" eval demo/truth.h5 demo/example.h5 -q
echo "model: demo/model.h5   summary: demo/summary.json"

#!/usr/bin/env bash
# Compressed gradient exchanges of dtf gcp, on planted problems at NP ranks:
#   1. for every compressor, the bytes sent (per rank) until the loss is within 1% of the
#      uncompressed run's final loss, with the epochs and seconds it took;
#   2. Adan, Adam and SGD with the same compressor: epochs to the same loss;
#   3. GCP (gaussian loss) against dtf cp (CP-ALS) on the same tensor: time to the same fit.
#
#   bench/compare_gcp.sh [BUILD_DIR]
#
# Environment: NP (4), EPOCHS (150: the compressed runs' limit; the uncompressed run makes
# EPOCHS / 3), COMPRESSORS ("auto core topk qsgd powersgd core:16 core:64 topk:0.05 qsgd:4": bare
# kinds adapt their budget), NET (1Gb:5us: part 1 runs under --net-model NET, so its
# seconds are those of that network; "" for none), SEEDS ("0 1 2 3 4": the starts of part 3),
# WORK (/tmp/dtf-bench-gcp).
# Dense problem: `dtf generate` 120x100x80,
# rank 5, noise 0.05, a rank-5 GCP with 5000 entries a step, 50 steps an epoch, Adam, the
# step size found by the run (no --lr). Sparse problem: 2000x1500x1000 with 500000 stored entries, rank 5, 4000 entries
# a step (half stored, half not). Output: tables on stdout, gcp_bytes.csv and, where
# matplotlib is installed, gcp_loss_bytes.png (loss against bytes sent).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
NP=${NP:-4} EPOCHS=${EPOCHS:-150}
COMPRESSORS=${COMPRESSORS:-auto core topk qsgd powersgd core:16 core:64 topk:0.05 qsgd:4}
NET=${NET-1Gb:5us}
SEEDS=${SEEDS:-0 1 2 3 4}
WORK=${WORK:-/tmp/dtf-bench-gcp}
. "$(dirname "$0")/../scripts/mpi-env.sh"
mkdir -p "$WORK" && cd "$WORK"
D="$BUILD/dtf"
[ -s dense.h5 ] || mpirun -np "$NP" "$D" generate -o dense.h5 --dims 120x100x80 --rank 5 --noise 0.05 --seed 1 -q
[ -s sparse.h5 ] || mpirun -np "$NP" "$D" generate -o sparse.h5 --dims 2000x1500x1000 --rank 5 --nnz 500000 \
  --noise 0.05 --seed 1 -q
run() { # run NAME INPUT SAMPLE EPOCHS ARGS...
  local name=$1 input=$2 sample=$3 epochs=$4
  shift 4
  mpirun -np "$NP" "$D" gcp "$input" -r 5 -i "$epochs" --tol 0 --sample "$sample" --steps 50 \
    ${NET:+--net-model "$NET"} --json "$name.json" -q "$@" >/dev/null 2>&1
}
for problem in dense sparse; do
  sample=5000
  [ $problem = sparse ] && sample=4000
  run "$problem-none" $problem.h5 $sample $((EPOCHS / 3))
  for c in $COMPRESSORS; do run "$problem-$c" $problem.h5 $sample "$EPOCHS" --compress "$c"; done
done
for o in sgd adam adan; do
  lr=0.01
  [ $o = sgd ] && lr=0.1 # the best of 0.003-0.3 for SGD with momentum here
  mpirun -np "$NP" "$D" gcp dense.h5 -r 5 -i "$EPOCHS" --tol 0 --sample 5000 --steps 50 --lr $lr --optimizer $o \
    --compress topk:0.05 --json "opt-$o.json" -q >/dev/null 2>&1
done
for seed in $SEEDS; do # both from the same starts: CP-ALS, and GCP as in the tables (sampled, Adam)
  mpirun -np "$NP" "$D" cp dense.h5 -r 5 -i 60 --tol 0 --seed "$seed" --json "cp-$seed.json" -q >/dev/null 2>&1
  NET= run "gcp-$seed" dense.h5 5000 50 --seed "$seed"
done
/usr/bin/python3 - "$COMPRESSORS" "$NP" "$SEEDS" "$NET" <<'PY'
import json, statistics, sys
comps, NP, seeds, net = sys.argv[1].split(), sys.argv[2], sys.argv[3].split(), sys.argv[4]
rows = []
with open("gcp_bytes.csv", "w") as csv:
    csv.write("problem,compressor,epoch,loss,bytes\n")
    for problem in ("dense", "sparse"):
        base = json.load(open(f"{problem}-none.json"))
        target = 1.01 * base["loss"]
        print(f"\n{problem}: uncompressed final loss {base['loss']:.6g} after {base['iterations']} epochs; target {target:.6g} (NP={NP}, network {net or 'none'})")
        print("| compressor | budget at the end | bytes/epoch/rank | epochs to target | bytes to target | vs none | seconds to target | vs none |")
        print("|---|---|---|---|---|---|---|---|")
        ref = tref = None
        for c in ["none"] + comps:
            d = json.load(open(f"{problem}-{c}.json"))
            per = d["comm_bytes_per_iter"]
            for e, (l, b) in enumerate(zip(d["loss_history"], d["bytes_history"])):
                csv.write(f"{problem},{c},{e + 1},{l},{b}\n")
            hit = next((e for e, l in enumerate(d["loss_history"]) if l <= target), None)
            budget = d.get("budget", "")
            if hit is None:
                print(f"| {c} | {budget} | {per / 1e3:.1f} kB | not in {d['iterations']} (final {d['loss']:.4g}) | | | | |")
                continue
            b = d["bytes_history"][hit]
            secs = d["time_per_iter_s"] * (hit + 1)
            if c == "none": ref, tref = b, secs
            print(f"| {c} | {budget} | {per / 1e3:.1f} kB | {hit + 1} | {b / 1e6:.2f} MB | {ref / b:.1f}x fewer | {secs:.2f} | {secs / tref:.2f} |")
print("\noptimizers, topk:0.05, dense: epochs to a loss")
opts = {o: json.load(open(f"opt-{o}.json")) for o in ("sgd", "adam", "adan")}
best = min(min(d["loss_history"]) for d in opts.values())
levels = (2.0, 0.5, 1.01 * best)
print("| optimizer | final loss | " + " | ".join(f"epochs to {t:.4g}" for t in levels) + " |")
print("|---|---|" + "---|" * len(levels))
for o, d in opts.items():
    hits = [next((str(e + 1) for e, l in enumerate(d["loss_history"]) if l <= t), "never") for t in levels]
    print(f"| {o} | {d['loss']:.4g} | " + " | ".join(hits) + " |")
runs = {s: (json.load(open(f"cp-{s}.json")), json.load(open(f"gcp-{s}.json"))) for s in seeds}
target = max(max(c["fit_history"][-1], max(g["fit_history"])) for c, g in runs.values()) - 1e-3
print(f"\nCP-ALS against GCP (gaussian, sampled, Adam), dense, seconds to fit {target:.4f}")
print("| seed | CP-ALS | GCP | CP-ALS final fit | GCP final fit |")
print("|---|---|---|---|---|")
tcs, tgs = [], []
def reach(d):
    i = next((i + 1 for i, f in enumerate(d["fit_history"]) if f >= target), None)
    return i * d["time_per_iter_s"] if i else None
for s, (c, g) in runs.items():
    tc, tg = reach(c), reach(g)
    tcs += [tc] if tc else []
    tgs += [tg] if tg else []
    fmt = lambda t: f"{t:.3f} s" if t else "never"
    print(f"| {s} | {fmt(tc)} | {fmt(tg)} | {c['fit_history'][-1]:.4f} | {g['fit_history'][-1]:.4f} |")
if tcs and tgs:
    print(f"medians over the seeds that reach it: CP-ALS {statistics.median(tcs):.3f} s ({len(tcs)}/{len(seeds)}), "
          f"GCP {statistics.median(tgs):.3f} s ({len(tgs)}/{len(seeds)}), ratio {statistics.median(tgs) / statistics.median(tcs):.1f}")
PY
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  /usr/bin/python3 - <<'PY'
import csv, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
data = {}
for r in csv.DictReader(open("gcp_bytes.csv")):
    data.setdefault((r["problem"], r["compressor"]), []).append((float(r["bytes"]), float(r["loss"])))
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for ax, problem in zip(axes, ("dense", "sparse")):
    for (p, c), pts in sorted(data.items()):
        if p != problem: continue
        ax.plot([b / 1e6 for b, _ in pts], [l for _, l in pts], label=c, lw=2 if c == "none" else 1)
    ax.set_xscale("log"); ax.set_yscale("log"); ax.set_xlabel("MB sent per rank"); ax.set_ylabel("loss estimate")
    ax.set_title(f"GCP {problem}, 4 ranks"); ax.grid(alpha=0.3)
axes[0].legend(fontsize=7)
fig.tight_layout(); fig.savefig("gcp_loss_bytes.png", dpi=110)
print("plot: gcp_loss_bytes.png")
PY
fi

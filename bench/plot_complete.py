"""Plot test (dtf) or validation (SPLATT) RMSE against solve time from the curves.csv of
bench/compare_complete.sh: python3 bench/plot_complete.py curves.csv out.png
Needs Debian's python3-matplotlib (apt-get install python3-matplotlib)."""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

runs = defaultdict(lambda: ([], []))
with open(sys.argv[1]) as f:
    for row in csv.DictReader(f):
        t, r = runs[row["run"]]
        t.append(float(row["seconds"]))
        r.append(float(row["rmse"]))
fig, ax = plt.subplots(figsize=(7, 4.5))
for name, (t, r) in runs.items():
    ax.plot(t, r, marker="o", markersize=3, label=name + (" (validation)" if name.startswith("splatt") else ""))
ax.set_xlabel("solve time (s), 2 ranks / 2 threads")
ax.set_ylabel("RMSE on held-out entries")
ax.set_yscale("log")
ax.set_title("Completion of a planted rank-10 tensor, 20 M train entries")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)

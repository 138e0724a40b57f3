"""Draws each query question's p50 latency against the number of records, one line per engine,
from the results.json files bench/query.sh leaves in bench/out/query-*-release*/.

Usage: .venv/bin/python bench/plot_query.py [OUT_PNG]   (default docs/query-scaling.png)
"""

import glob
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "docs", "query-scaling.png")
runs = []
for path in glob.glob(os.path.join(root, "bench", "out", "query-*-release*", "results.json")):
    with open(path) as f:
        runs.append(json.load(f))
if not runs:
    sys.exit("no bench/out/query-*-release*/results.json: run bench/query.sh first")
runs.sort(key=lambda r: r["records"])
questions = list(runs[-1]["questions"])
engines = ["hydrant", "tantivy", "opensearch", "clickhouse", "duckdb"]
cols = 3
rows = math.ceil(len(questions) / cols)
fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
for ax, q in zip(axes.flat, questions):
    for engine in engines:
        points = [
            (r["records"], r["questions"][q][engine][0])
            for r in runs
            if q in r["questions"] and not math.isnan(r["questions"][q][engine][0] or math.nan)
        ]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", label=engine, linewidth=2 if engine == "hydrant" else 1)
    ax.set_title(q, fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("records")
    ax.set_ylabel("p50 ms")
    ax.grid(True, which="both", alpha=0.3)
for ax in list(axes.flat)[len(questions):]:
    ax.axis("off")
axes[0][0].legend(fontsize=8)
fig.suptitle("bench/query.sh: p50 latency against records (log-log)")
fig.tight_layout()
fig.savefig(out, dpi=90)
print(f"wrote {out} from {len(runs)} runs: {[r['records'] for r in runs]}")

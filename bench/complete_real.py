#!/usr/bin/python3
"""Helper of bench/compare_complete_real.sh: splits, baselines, metrics and the report.

Subcommands (all paths are directories or files the shell script names):
  split      make one seeded split of a real tensor's observed cells: train.h5 (dense, NaN on
             held-out and missing cells), test.h5 (dense, only the test cells observed),
             coords.h5:/C (the test cells as a COO group, for `dtf predict --at`), split.npz
  baselines  fit the training mean, the bias-only model and (bernoulli) the degree score on
             train.h5, score them on the test cells, one result JSON each
  score      score one dtf run: its predictions (pred.h5 from `dtf predict`), its --json
             summary and its exit status, into one result JSON
  report     gather every result JSON under WORK into markdown tables and a summary

Every metric is computed here from predictions, the same way for every row: test RMSE for
gaussian and poisson (the predicted mean or rate against the observed value), test AUC for
bernoulli (the predicted probability; tied scores count half).
Needs numpy and h5py only (Debian's /usr/bin/python3).
"""
import argparse
import glob
import json
import os
import sys
import time
import zlib

import h5py
import numpy as np

CONSTANT_RTOL = 1e-12  # predictions whose spread is below this times their size are constant
AGREE_RTOL = 1e-6  # dtf's JSON metric and the metric of its predictions must agree to this


# ---------------------------------------------------------------------------------- metrics
def auc(y, s):
    """Area under the ROC curve of scores s for labels y (0/1); tied scores count half."""
    y = np.asarray(y) > 0.5
    s = np.asarray(s, dtype=np.float64)
    npos = int(y.sum())
    nneg = y.size - npos
    if npos == 0 or nneg == 0:
        return float("nan")
    _, inv, cnt = np.unique(s, return_inverse=True, return_counts=True)
    start = np.cumsum(cnt) - cnt  # 0-based rank of each distinct score's first element
    avg_rank = start + (cnt + 1) / 2.0  # 1-based mean rank of the ties
    r = avg_rank[inv]
    return float((r[y].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def rmse(y, p):
    return float(np.sqrt(np.mean((np.asarray(p, dtype=np.float64) - y) ** 2)))


def metric_name(likelihood):
    return "auc" if likelihood == "bernoulli" else "rmse"


def metric(likelihood, y, p):
    return auc(y, p) if likelihood == "bernoulli" else rmse(y, p)


def is_constant(p):
    p = np.asarray(p, dtype=np.float64)
    if p.size == 0 or not np.all(np.isfinite(p)):
        return False
    return float(np.ptp(p)) <= CONSTANT_RTOL * max(float(np.abs(p).max()), 1e-300)


# ---------------------------------------------------------------------------------- split
def load_observed(path):
    """The tensor of a data file with every missing cell as NaN (a /mask marks observed)."""
    with h5py.File(path, "r") as f:
        x = np.array(f["X"][...], dtype=np.float64)
        if "mask" in f:
            x[np.asarray(f["mask"][...]) == 0] = np.nan
    return x


def write_dense(path, x):
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=x)


def cmd_split(a):
    x = load_observed(os.path.join(a.data, a.name + ".h5"))
    obs = np.flatnonzero(~np.isnan(x.ravel()))  # linear indices of the observed cells
    # The split depends on the data set, regime and seed only: both likelihoods of one data
    # set (hangzhou_metro) see the same cells.
    rng = np.random.default_rng([zlib.crc32(a.name.encode()), a.regime, a.seed])
    perm = rng.permutation(obs.size)
    ntrain = max(1, int(round(obs.size * a.regime / 100.0)))
    train = np.sort(obs[perm[:ntrain]])
    rest = obs[perm[ntrain:]]
    test = np.sort(rest[: a.test_max]) if rest.size > a.test_max else np.sort(rest)
    os.makedirs(a.out, exist_ok=True)
    flat = x.ravel()
    tr = np.full(x.size, np.nan)
    tr[train] = flat[train]
    te = np.full(x.size, np.nan)
    te[test] = flat[test]
    write_dense(os.path.join(a.out, "train.h5"), tr.reshape(x.shape))
    write_dense(os.path.join(a.out, "test.h5"), te.reshape(x.shape))
    coords = np.stack(np.unravel_index(test, x.shape), axis=1).astype(np.uint64)
    with h5py.File(os.path.join(a.out, "coords.h5"), "w") as f:
        g = f.create_group("C")
        g.attrs["dims"] = np.array(x.shape, dtype=np.uint64)
        g["indices"] = coords
        g["values"] = flat[test]
    np.savez(os.path.join(a.out, "split.npz"), shape=np.array(x.shape), train=train, test=test,
             y_train=flat[train], y_test=flat[test], observed=obs.size)
    print(f"{a.name} regime {a.regime}% seed {a.seed}: {obs.size} observed, {train.size} train, "
          f"{test.size} test" + (f" (a sample of the {rest.size} others)" if rest.size > test.size else ""))


def load_split(d):
    z = np.load(os.path.join(d, "split.npz"))
    return {k: z[k] for k in z.files}


# ---------------------------------------------------------------------------------- baselines
class Design:
    """The one-hot design of the bias-only model: a global offset and one offset per index of
    every mode. Column 0 is the global offset, mode n's offsets follow at off[n]."""

    def __init__(self, shape, lin):
        self.shape = [int(s) for s in shape]
        self.idx = np.unravel_index(lin, self.shape)
        self.off = np.concatenate([[1], 1 + np.cumsum(self.shape)[:-1]]).astype(np.int64)
        self.p = 1 + int(sum(self.shape))

    def eta(self, theta):
        e = np.full(self.idx[0].size, theta[0])
        for n, i in enumerate(self.idx):
            e += theta[self.off[n] + i]
        return e

    def at_w_a(self, w):
        """A^T diag(w) A, by weighted counts of every index and every pair of modes."""
        g = np.zeros((self.p, self.p))
        g[0, 0] = w.sum()
        for n, i in enumerate(self.idx):
            c = np.bincount(i, w, minlength=self.shape[n])
            s = slice(self.off[n], self.off[n] + self.shape[n])
            g[0, s] = c
            g[s, 0] = c
            g[s, s] = np.diag(c)
            for m in range(n + 1, len(self.idx)):
                j = self.idx[m]
                pc = np.bincount(i * self.shape[m] + j, w, minlength=self.shape[n] * self.shape[m])
                pc = pc.reshape(self.shape[n], self.shape[m])
                t = slice(self.off[m], self.off[m] + self.shape[m])
                g[s, t] = pc
                g[t, s] = pc.T
        return g

    def at_v(self, v):
        r = np.zeros(self.p)
        r[0] = v.sum()
        for n, i in enumerate(self.idx):
            r[self.off[n]:self.off[n] + self.shape[n]] = np.bincount(i, v, minlength=self.shape[n])
        return r


def fit_bias(likelihood, shape, lin, y, ridge, iters=50):
    """The bias-only model on the train cells: ridge least squares (gaussian) or Newton steps
    with step halving on the ridge-penalised log-likelihood (bernoulli: logit link; poisson:
    log link). The ridge is on the per-index offsets, not on the global one. Returns theta."""
    d = Design(shape, lin)
    pen = np.full(d.p, ridge)
    pen[0] = 0.0
    if likelihood == "gaussian":
        return np.linalg.solve(d.at_w_a(np.ones(y.size)) + np.diag(pen), d.at_v(y)), d

    def objective(th):  # penalised log-likelihood (up to constants)
        e = d.eta(th)
        if likelihood == "bernoulli":
            ll = np.sum(y * e - np.logaddexp(0.0, e))
        else:
            ll = np.sum(y * e - np.exp(e))
        return ll - 0.5 * np.sum(pen * th * th)

    theta = np.zeros(d.p)
    m = float(np.mean(y))
    if likelihood == "bernoulli":
        m = min(max(m, 1e-6), 1 - 1e-6)
        theta[0] = np.log(m / (1 - m))
    else:
        theta[0] = np.log(max(m, 1e-6))
    f = objective(theta)
    for _ in range(iters):
        e = d.eta(theta)
        if likelihood == "bernoulli":
            mu = 1.0 / (1.0 + np.exp(-e))
            w = mu * (1.0 - mu)
        else:
            mu = np.exp(e)
            w = mu
        grad = d.at_v(y - mu) - pen * theta
        hess = d.at_w_a(w) + np.diag(pen) + 1e-10 * np.eye(d.p)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-8:
            cand = theta + t * step
            fc = objective(cand)
            if np.isfinite(fc) and fc >= f - 1e-12 * abs(f):
                break
            t *= 0.5
        if t <= 1e-8:
            break
        theta, fold, f = cand, f, fc
        if abs(f - fold) <= 1e-10 * max(1.0, abs(f)):
            break
    return theta, d


def predict_bias(likelihood, theta, shape, lin):
    e = Design(shape, lin).eta(theta)
    if likelihood == "bernoulli":
        return 1.0 / (1.0 + np.exp(-e))
    if likelihood == "poisson":
        return np.exp(e)
    return e


def degree_score(shape, train_lin, y_train, test_lin):
    """Sum over the modes of log(1 + the index's number of training positives)."""
    pos = train_lin[y_train > 0.5]
    pi = np.unravel_index(pos, shape)
    ti = np.unravel_index(test_lin, shape)
    s = np.zeros(test_lin.size)
    for n in range(len(shape)):
        s += np.log1p(np.bincount(pi[n], minlength=shape[n])[ti[n]])
    return s


def write_result(path, r):
    with open(path + ".tmp", "w") as f:
        json.dump(r, f, indent=1)
    os.replace(path + ".tmp", path)


def base_record(a, sp):
    return {"case": a.case, "data": a.name, "likelihood": a.likelihood, "regime": a.regime,
            "seed": a.seed, "train_entries": int(sp["train"].size),
            "test_entries": int(sp["test"].size), "observed": int(sp["observed"])}


def cmd_baselines(a):
    sp = load_split(a.split)
    shape = tuple(int(s) for s in sp["shape"])
    y, yt = sp["y_train"], sp["y_test"]
    os.makedirs(a.out, exist_ok=True)
    rows = []
    t0 = time.perf_counter()
    rows.append(("baseline: training mean", np.full(yt.size, float(np.mean(y))), time.perf_counter() - t0))
    t0 = time.perf_counter()
    theta, _ = fit_bias(a.likelihood, shape, sp["train"], y, a.ridge)
    rows.append(("baseline: bias only", predict_bias(a.likelihood, theta, shape, sp["test"]),
                 time.perf_counter() - t0))
    if a.likelihood == "bernoulli":
        t0 = time.perf_counter()
        rows.append(("baseline: degree score", degree_score(shape, sp["train"], y, sp["test"]),
                     time.perf_counter() - t0))
    for k, (label, p, secs) in enumerate(rows):
        r = base_record(a, sp)
        r.update({"config": label, "order": 100 + k, "kind": "baseline", "ok": True,
                  "metric": metric_name(a.likelihood), "value": metric(a.likelihood, yt, p),
                  "constant": is_constant(p), "collapsed": False,
                  "seconds": secs, "effective_rank": None})
        write_result(os.path.join(a.out, f"baseline{k}.json"), r)


# ---------------------------------------------------------------------------------- score
def read_predictions(path, shape, test_lin):
    """dtf predict's COO output (rows grouped by rank) in the order of the test cells."""
    with h5py.File(path, "r") as f:
        g = f["X"]
        idx = np.asarray(g["indices"][...], dtype=np.int64)
        val = np.asarray(g["values"][...], dtype=np.float64)
    lin = np.ravel_multi_index(tuple(idx.T), shape)
    order = np.argsort(lin)
    lin, val = lin[order], val[order]
    if lin.size != test_lin.size or not np.array_equal(lin, test_lin):
        raise ValueError(f"{path}: {lin.size} predictions, not one at each of the {test_lin.size} test cells")
    return val


def cmd_score(a):
    sp = load_split(a.split)
    shape = tuple(int(s) for s in sp["shape"])
    r = base_record(a, sp)
    r.update({"config": a.label, "order": a.order, "kind": "dtf", "args": a.args,
              "metric": metric_name(a.likelihood), "rc": a.rc, "wall_s": a.wall})
    js = {}
    if os.path.exists(a.json):
        try:
            with open(a.json) as f:
                js = json.load(f)
        except ValueError:
            js = {}
    ok = a.rc == 0 and os.path.exists(a.pred)
    note = ""
    if not ok:
        if os.path.exists(a.log):
            with open(a.log, errors="replace") as f:
                lines = [ln.strip() for ln in f]
            msgs = [ln for ln in lines if ln.startswith("dtf ") and not ln.startswith("dtf complete: warning")]
            note = msgs[0] if msgs else (lines[-1] if lines else "")
            if a.rc in (124, 137):
                note = "timed out; " + note
    p = None
    if ok:
        try:
            p = read_predictions(a.pred, shape, np.sort(sp["test"]))
        except (ValueError, KeyError, OSError) as e:
            ok, note = False, str(e)
    r["ok"] = ok
    r["note"] = note
    r["seconds"] = js.get("time_total_s")
    r["effective_rank"] = js.get("effective_rank")
    r["effective_bond_ranks"] = js.get("effective_bond_ranks")
    r["json_collapsed"] = js.get("collapsed")
    r["converged"] = js.get("converged")
    r["iterations"] = js.get("iterations")
    r["json_value"] = js.get("test_" + metric_name(a.likelihood))
    for k in ("reg", "chosen_rank", "chosen_reg", "rank"):
        if k in js:
            r["json_" + k] = js[k]
    if ok:
        # split.npz's test cells are sorted by linear index, as read_predictions returns them
        v = metric(a.likelihood, sp["y_test"], p)
        r["value"] = v
        r["constant"] = is_constant(p)
        r["nonfinite"] = int(np.sum(~np.isfinite(p)))
        r["collapsed"] = bool(r["constant"] or js.get("collapsed") is True)
        jv = r["json_value"]
        r["json_agrees"] = None if jv is None else bool(abs(jv - v) <= AGREE_RTOL * max(1.0, abs(v)))
    write_result(a.out, r)
    v = r.get("value")
    print(f"  {a.label:34s} rc {a.rc}  {r['metric']} " + ("-" if v is None else f"{v:.5g}")
          + ("" if r.get("json_value") is None else f" (json {r['json_value']:.5g})")
          + f"  rank {r['effective_rank']}  {r['seconds'] if r['seconds'] is None else round(r['seconds'], 2)} s"
          + ("  COLLAPSED" if r.get("collapsed") else "") + (f"  [{note}]" if note else ""))


# ---------------------------------------------------------------------------------- report
def fmt(v, metric_kind):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if metric_kind == "auc":
        return f"{v:.4f}"
    return f"{v:.4g}"


def cmd_report(a):
    rows = []
    for path in glob.glob(os.path.join(a.work, "**", "results", "*.json"), recursive=True):
        with open(path) as f:
            rows.append(json.load(f))
    if not rows:
        sys.exit("no results under " + a.work)
    out = []
    cases = sorted({(r["case"], r["regime"]) for r in rows},
                   key=lambda c: (a.case_order.index(c[0]) if c[0] in a.case_order else 99, c[0], -c[1]))
    summary = []
    for case, regime in cases:
        rs = [r for r in rows if r["case"] == case and r["regime"] == regime]
        mk = rs[0]["metric"]
        better = max if mk == "auc" else min
        seeds = sorted({r["seed"] for r in rs})
        out.append(f"### {case}, train {regime}% of the observed cells "
                   f"({rs[0]['train_entries']:,} train, {rs[0]['test_entries']:,} test entries; "
                   f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''})\n")
        head = "test AUC" if mk == "auc" else "test RMSE"
        out.append(f"| configuration | {head} median | min | max | eff. rank | seconds | collapsed | failed | JSON = predictions |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        configs = sorted({(r["order"], r["config"]) for r in rs})
        medians = {}
        for order, cfg in configs:
            cr = [r for r in rs if r["config"] == cfg]
            good = [r for r in cr if r.get("ok")]
            vals = [r["value"] for r in good if r.get("value") is not None and np.isfinite(r["value"])]
            med = float(np.median(vals)) if vals else None
            if med is not None:
                medians[cfg] = med
            ranks = [r["effective_rank"] for r in good if r.get("effective_rank") is not None]
            secs = [r["seconds"] for r in good if r.get("seconds") is not None]
            ncol = sum(1 for r in good if r.get("collapsed"))
            nfail = len(cr) - len(good)
            dis = [r for r in good if r.get("json_agrees") is False]
            if cr[0].get("kind") == "baseline" or not good:
                check = ""
            elif dis:
                worst = max(dis, key=lambda r: abs(r["json_value"] - r["value"]))
                check = f"**{len(dis)}/{len(good)} differ** (json {fmt(worst['json_value'], mk)} vs {fmt(worst['value'], mk)})"
            elif any(r.get("json_agrees") is None for r in good):
                check = "no JSON metric"
            else:
                check = "yes"
            fail = f"{nfail}/{len(cr)}" if nfail else ""
            if nfail:
                notes = sorted({f"exit {r.get('rc')}" for r in cr if not r.get("ok")})
                fail += " (" + ", ".join(notes) + ")"
            out.append(f"| {cfg} | {fmt(med, mk)} | {fmt(min(vals), mk) if vals else '-'} | "
                       f"{fmt(max(vals), mk) if vals else '-'} | "
                       f"{'' if not ranks else f'{float(np.median(ranks)):g}'} | "
                       f"{'' if not secs else (f'{float(np.median(secs)):.2f}' if cr[0].get('kind') == 'dtf' else f'{float(np.median(secs)):.2f} (Python)')} | "
                       f"{f'{ncol}/{len(good)}' if ncol else ''} | {fail} | {check} |")
        failed = sorted({(r["config"], r.get("rc"), r.get("note", "")) for r in rs if not r.get("ok")})
        for cfg, rc, note in failed:
            seeds_f = sorted(r["seed"] for r in rs if r["config"] == cfg and not r.get("ok") and r.get("note", "") == note)
            out.append(f"\n{cfg}, seed{'s' if len(seeds_f) > 1 else ''} {', '.join(map(str, seeds_f))}: exit {rc}: `{note}`")
        out.append("")
        if medians:
            best = better(medians, key=medians.get)
            dtf_cfgs = {c: v for c, v in medians.items() if not c.startswith("baseline")}
            base = {c: v for c, v in medians.items() if c.startswith("baseline")}
            line = f"- {case}, {regime}%: best {best} ({fmt(medians[best], mk)})"
            if dtf_cfgs and base and best not in dtf_cfgs:
                bd = better(dtf_cfgs, key=dtf_cfgs.get)
                line += f"; best dtf {bd} ({fmt(dtf_cfgs[bd], mk)})"
            elif dtf_cfgs and base:
                bb = better(base, key=base.get)
                line += f"; best baseline {bb.replace('baseline: ', '')} ({fmt(base[bb], mk)})"
            bias = base.get("baseline: bias only")
            if bias is not None:
                worse = [c for c, v in dtf_cfgs.items() if better(v, bias) != v or v == bias]
                if worse:
                    line += "; not better than bias only: " + ("every dtf row" if len(worse) == len(dtf_cfgs) else ", ".join(worse))
            summary.append(line)
    text = "\n".join(out) + "\n### Summary (median over seeds; best row per data set and regime)\n\n" + "\n".join(summary) + "\n"
    if a.header:
        text = a.header.replace("\\n", "\n") + "\n\n" + text
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.add_argument("--data", required=True)
    s.add_argument("--name", required=True)
    s.add_argument("--regime", type=int, required=True, help="percent of the observed cells to train on")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--test-max", type=int, default=100000)
    s.add_argument("--out", required=True)
    for name in ("baselines", "score"):
        s = sub.add_parser(name)
        s.add_argument("--split", required=True)
        s.add_argument("--case", required=True)
        s.add_argument("--name", required=True)
        s.add_argument("--likelihood", required=True, choices=("gaussian", "bernoulli", "poisson"))
        s.add_argument("--regime", type=int, required=True)
        s.add_argument("--seed", type=int, required=True)
        s.add_argument("--out", required=True)
    b = sub.choices["baselines"]
    b.add_argument("--ridge", type=float, default=1.0)
    c = sub.choices["score"]
    c.add_argument("--label", required=True)
    c.add_argument("--order", type=int, default=0)
    c.add_argument("--args", default="")
    c.add_argument("--json", required=True)
    c.add_argument("--pred", required=True)
    c.add_argument("--log", default="")
    c.add_argument("--rc", type=int, required=True)
    c.add_argument("--wall", type=float, default=None)
    r = sub.add_parser("report")
    r.add_argument("--work", required=True)
    r.add_argument("--out", default="")
    r.add_argument("--header", default="")
    r.add_argument("--case-order", nargs="*", default=[
        "aminoacid (gaussian)", "kinetic (gaussian)", "il2 (gaussian)", "birmingham_parking (gaussian)",
        "kinship (bernoulli)", "nations (bernoulli)", "hangzhou_metro (gaussian)", "hangzhou_metro (poisson)"])
    a = ap.parse_args()
    {"split": cmd_split, "baselines": cmd_baselines, "score": cmd_score, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()

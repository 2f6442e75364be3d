/* CSF construction (sort, then one pass that opens a node wherever a prefix changes) and
 * the root-mode MTTKRP over the tree. */
#include <stdlib.h>
#include <string.h>

#include "dtf/csf.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/sort.h"
#include "multiversion.h"

void dtf_csf_free(dtf_csf_t *c) {
  for (int l = 0; l < DTF_MAX_MODES; l++) {
    free(c->ptr[l]);
    free(c->ids[l]);
    c->ptr[l] = c->ids[l] = NULL;
  }
  free(c->vals);
  c->vals = NULL;
}

dtf_status dtf_csf_build(int N, const int64_t *dims, int64_t nnz, const int64_t *inds, const double *vals,
                         int root, dtf_csf_t *c) {
  memset(c, 0, sizeof *c);
  c->nmodes = N;
  c->order[0] = root;
  for (int m = 0, l = 1; m < N; m++)
    if (m != root) c->order[l++] = m;
  for (int l = 2; l < N; l++) /* shortest modes nearest the root: more reuse per fiber */
    for (int k = l; k > 1 && dims[c->order[k]] < dims[c->order[k - 1]]; k--) {
      int t = c->order[k];
      c->order[k] = c->order[k - 1];
      c->order[k - 1] = t;
    }
  /* tuples (coordinates in tree order, input position): sorted, they are the leaves in
   * tree order, and the position keeps equal coordinates in input order */
  int W = N + 1;
  int64_t *tup = dtf_alloc_large((size_t)(nnz ? nnz : 1) * W * sizeof(int64_t));
  int bad = !tup;
  for (int l = 0; l < N && !bad; l++) {
    c->ids[l] = dtf_alloc_large((size_t)(nnz ? nnz : 1) * sizeof(int64_t));
    if (l < N - 1) c->ptr[l] = dtf_alloc_large((size_t)(nnz + 1) * sizeof(int64_t));
    bad |= !c->ids[l] || (l < N - 1 && !c->ptr[l]);
  }
  c->vals = dtf_alloc_large((size_t)(nnz ? nnz : 1) * sizeof(double));
  if (bad || !c->vals) {
    free(tup);
    dtf_csf_free(c);
    return dtf_error(DTF_ERR_INPUT, "out of memory building a CSF tree of %lld entries", (long long)nnz);
  }
  for (int64_t k = 0; k < nnz; k++) {
    for (int l = 0; l < N; l++) tup[k * W + l] = inds[k * N + c->order[l]];
    tup[k * W + N] = k;
  }
  if (dtf_sort_tuples(tup, nnz, W, N)) { /* stable: equal coordinates stay in input order */
    free(tup);
    dtf_csf_free(c);
    return dtf_error(DTF_ERR_INPUT, "out of memory building a CSF tree of %lld entries", (long long)nnz);
  }
  /* a new node opens at level l when the entry's prefix up to l differs from the last;
   * an entry equal to the last in every mode is a duplicate and adds to its leaf */
  for (int64_t k = 0; k < nnz; k++) {
    const int64_t *e = tup + k * W, *p = k ? e - W : NULL;
    int l = 0;
    if (p)
      while (l < N && e[l] == p[l]) l++;
    if (l == N) {
      c->vals[c->nodes[N - 1] - 1] += vals[e[N]];
      continue;
    }
    for (; l < N; l++) {
      if (l < N - 1) c->ptr[l][c->nodes[l]] = c->nodes[l + 1];
      c->ids[l][c->nodes[l]++] = e[l];
    }
    c->vals[c->nodes[N - 1] - 1] = vals[e[N]];
  }
  for (int l = 0; l < N - 1; l++) c->ptr[l][c->nodes[l]] = c->nodes[l + 1];
  free(tup);
  return DTF_OK;
}

/* acc (R) = sum over the children of node k at level l of (child's value) * factor row */
static void node_value(const dtf_csf_t *c, int l, int64_t k, const double *const *F, int R, double *work) {
  double *acc = work + l * R;
  const double *Fc = F[c->order[l + 1]];
  for (int r = 0; r < R; r++) acc[r] = 0.0;
  int leaf = (l + 1 == c->nmodes - 1);
  for (int64_t ch = c->ptr[l][k]; ch < c->ptr[l][k + 1]; ch++) {
    const double *row = Fc + c->ids[l + 1][ch] * R;
    if (leaf) {
      double v = c->vals[ch];
      for (int r = 0; r < R; r++) acc[r] += v * row[r];
    } else {
      node_value(c, l + 1, ch, F, R, work);
      const double *sub = work + (l + 1) * R;
      for (int r = 0; r < R; r++) acc[r] += sub[r] * row[r];
    }
  }
}

/* Three modes, the common case, without recursion: at the density of real sparse tensors
 * most fibers hold one nonzero, so per-node overhead matters more than reuse. */
static void mttkrp3(const dtf_csf_t *c, const double *const *F, int R, double *restrict tmp, double *out) {
  const int64_t *p0 = c->ptr[0], *p1 = c->ptr[1], *i0 = c->ids[0], *i1 = c->ids[1], *i2 = c->ids[2];
  const double *F1 = F[c->order[1]], *F2 = F[c->order[2]], *v = c->vals;
  for (int64_t k = 0; k < c->nodes[0]; k++) {
    double *restrict o = out + i0[k] * R;
    for (int64_t j = p0[k]; j < p0[k + 1]; j++) {
      const double *restrict a1 = F1 + i1[j] * R;
      int64_t l0 = p1[j], l1 = p1[j + 1];
      if (l1 - l0 == 1) {
        const double s = v[l0], *restrict a2 = F2 + i2[l0] * R;
        for (int r = 0; r < R; r++) o[r] += s * a1[r] * a2[r];
        continue;
      }
      for (int r = 0; r < R; r++) tmp[r] = 0.0;
      for (int64_t l = l0; l < l1; l++) {
        const double s = v[l], *restrict a2 = F2 + i2[l] * R;
        for (int r = 0; r < R; r++) tmp[r] += s * a2[r];
      }
      for (int r = 0; r < R; r++) o[r] += tmp[r] * a1[r];
    }
  }
}

DTF_KERNEL void dtf_csf_mttkrp(const dtf_csf_t *c, int64_t root_dim, const double *const *F, int R,
                               double *work, double *out) {
  memset(out, 0, (size_t)(root_dim * R) * sizeof(double));
  if (c->nmodes == 3) {
    mttkrp3(c, F, R, work, out);
    return;
  }
  for (int64_t k = 0; k < c->nodes[0]; k++) {
    node_value(c, 0, k, F, R, work);
    double *o = out + c->ids[0][k] * R;
    for (int r = 0; r < R; r++) o[r] += work[r];
  }
}

void dtf_csf_leaves(const dtf_csf_t *c, int64_t first, int64_t count, int64_t *inds, double *vals) {
  int N = c->nmodes;
  if (count <= 0) return;
  int64_t node[DTF_MAX_MODES];
  node[N - 1] = first;
  for (int l = N - 2; l >= 0; l--) { /* the parent: the last node whose children start at or before */
    int64_t lo = 0, hi = c->nodes[l];
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      if (c->ptr[l][mid] <= node[l + 1])
        lo = mid;
      else
        hi = mid;
    }
    node[l] = lo;
  }
  for (int64_t j = 0; j < count; j++) {
    if (j > 0) { /* every node has a child: moving one leaf on moves each ancestor by at most one */
      node[N - 1]++;
      for (int l = N - 2; l >= 0 && node[l + 1] >= c->ptr[l][node[l] + 1]; l--) node[l]++;
    }
    for (int l = 0; l < N; l++) inds[j * N + c->order[l]] = c->ids[l][node[l]];
    if (vals) vals[j] = c->vals[node[N - 1]];
  }
}

int64_t dtf_csf_find(const dtf_csf_t *c, const int64_t *coords) {
  int64_t lo = 0, hi = c->nodes[0];
  for (int l = 0; l < c->nmodes; l++) {
    int64_t key = coords[c->order[l]], a = lo, b = hi; /* children ids are sorted */
    while (a < b) {
      int64_t mid = a + (b - a) / 2;
      if (c->ids[l][mid] < key)
        a = mid + 1;
      else
        b = mid;
    }
    if (a == hi || c->ids[l][a] != key) return -1;
    if (l == c->nmodes - 1) return a;
    lo = c->ptr[l][a];
    hi = c->ptr[l][a + 1];
  }
  return -1;
}

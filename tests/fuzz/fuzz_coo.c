/* libFuzzer target: the HDF5 sparse reader, then duplicates, CSF trees and MTTKRP. The
 * input bytes decide a COO group's layout and contents (modes, dims, shapes, indices,
 * values, missing members, the type of dims); the group is written with HDF5 and read back
 * by dtf. Checks: what is accepted is in range, has exactly the dims written, and factors
 * without crashing; what is refused has a message. (HDF5's own file parser is not the
 * target: the file is always well formed.) */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtf/dtf.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  MPI_Init(argc, argv);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  snprintf(path, sizeof path, "/tmp/dtf-fuzz-coo-%d.h5", (int)getpid());
  return 0;
}

typedef struct {
  const unsigned char *p;
  size_t n;
} bytes_t;

static uint64_t take(bytes_t *b, int k) {
  uint64_t v = 0;
  for (int i = 0; i < k; i++) v = v << 8 | (b->n ? (b->n--, *b->p++) : 0);
  return v;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  bytes_t b = {data, size};
  int flags = (int)take(&b, 1), N = 2 + (int)(take(&b, 1) % 8); /* 2..9 modes */
  int cols = flags & 1 ? N - 1 : N;                             /* wrong column count */
  uint64_t dims[9];
  for (int m = 0; m < N; m++) dims[m] = flags & 2 ? take(&b, 8) : take(&b, 1) % 7; /* 0..6, or anything */
  hsize_t nnz = take(&b, 1) % 40, nv = flags & 4 ? nnz + 1 : nnz;
  int64_t *ind = calloc(nnz * (hsize_t)cols + 1, sizeof(int64_t));
  double *val = calloc(nv + 1, sizeof(double));
  for (hsize_t k = 0; k < nnz * (hsize_t)cols; k++)
    ind[k] = flags & 8 ? (int64_t)take(&b, 8) : (int64_t)(take(&b, 1) % 8);
  for (hsize_t k = 0; k < nv; k++) {
    uint64_t u = take(&b, flags & 16 ? 8 : 1);
    double v = (double)u;
    if (flags & 16) memcpy(&v, &u, sizeof v); /* any bit pattern: NaN, Inf, subnormal */
    val[k] = v;
  }
  /* the last byte: dims stored as uint64 (0), int64 (1) or float64 (2: the value, or with
   * flags & 2 any bit pattern: fractions, NaN, Inf, negatives) */
  int dtype = (int)(take(&b, 1) % 3);
  int64_t sdims[9];
  double fdims[9];
  for (int m = 0; m < N; m++) {
    sdims[m] = (int64_t)dims[m];
    fdims[m] = (double)dims[m];
    if (flags & 2) memcpy(&fdims[m], &dims[m], sizeof(double));
  }
  hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t g = H5Gcreate2(fid, "/T", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (!(flags & 32)) {
    hsize_t n = (hsize_t)N;
    hid_t s = H5Screate_simple(1, &n, NULL), a = H5Acreate2(g, "dims",
                                                            dtype == 0   ? H5T_STD_U64LE
                                                            : dtype == 1 ? H5T_STD_I64LE
                                                                         : H5T_IEEE_F64LE,
                                                            s, H5P_DEFAULT, H5P_DEFAULT);
    if (dtype == 0) H5Awrite(a, H5T_NATIVE_UINT64, dims);
    if (dtype == 1) H5Awrite(a, H5T_NATIVE_INT64, sdims);
    if (dtype == 2) H5Awrite(a, H5T_NATIVE_DOUBLE, fdims);
    H5Aclose(a);
    H5Sclose(s);
  }
  if (!(flags & 64)) {
    hsize_t d[2] = {nnz, (hsize_t)cols};
    hid_t s = H5Screate_simple(2, d, NULL),
          ds = H5Dcreate2(g, "indices", H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ind);
    H5Dclose(ds);
    H5Sclose(s);
  }
  if (!(flags & 128)) {
    hid_t s = H5Screate_simple(1, &nv, NULL),
          ds = H5Dcreate2(g, "values", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, val);
    H5Dclose(ds);
    H5Sclose(s);
  }
  H5Gclose(g);
  H5Fclose(fid);
  free(ind);
  free(val);

  dtf_spec_t spec;
  dtf_spec_parse(path, "/T", &spec);
  dtf_coo_t c;
  dtf_status st = dtf_h5_sparse_read(MPI_COMM_SELF, &spec, &c);
  if (st != DTF_OK) {
    if (!dtf_error_message()[0]) abort();
    return 0;
  }
  /* accepted dims are exactly the sizes written, each an integer >= 1 (never rounded,
   * clamped or wrapped into range) */
  for (int m = 0; m < c.nmodes; m++) {
    if (c.dims[m] < 1) abort();
    if (dtype == 0 && (uint64_t)c.dims[m] != dims[m]) abort();
    if (dtype == 1 && c.dims[m] != sdims[m]) abort();
    if (dtype == 2 && (double)c.dims[m] != fdims[m]) abort();
  }
  for (int64_t k = 0; k < c.nnz; k++)
    for (int m = 0; m < c.nmodes; m++)
      if (c.inds[k * c.nmodes + m] < 0 || c.inds[k * c.nmodes + m] >= c.dims[m]) abort();
  int64_t merged;
  double cells = 1;
  for (int m = 0; m < c.nmodes; m++) cells *= (double)c.dims[m];
  if (dtf_coo_duplicates(&c, DTF_DUP_SUM, NULL, "fuzz", &merged) == DTF_OK && cells < 1e6) {
    dtf_tensor_t *t;
    int64_t zero[DTF_MAX_MODES] = {0};
    if (dtf_sparse_tensor_create(c.nmodes, zero, c.dims, c.nnz, c.inds, c.vals, &t) == DTF_OK) {
      int R = 2;
      double *F[DTF_MAX_MODES], *out = NULL;
      uint64_t v[DTF_MAX_MODES] = {0};
      int64_t most = 1;
      for (int m = 0; m < c.nmodes; m++) {
        F[m] = calloc((size_t)(c.dims[m] * R), sizeof(double));
        for (int64_t i = 0; i < c.dims[m] * R; i++) F[m][i] = 1.0 + (double)i;
        if (c.dims[m] > most) most = c.dims[m];
      }
      out = malloc((size_t)(most * R) * sizeof(double));
      for (int m = 0; m < c.nmodes; m++) t->ops->mttkrp(t, m, (const double *const *)F, v, R, out);
      for (int m = 0; m < c.nmodes; m++) free(F[m]);
      free(out);
      dtf_tensor_free(t);
    }
  }
  dtf_coo_free(&c);
  return 0;
}

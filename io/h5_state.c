/* Solver states and models in HDF5: the manifest's header and attributes as attributes of
 * the root group, each field a float64 dataset in the root group (docs/formats.md). One
 * writer and one reader for every solver; nothing here knows a solver. */
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/format.h"
#include "dtf/io.h"
#include "dtf/version.h"
#include "h5util.h"

static int write_header(hid_t fid, const dtf_grid_t *g, const dtf_state_t *s) {
  int bad = 0;
  int64_t pd[DTF_MAX_MODES];
  for (int n = 0; n < g->nmodes; n++) pd[n] = g->pdims[n];
  bad |= h5_attr_string(fid, "model", s->model);
  bad |= h5_attr_string(fid, "solver", s->solver);
  bad |= h5_attr_string(fid, "state", s->checkpoint ? "checkpoint" : "model");
  bad |= h5_attr_int64(fid, "format_version", DTF_STATE_FORMAT);
  bad |= h5_attr_uint64_array(fid, "dims", s->dims, s->nmodes);
  bad |= h5_attr_int64(fid, "ranks", g->size);
  bad |= h5_attr_int64_array(fid, "grid", pd, g->nmodes);
  if (s->have_input) {
    bad |= h5_attr_int64(fid, "input_entries", s->input.entries);
    bad |= h5_attr_double(fid, "input_norm", s->input.norm);
    bad |= h5_attr_uint64(fid, "input_checksum", s->input.checksum);
    bad |= h5_attr_int64(fid, "input_permute", s->permute);
    bad |= h5_attr_uint64(fid, "input_permute_seed", s->permute_seed);
  }
  for (int k = 0; k < s->nattrs; k++) {
    const dtf_attr_t *a = &s->attrs[k];
    switch (a->type) {
    case DTF_ATTR_INT: bad |= h5_attr_int64(fid, a->name, a->i); break;
    case DTF_ATTR_REAL: bad |= h5_attr_double(fid, a->name, a->d); break;
    case DTF_ATTR_TEXT: bad |= h5_attr_string(fid, a->name, a->text); break;
    case DTF_ATTR_INTS: bad |= h5_attr_int64_array(fid, a->name, a->ints, a->n); break;
    }
  }
  return bad;
}

/* Create the float64 dataset `name` of the extent of sp and write data to it, from the
 * selection ms (the memory) to that of sp (the file); closes sp and ms. */
static dtf_status create_write(hid_t fid, const char *file, const char *name, hid_t sp, hid_t ms,
                               const double *data, dtf_status st) {
  if (h5_stranded(st)) {
    H5Sclose(ms);
    H5Sclose(sp);
    return st;
  }
  hid_t did = H5Dcreate2(fid, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (did >= 0) {
    hid_t dxpl = h5_dxpl_collective();
    if (H5Dwrite(did, H5T_NATIVE_DOUBLE, ms, sp, dxpl, data) < 0)
      st = h5_write_failed("writing dataset '%s' of '%s' failed (disk full?)", name, file);
    H5Pclose(dxpl);
    H5Dclose(did);
  } else if (!st)
    st = dtf_error(DTF_ERR_OUTPUT, "cannot create dataset '%s' in '%s'", name, file);
  H5Sclose(ms);
  H5Sclose(sp);
  return st;
}

/* a lead x rows x cols rows field: this rank's rows of the middle index */
static dtf_status write_rows3(hid_t fid, const char *file, const dtf_field_t *f, dtf_status st) {
  hsize_t dims[3] = {(hsize_t)f->lead, (hsize_t)f->rows, (hsize_t)f->cols};
  hid_t sp = H5Screate_simple(3, dims, NULL);
  hid_t ms = h5_select_rows3(sp, f->lead, f->own_start, st ? 0 : f->own_len, f->cols, f->read_len,
                             f->own_start - f->read_start);
  return create_write(fid, file, f->name, sp, ms, f->data, st);
}

/* an N-d replicated array: rank 0 writes it whole */
static dtf_status write_array(hid_t fid, const char *file, const dtf_field_t *f, int me, dtf_status st) {
  hsize_t dims[DTF_MAX_MODES];
  for (int k = 0; k < f->ndims; k++) dims[k] = (hsize_t)f->shape[k];
  hid_t sp = H5Screate_simple(f->ndims, dims, NULL), ms = H5Scopy(sp);
  if (me != 0 || st || f->rows == 0) {
    H5Sselect_none(sp);
    H5Sselect_none(ms);
  }
  return create_write(fid, file, f->name, sp, ms, f->data, st);
}

dtf_status dtf_h5_state_write(const dtf_grid_t *g, const char *file, const dtf_state_t *s) {
  if (s->overflow)
    return dtf_error(DTF_ERR_OUTPUT, "the state of %s has too many fields for one file", s->solver);
  MPI_Comm comm = g->comm;
  int P = g->size, me = g->rank;
  int64_t *lens = calloc((size_t)P * (size_t)(s->nfields ? s->nfields : 1), sizeof(int64_t));
  int64_t *offsets = malloc((size_t)(P + 1) * sizeof(int64_t));
  if (!lens || !offsets) {
    free(lens);
    free(offsets);
    return dtf_error(DTF_ERR_OUTPUT, "out of memory writing '%s'", file);
  }
  /* every rank's length of every per-rank field, so all ranks know the datasets' sizes */
  double bytes = 0;
  for (int k = 0; k < s->nfields; k++) lens[(int64_t)me * s->nfields + k] = s->fields[k].rows;
  dtf_status st = dtf_allgather_int64(comm, lens, s->nfields ? s->nfields : 1);
  for (int k = 0; k < s->nfields; k++) {
    const dtf_field_t *f = &s->fields[k];
    double per = (double)(f->cols ? f->cols : 1) * (double)(f->lead ? f->lead : 1) * 8.0;
    if (f->kind != DTF_FIELD_PER_RANK)
      bytes += (double)f->rows * per;
    else
      for (int q = 0; q < P; q++) bytes += (double)lens[(int64_t)q * s->nfields + k] * 8.0;
  }
  dtf_output_t out;
  hid_t fid = -1;
  if (!st) st = h5_create(comm, file, h5_file_bytes(bytes, s->nfields), &out, &fid);
  if (st) {
    free(lens);
    free(offsets);
    return st;
  }
  st = out.fault;
  if (write_header(fid, g, s) && !st)
    st = dtf_error(DTF_ERR_OUTPUT, "writing the attributes of '%s' failed (disk full?)", file);
  for (int k = 0; k < s->nfields && !h5_stranded(st); k++) {
    const dtf_field_t *f = &s->fields[k];
    int cols = (int)f->cols;
    switch (f->kind) {
    case DTF_FIELD_REPLICATED: /* identical everywhere: rank 0 writes, the others select nothing */
      if (f->ndims > 0) {
        st = write_array(fid, file, f, me, st);
        break;
      }
      st = h5_write_rows(fid, file, f->name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, f->rows, cols, 0,
                         me == 0 ? f->rows : 0, f->data, st);
      break;
    case DTF_FIELD_ROWS:
      if (f->lead > 0) {
        st = write_rows3(fid, file, f, st);
        break;
      }
      st = h5_write_rows(fid, file, f->name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, f->rows, cols, f->own_start,
                         f->own_len, f->data + (f->own_start - f->read_start) * (cols ? cols : 1), st);
      break;
    case DTF_FIELD_PER_RANK: {
      offsets[0] = 0;
      for (int q = 0; q < P; q++) offsets[q + 1] = offsets[q] + lens[(int64_t)q * s->nfields + k];
      st = h5_write_rows(fid, file, f->name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, offsets[P], 0, offsets[me],
                         f->rows, f->data, st);
      if (h5_stranded(st)) break;
      hid_t did = H5Dopen2(fid, f->name, H5P_DEFAULT);
      if ((did < 0 || h5_attr_int64_array(did, "rank_offsets", offsets, P + 1)) && !st)
        st = dtf_error(DTF_ERR_OUTPUT, "writing the rank offsets of '%s:/%s' failed", file, f->name);
      if (did >= 0) H5Dclose(did);
      break;
    }
    }
  }
  free(lens);
  free(offsets);
  return h5_finish(comm, fid, &out, st);
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct {
  dtf_state_t *s;
  char dims_bad[96]; /* why the attribute dims is unusable ("" if it is fine or absent) */
} peek_t;

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
  (void)info;
  peek_t *p = data;
  dtf_state_t *s = p->s;
  char *dims_bad = p->dims_bad;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a), sp = H5Aget_space(a);
  H5T_class_t c = H5Tget_class(t);
  int rank = H5Sget_simple_extent_ndims(sp);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  if (!strcmp(name, "dims")) { /* 2 to 8 sizes from 1 up, or nmodes -1: dims_bad says why */
    int64_t v[DTF_MAX_MODES];
    hid_t mt = H5Tget_sign(t) == H5T_SGN_NONE ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64;
    s->nmodes = -1;
    if (c != H5T_INTEGER || rank != 1)
      snprintf(dims_bad, sizeof p->dims_bad, "is not a 1-D array of integers");
    else if (n < 2 || n > DTF_MAX_MODES)
      snprintf(dims_bad, sizeof p->dims_bad, "has %lld entries; a tensor has 2 to %d modes", (long long)n,
               DTF_MAX_MODES);
    else if (H5Aread(a, mt, v) < 0)
      snprintf(dims_bad, sizeof p->dims_bad, "cannot be read");
    else {
      s->nmodes = (int)n;
      memcpy(s->dims, v, (size_t)n * sizeof(int64_t));
      for (int k = 0; s->nmodes > 0 && k < n; k++)
        if (v[k] < 1) {
          if (mt == H5T_NATIVE_UINT64)
            snprintf(dims_bad, sizeof p->dims_bad, "gives mode %d the size %llu", k + 1,
                     (unsigned long long)v[k]);
          else
            snprintf(dims_bad, sizeof p->dims_bad, "gives mode %d the size %lld", k + 1, (long long)v[k]);
          s->nmodes = -1;
        }
    }
  } else if (c == H5T_STRING) {
    char v[128];
    if (h5_attr_read_string(loc, name, v, sizeof v) == 0) {
      if (!strcmp(name, "model"))
        snprintf(s->model, sizeof s->model, "%.*s", (int)sizeof s->model - 1, v);
      else if (!strcmp(name, "solver"))
        snprintf(s->solver, sizeof s->solver, "%.*s", (int)sizeof s->solver - 1, v);
      else if (!strcmp(name, "state"))
        s->checkpoint = !strcmp(v, "checkpoint");
      else
        dtf_state_text(s, name, v);
    }
  } else if (c == H5T_INTEGER && n >= 1 && n <= DTF_MAX_MODES) {
    int64_t v[DTF_MAX_MODES];
    /* unsigned attributes keep their bits (the checksum uses all 64) */
    hid_t mt = H5Tget_sign(t) == H5T_SGN_NONE ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64;
    if (H5Aread(a, mt, v) >= 0) {
      if (!strcmp(name, "grid"))
        for (int k = 0; k < n; k++) s->grid[k] = (int)v[k];
      else if (rank == 1)
        dtf_state_ints(s, name, DTF_ATTR_STATE, NULL, v, (int)n);
      else if (!strcmp(name, "format_version")) /* unsigned: a huge one is newer, not negative */
        s->format = (mt == H5T_NATIVE_UINT64 && v[0] < 0) || v[0] > INT_MAX ? INT_MAX
                    : v[0] < 0                                              ? 0
                                                                            : (int)v[0];
      else if (!strcmp(name, "ranks"))
        s->ranks = (int)v[0];
      else if (!strcmp(name, "input_entries")) {
        s->have_input = 1;
        s->input.entries = v[0];
      } else if (!strcmp(name, "input_checksum"))
        s->input.checksum = (uint64_t)v[0];
      else if (!strcmp(name, "input_permute"))
        s->permute = (int)v[0];
      else if (!strcmp(name, "input_permute_seed"))
        s->permute_seed = (uint64_t)v[0];
      else
        dtf_state_int(s, name, DTF_ATTR_STATE, NULL, v[0]);
    }
  } else if (c == H5T_FLOAT && n == 1) {
    double v;
    if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0) {
      if (!strcmp(name, "input_norm"))
        s->input.norm = v;
      else if (!strcmp(name, "format_version")) /* written as a number of another type */
        s->format = !(v < INT_MAX) ? INT_MAX : v < 0 ? 0 : (int)v;
      else
        dtf_state_real(s, name, DTF_ATTR_STATE, NULL, v);
    }
  }
  H5Sclose(sp);
  H5Tclose(t);
  H5Aclose(a);
  return 0;
}

static herr_t field_cb(hid_t loc, const char *name, const H5L_info_t *info, void *data) {
  (void)info;
  dtf_state_t *s = data;
  H5O_info_t oi;
  if (H5Oget_info_by_name(loc, name, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET) return 0;
  hid_t did = H5Dopen2(loc, name, H5P_DEFAULT), sp = H5Dget_space(did);
  hsize_t d[3] = {0, 0, 0};
  int nd = H5Sget_simple_extent_ndims(sp);
  if (nd >= 1 && nd <= 2) {
    H5Sget_simple_extent_dims(sp, d, NULL);
    if (H5Aexists(did, "rank_offsets") > 0)
      dtf_state_per_rank(s, name, (int64_t)d[0], NULL);
    else
      dtf_state_replicated(s, name, (int64_t)d[0], nd == 2 ? (int64_t)d[1] : 0, NULL);
  } else if (nd == 3) { /* a tensor-ring core: the middle index is the mode's */
    H5Sget_simple_extent_dims(sp, d, NULL);
    dtf_state_rows3(s, name, (int64_t)d[0], (int64_t)d[1], (int64_t)d[2], 0, 0, 0, 0, NULL);
  }
  H5Sclose(sp);
  H5Dclose(did);
  return 0;
}

dtf_status dtf_h5_state_peek(MPI_Comm comm, const char *file, dtf_state_t *s) {
  memset(s, 0, sizeof *s);
  hid_t fid;
  dtf_status st = h5_open_read(comm, file, &fid);
  if (st) return st;
  hsize_t at = 0;
  peek_t p = {s, ""};
  H5Aiterate2(fid, H5_INDEX_NAME, H5_ITER_INC, &at, attr_cb, &p);
  at = 0;
  H5Literate(fid, H5_INDEX_NAME, H5_ITER_INC, &at, field_cb, s);
  /* dtf 0.1.0 marked its CP-ALS checkpoints with checkpoint = "cp-als" */
  const dtf_attr_t *old = dtf_state_attr(s, "checkpoint");
  if (old && old->type == DTF_ATTR_TEXT && !s->solver[0]) {
    s->checkpoint = 1;
    snprintf(s->solver, sizeof s->solver, "%.*s", (int)sizeof s->solver - 1, old->text);
  }
  H5Fclose(fid);
  /* every reader of models and checkpoints comes here: the one check of the header */
  const char *what = s->checkpoint ? "checkpoint" : "model";
  if (s->format > DTF_STATE_FORMAT)
    st = dtf_error(DTF_ERR_INPUT, "%s '%s' has format version %d; this dtf (%s) reads up to version %d", what,
                   file, s->format, DTF_VERSION, DTF_STATE_FORMAT);
  else if (s->model[0] && s->nmodes <= 0)
    st = dtf_error(DTF_ERR_INPUT, "%s '%s': attribute 'dims' %s", what, file,
                   p.dims_bad[0] ? p.dims_bad : "is missing (the size of each mode)");
  if (s->nmodes < 0) s->nmodes = 0;
  return dtf_agree(comm, st);
}

static void shape(int64_t rows, int64_t cols, char *buf, size_t size) {
  if (cols)
    snprintf(buf, size, "%lld x %lld", (long long)rows, (long long)cols);
  else
    snprintf(buf, size, "%lld", (long long)rows);
}

/* Read field f's data from the selection of sp into that of ms (closed here); st: an earlier
 * failure, mine: this field's. */
static dtf_status read_selected(hid_t did, hid_t sp, hid_t ms, const char *file, const dtf_field_t *f,
                                dtf_status st, dtf_status mine) {
  hid_t dxpl = h5_dxpl_collective();
  if (H5Dread(did, H5T_NATIVE_DOUBLE, ms, sp, dxpl, f->data) < 0 && !mine)
    mine = dtf_error(DTF_ERR_INPUT, "reading '%s:/%s' failed (file truncated or damaged?)", file, f->name);
  H5Pclose(dxpl);
  H5Sclose(ms);
  return st ? st : mine;
}

/* A lead x rows x cols rows field: this rank's rows [read_start, read_start + read_len). */
static dtf_status read_rows3(hid_t did, hid_t sp, const char *file, const dtf_field_t *f, dtf_status st) {
  hsize_t d[3] = {0, 0, 0};
  dtf_status mine = DTF_OK;
  if (H5Sget_simple_extent_ndims(sp) != 3 || H5Sget_simple_extent_dims(sp, d, NULL) < 0 ||
      (int64_t)d[0] != f->lead || (int64_t)d[1] != f->rows || (int64_t)d[2] != f->cols)
    mine = dtf_error(DTF_ERR_INPUT, "'%s:/%s' is not %lld x %lld x %lld", file, f->name, (long long)f->lead,
                     (long long)f->rows, (long long)f->cols);
  if (!mine) mine = h5_check_filters(did, file, f->name);
  hid_t ms =
      h5_select_rows3(sp, f->lead, f->read_start, mine || st ? 0 : f->read_len, f->cols, f->read_len, 0);
  return read_selected(did, sp, ms, file, f, st, mine);
}

/* An N-d replicated array: every rank reads it whole. */
static dtf_status read_array(hid_t did, hid_t sp, const char *file, const dtf_field_t *f, dtf_status st) {
  hsize_t d[DTF_MAX_MODES] = {0};
  dtf_status mine = DTF_OK;
  int nd = H5Sget_simple_extent_ndims(sp), same = nd == f->ndims;
  if (same && H5Sget_simple_extent_dims(sp, d, NULL) < 0) same = 0;
  for (int k = 0; same && k < nd; k++) same = (int64_t)d[k] == f->shape[k];
  if (!same) {
    char want[160];
    dtf_format_dims(f->ndims, f->shape, want, sizeof want);
    mine = dtf_error(DTF_ERR_INPUT, "'%s:/%s' is not of shape %s", file, f->name, want);
  }
  if (!mine) mine = h5_check_filters(did, file, f->name);
  hid_t ms = H5Scopy(sp);
  if (mine || st || f->rows == 0) {
    H5Sselect_none(sp);
    H5Sselect_none(ms);
  }
  return read_selected(did, sp, ms, file, f, st, mine);
}

/* Read one field; every rank makes the same calls (an empty selection after a failure). */
static dtf_status read_field(hid_t fid, const dtf_grid_t *g, const char *file, const dtf_state_t *peeked,
                             dtf_field_t *f, dtf_status st) {
  int cols = (int)f->cols;
  if (H5Lexists(fid, f->name, H5P_DEFAULT) <= 0)
    return st ? st : dtf_error(DTF_ERR_INPUT, "'%s' has no dataset '%s'", file, f->name);
  H5O_info_t oi; /* the link exists: an object whose header cannot be read is damaged */
  if (H5Oget_info_by_name(fid, f->name, &oi, H5P_DEFAULT) < 0)
    return st ? st
              : dtf_error(DTF_ERR_INPUT,
                          "'%s:/%s' cannot be read: its object header is damaged (the file is corrupt)", file,
                          f->name);
  if (oi.type != H5O_TYPE_DATASET)
    return st ? st : dtf_error(DTF_ERR_INPUT, "'%s:/%s' is not a dataset", file, f->name);
  hid_t did = H5Dopen2(fid, f->name, H5P_DEFAULT), sp = H5Dget_space(did);
  if (f->lead > 0 || f->ndims > 0) {
    st = f->ndims > 0 ? read_array(did, sp, file, f, st) : read_rows3(did, sp, file, f, st);
    H5Sclose(sp);
    H5Dclose(did);
    return st;
  }
  hsize_t d[2] = {0, 0};
  int nd = H5Sget_simple_extent_ndims(sp);
  if (nd >= 1 && nd <= 2) H5Sget_simple_extent_dims(sp, d, NULL);
  if (nd == 1) d[1] = 0;
  int64_t rows = f->kind == DTF_FIELD_PER_RANK ? (int64_t)d[0] : f->rows, row0 = 0, n = 0;
  dtf_status mine = DTF_OK;
  int vector_as_column = nd == 2 && cols == 0 && d[1] == 1; /* a vector written as n x 1 */
  if (nd < 1 || nd > 2 || (int64_t)d[0] != rows || ((int64_t)d[1] != f->cols && !vector_as_column)) {
    char a[64], b[64];
    shape((int64_t)d[0], (int64_t)d[1], a, sizeof a);
    shape(rows, f->cols, b, sizeof b);
    mine = dtf_error(DTF_ERR_INPUT, "'%s:/%s' is %s; it should be %s", file, f->name, a, b);
  }
  if (!mine) mine = h5_check_filters(did, file, f->name);
  if (!mine && f->kind == DTF_FIELD_PER_RANK) {
    int64_t off[4097];
    hid_t a = H5Aopen(did, "rank_offsets", H5P_DEFAULT), asp = H5Aget_space(a);
    hssize_t na = H5Sget_simple_extent_npoints(asp);
    int same_grid = peeked->ranks == g->size;
    for (int k = 0; k < g->nmodes; k++) same_grid &= peeked->grid[k] == g->pdims[k];
    if (!same_grid || na != g->size + 1 || na > 4097 || H5Aread(a, H5T_NATIVE_INT64, off) < 0) {
      int64_t pf[DTF_MAX_MODES], pr[DTF_MAX_MODES];
      char gf[128], gr[128];
      for (int k = 0; k < g->nmodes; k++) pf[k] = peeked->grid[k], pr[k] = g->pdims[k];
      dtf_format_dims(g->nmodes, pf, gf, sizeof gf);
      dtf_format_dims(g->nmodes, pr, gr, sizeof gr);
      mine = dtf_error(DTF_ERR_INPUT,
                       "'%s:/%s' holds one part per rank, written by %d ranks on grid %s: a resume needs the "
                       "same ranks and grid (this run has %d on grid %s)",
                       file, f->name, peeked->ranks, gf, g->size, gr);
    } else if (off[g->rank + 1] - off[g->rank] != f->rows)
      mine = dtf_error(DTF_ERR_INPUT, "'%s:/%s': rank %d's part has %lld entries; this run needs %lld", file,
                       f->name, g->rank, (long long)(off[g->rank + 1] - off[g->rank]), (long long)f->rows);
    else {
      row0 = off[g->rank];
      n = f->rows;
    }
    H5Sclose(asp);
    H5Aclose(a);
  } else if (!mine) {
    row0 = f->kind == DTF_FIELD_ROWS ? f->read_start : 0;
    n = f->kind == DTF_FIELD_ROWS ? f->read_len : f->rows;
  }
  if (mine || st) n = 0;
  hid_t ms = h5_select_rows(sp, row0, n, vector_as_column ? 1 : cols), dxpl = h5_dxpl_collective();
  if (H5Dread(did, H5T_NATIVE_DOUBLE, ms, sp, dxpl, f->data) < 0 && !mine)
    mine = dtf_error(DTF_ERR_INPUT, "reading '%s:/%s' failed (file truncated or damaged?)", file, f->name);
  H5Pclose(dxpl);
  H5Sclose(ms);
  H5Sclose(sp);
  H5Dclose(did);
  return st ? st : mine;
}

dtf_status dtf_h5_state_read(const dtf_grid_t *g, const char *file, dtf_state_t *s) {
  dtf_state_t *peeked = malloc(sizeof *peeked);
  if (!peeked) return dtf_error(DTF_ERR_INPUT, "out of memory");
  dtf_status st = dtf_h5_state_peek(g->comm, file, peeked);
  hid_t fid = -1;
  if (!st) st = h5_open_read(g->comm, file, &fid);
  for (int k = 0; fid >= 0 && k < s->nfields; k++) st = read_field(fid, g, file, peeked, &s->fields[k], st);
  if (fid >= 0) H5Fclose(fid);
  free(peeked);
  return dtf_agree(g->comm, st);
}

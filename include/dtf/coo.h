/* A rank's share of a sparse tensor in coordinate (COO) form, and where each entry came
 * from, so that errors can name the line of a .tns file or the row of an HDF5 group. */
#ifndef DTF_COO_H
#define DTF_COO_H

#include <stdint.h>

#include "dtf/grid.h"
#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int nmodes;
  int64_t dims[DTF_MAX_MODES]; /* the whole tensor's shape */
  int64_t nnz;                 /* entries held by this rank */
  int64_t *inds;               /* nnz x nmodes, 0-based: global, or block-local where a function says so */
  double *vals;
  int64_t *tags;   /* origin of each entry, or NULL: a 1-based .tns line, or a 0-based HDF5 row */
  int tag_is_line; /* tags are .tns line numbers */
} dtf_coo_t;

void dtf_coo_free(dtf_coo_t *c);

/* Sort the entries by coordinate and find equal coordinates. With sum, each group of
 * equal entries becomes one holding their sum (*merged counts the entries removed);
 * without, DTF_ERR_INPUT names the first pair by their tags and coordinates (1-based for
 * lines). offset (NULL for none) is added to the indices in messages. Node-local. */
dtf_status dtf_coo_duplicates(dtf_coo_t *c, int sum, const int64_t *offset, int64_t *merged);

#ifdef __cplusplus
}
#endif
#endif

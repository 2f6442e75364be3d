/* A rank's share of a sparse tensor in coordinate (COO) form, and where each entry came
 * from, so that errors can name the line of a .tns file or the row of an HDF5 group. */
#ifndef DTF_COO_H
#define DTF_COO_H

#include <stdint.h>

#include "dtf/status.h"
#include "dtf/types.h"

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

/* What to do with entries that share coordinates (--duplicates): refuse them (naming
 * both), or keep one entry holding their sum, their maximum, or the value of the first
 * or the last of them in input order (line or row). */
typedef enum { DTF_DUP_ERROR, DTF_DUP_SUM, DTF_DUP_MAX, DTF_DUP_FIRST, DTF_DUP_LAST } dtf_dup_rule_t;

/* "error", "sum", "max", "first", "last" -> rule; 0 on success. */
int dtf_dup_rule_parse(const char *text, dtf_dup_rule_t *rule);
const char *dtf_dup_rule_name(dtf_dup_rule_t rule);

/* Sort the entries by coordinate and apply `rule` to equal coordinates (*merged counts
 * the entries removed). With DTF_DUP_ERROR, DTF_ERR_INPUT names the first pair by their
 * tags and coordinates; `what` names the source ("'x.tns'", "'f.h5:/T'"). offset (NULL
 * for none) is added to the indices in messages. Node-local. */
dtf_status dtf_coo_duplicates(dtf_coo_t *c, dtf_dup_rule_t rule, const int64_t *offset, const char *what,
                              int64_t *merged);

#ifdef __cplusplus
}
#endif
#endif

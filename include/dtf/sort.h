/* Sorting of index tuples (COO entries, CSF construction). Node-local. */
#ifndef DTF_SORT_H
#define DTF_SORT_H

#include <stdint.h>

#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sort n tuples of `width` int64 in place by their first `keys` columns (non-negative),
 * lexicographically and stably (equal keys keep their order). */
dtf_status dtf_sort_tuples(int64_t *tuples, int64_t n, int width, int keys);

#ifdef __cplusplus
}
#endif
#endif

/* A solver's state or a model as a manifest: named fields (arrays) and attributes, with a
 * header naming the solver and the input. A solver describes itself this way; io/
 * writes any manifest into one HDF5 file and reads it back (dtf_h5_state_*), knowing no
 * solver; a checkpoint is refused for a run it does not belong to (dtf_state_check_resume).
 * File layout: docs/formats.md. */
#ifndef DTF_STATE_H
#define DTF_STATE_H

#include <stdint.h>

#include "dtf/status.h"
#include "dtf/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the layout written; a reader refuses newer ones. */
#define DTF_STATE_FORMAT 1
#define DTF_STATE_MAX_FIELDS 48
#define DTF_STATE_MAX_ATTRS 48
#define DTF_STATE_NAME 48

/* What identifies a tensor without reading it again: its shape, the stored entries over
 * all ranks, ||X||, and a checksum of (global index, value) over the nonzero entries
 * that depends neither on the order or distribution of the entries nor on whether zeros
 * are stored (dtf_tensor_fingerprint). */
typedef struct {
  int nmodes;
  int64_t dims[DTF_MAX_MODES];
  int64_t entries;
  double norm;
  uint64_t checksum;
} dtf_fingerprint_t;

typedef enum {
  DTF_FIELD_REPLICATED, /* the same on every rank: rank 0 writes it, every rank reads all of it */
  DTF_FIELD_ROWS,       /* a rows x cols matrix distributed by rows, like a factor */
  DTF_FIELD_PER_RANK    /* each rank's own vector: a resume needs the same ranks and grid */
} dtf_field_kind_t;

typedef struct {
  char name[DTF_STATE_NAME];
  dtf_field_kind_t kind;
  int64_t rows, cols; /* the whole array (cols 0: a vector); per rank: this rank's length */
  /* rows fields: > 0 for a lead x rows x cols array distributed by its middle index (a
   * tensor-ring core, R_n x I_n x R_{n+1}); data then holds lead x read_len x cols */
  int64_t lead;
  /* replicated fields: > 0 for an array of ndims dimensions of this shape (a Tucker core);
   * rows then holds its size, cols 0 */
  int ndims;
  int64_t shape[DTF_MAX_MODES];
  /* rows fields: data holds rows [read_start, read_start + read_len) (read back into);
   * this rank writes its rows [own_start, own_start + own_len), a part of them */
  int64_t read_start, read_len, own_start, own_len;
  double *data;     /* written from, read into; NULL in a manifest read from a file */
  int undefined_ok; /* may hold NaN or Inf (a history of a value not computed every time) */
} dtf_field_t;

typedef enum { DTF_ATTR_INT, DTF_ATTR_REAL, DTF_ATTR_TEXT, DTF_ATTR_INTS } dtf_attr_type_t;

typedef enum {
  DTF_ATTR_STATE, /* describes the run; restored on resume */
  DTF_ATTR_OPTION /* an option that changes the result: a resume needs the same value */
} dtf_attr_role_t;

/* How an option's value reads in a message (dtf_state_style); flags. */
enum {
  DTF_SHOW_MODES = 1, /* INTS of 0-based modes, shown as the option takes them: 1-based, "3,1,2" */
  DTF_SHOW_UNSET = 2  /* 0, all zeros or "": the option was not given ("no --tol") */
};

typedef struct {
  char name[DTF_STATE_NAME];
  dtf_attr_type_t type;
  dtf_attr_role_t role;
  char flag[32]; /* options: how the user sets it ("--rank"), for messages */
  int64_t i;     /* INT (unsigned attributes keep their bits) */
  double d;      /* REAL */
  char text[128];
  int n; /* INTS */
  int64_t ints[DTF_MAX_MODES];
  int show;         /* DTF_SHOW_* flags */
  int undefined_ok; /* REAL: may be NaN or Inf (the delta of a first iteration) */
} dtf_attr_t;

typedef struct {
  char solver[32]; /* "cp-als" */
  char model[16];  /* "cp" */
  int checkpoint;  /* 1: a solver's whole state (resumable); 0: a model */
  int format;      /* DTF_STATE_FORMAT when built; the file's when read */
  int nmodes;
  int64_t dims[DTF_MAX_MODES];
  int ranks;               /* when read: the ranks and grid that wrote the file */
  int grid[DTF_MAX_MODES]; /* (0 if the file does not say) */
  int have_input;          /* the input fingerprint below is set */
  dtf_fingerprint_t input; /* the tensor the state was computed from */
  int permute;             /* the input's indices were relabelled ... */
  uint64_t permute_seed;   /* ... with this seed (part of the input's identity) */
  int nfields, nattrs, overflow;
  dtf_field_t fields[DTF_STATE_MAX_FIELDS];
  dtf_attr_t attrs[DTF_STATE_MAX_ATTRS];
} dtf_state_t;

/* Start a manifest for `solver`'s model `model` of shape dims (checkpoint: 1 for the
 * whole solver state). */
void dtf_state_init(dtf_state_t *s, const char *solver, const char *model, int checkpoint, int nmodes,
                    const int64_t *dims);

/* Record the input the state belongs to. */
void dtf_state_input(dtf_state_t *s, const dtf_fingerprint_t *fp, int permute, uint64_t permute_seed);

/* Add fields (the data are not copied; see dtf_field_t). */
void dtf_state_replicated(dtf_state_t *s, const char *name, int64_t rows, int64_t cols, double *data);
void dtf_state_rows(dtf_state_t *s, const char *name, int64_t rows, int64_t cols, int64_t read_start,
                    int64_t read_len, int64_t own_start, int64_t own_len, double *data);
/* A lead x rows x cols array distributed by its middle index, data lead x read_len x cols. */
void dtf_state_rows3(dtf_state_t *s, const char *name, int64_t lead, int64_t rows, int64_t cols,
                     int64_t read_start, int64_t read_len, int64_t own_start, int64_t own_len, double *data);
void dtf_state_per_rank(dtf_state_t *s, const char *name, int64_t len, double *data);
/* A replicated array of ndims dimensions (C order), for instance a Tucker core. */
void dtf_state_array(dtf_state_t *s, const char *name, int ndims, const int64_t *shape, double *data);

/* Add attributes (an attribute set twice keeps the later value); `flag` (options only, else
 * NULL) is the command-line spelling. */
void dtf_state_int(dtf_state_t *s, const char *name, dtf_attr_role_t role, const char *flag, int64_t v);
void dtf_state_real(dtf_state_t *s, const char *name, dtf_attr_role_t role, const char *flag, double v);
void dtf_state_text(dtf_state_t *s, const char *name, const char *v);
void dtf_state_ints(dtf_state_t *s, const char *name, dtf_attr_role_t role, const char *flag,
                    const int64_t *v, int n);
/* A text option ("--loss"), which a resume must match. */
void dtf_state_text_option(dtf_state_t *s, const char *name, const char *flag, const char *v);
/* How the option `name` reads in messages (DTF_SHOW_* flags). */
void dtf_state_style(dtf_state_t *s, const char *name, int show);
/* Mark the attribute or field `name` as one that may hold NaN or Inf; every other real
 * value of a checkpoint must be finite (dtf_state_check_resume, dtf_state_check_values). */
void dtf_state_undefined_ok(dtf_state_t *s, const char *name);

/* Look up by name (NULL if absent); the getters return 0, or -1 if absent or of another type. */
const dtf_attr_t *dtf_state_attr(const dtf_state_t *s, const char *name);
const dtf_field_t *dtf_state_field(const dtf_state_t *s, const char *name);
int dtf_state_get_int(const dtf_state_t *s, const char *name, int64_t *v);
int dtf_state_get_real(const dtf_state_t *s, const char *name, double *v);

/* Can the run described by `run` (a checkpoint manifest; its ranks and grid set when it
 * runs on a grid) continue from `file_state`, the manifest read from `file`? DTF_ERR_INPUT
 * naming what differs: a model file rather than a checkpoint, another solver, a newer
 * format, another model, another shape, another value of an option (named as the user
 * gives it), another input or permutation, per-rank state of other ranks or another grid;
 * or a damaged header: an iteration count outside 1..INT_MAX, a negative count, a real
 * attribute that is not finite (unless the run marks it undefined_ok). */
dtf_status dtf_state_check_resume(const dtf_state_t *file_state, const dtf_state_t *run, const char *file);

/* After the fields of s were read from `file`: DTF_ERR_INPUT naming the first field with a
 * NaN or Inf value (unless marked undefined_ok) and where. This rank's part only. */
dtf_status dtf_state_check_values(const dtf_state_t *s, const char *file);

/* Called by a solver's restore with the manifest of its arrays, to be filled from the
 * checkpoint (the CLI passes dtf_h5_state_read). */
typedef dtf_status (*dtf_state_read_fn)(dtf_state_t *into, void *ctx);

#ifdef __cplusplus
}
#endif
#endif

/* What the dtf subcommands share: option parsing, messages, loading, summaries. */
#ifndef DTF_CLI_H
#define DTF_CLI_H

#include <stdint.h>

#include "dtf/dtf.h"

typedef struct {
  const char *cmd; /* "cp", "generate", ... */
  int rank, size;  /* in MPI_COMM_WORLD */
  int quiet;
  const char *json; /* --json FILE or NULL */
  double t_start;
} cli_t;

/* Subcommands: each returns the process exit code. */
int cli_generate(cli_t *c, int argc, char **argv);
int cli_cp(cli_t *c, int argc, char **argv);
int cli_info(cli_t *c, int argc, char **argv);
int cli_eval(cli_t *c, int argc, char **argv);
int cli_convert(cli_t *c, int argc, char **argv);

/* Print (rank 0) "dtf CMD: error: <last message>" and return st as the exit code. */
int cli_fail(const cli_t *c, dtf_status st);
/* Print a usage error with a pointer to --help; returns DTF_ERR_USAGE. */
int cli_usage(const cli_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rank 0 prints to stderr unless --quiet. */
void cli_progress(const cli_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rank 0 prints the result to stdout. */
void cli_result(const cli_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "8G", "512M", "1.5T", "2000000000" -> bytes; 0 on success. */
int cli_bytes_option(const char *s, double *bytes);

/* Strict number parsing; 0 on success. */
int cli_int(const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_double(const char *s, double *out);
/* "300x200x100" -> dims; returns the number of modes, or -1. */
int cli_dims(const char *s, int64_t *dims);
/* --dims: parse into dims and *nmodes; 0, or the usage exit code after the message. */
int cli_dims_option(const cli_t *c, const char *arg, int64_t *dims, int *nmodes);

/* The long options every command takes, to end its option table. */
#define CLI_SHARED_OPTIONS                                                                                   \
  {"json", required_argument, 0, 'j'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {      \
    0, 0, 0, 0                                                                                               \
  }
#define CLI_NEXT (-1)
/* Handle an option the command's own switch did not: --json, --quiet, --help (prints
 * help, returns 0), or an unknown or incomplete one (returns the usage exit code).
 * CLI_NEXT means: carry on parsing. */
int cli_shared_option(cli_t *c, int opt, char **argv, const char *help);

/* How a command wants its tensor loaded. */
typedef struct {
  const char *grid;   /* "AxBxC" or NULL for automatic */
  int finite;         /* dense: refuse NaN/Inf (sparse input is always checked) */
  int sum_duplicates; /* sparse: add entries with equal coordinates instead of refusing them */
  int permute;        /* sparse: relabel every mode's indices at random (seeded) */
  uint64_t seed;
} cli_load_t;

/* What was loaded. */
typedef struct {
  dtf_spec_t spec;
  int elem_bytes;                 /* 4 or 8 for dense, 0 for sparse */
  int64_t nnz;                    /* sparse: distinct nonzeros over all ranks */
  int64_t duplicates;             /* sparse: entries merged into others (with sum_duplicates) */
  int64_t *labels[DTF_MAX_MODES]; /* with permute: original index of each row (free()) */
} cli_loaded_t;

/* Read INPUT onto a grid: an HDF5 dataset is a dense tensor, an HDF5 group a sparse COO
 * tensor, a .tns file FROSTT text; sparse nonzeros are sent to the ranks that own them. */
dtf_status cli_load_tensor(const cli_t *c, const char *input, const cli_load_t *opt, cli_loaded_t *info,
                           dtf_grid_t **grid, dtf_tensor_t **tensor);

/* Start a JSON summary with the keys every command shares. */
dtf_json_t *cli_json_begin(const cli_t *c, const dtf_grid_t *g);
/* Add time_total_s and peak_rss_bytes_max (collective), then write on rank 0. */
dtf_status cli_json_end(const cli_t *c, dtf_json_t *j);

/* "123.4 MB" style */
void cli_bytes(double bytes, char *buf, int size);
/* "300x200x100" */
void cli_format_dims(int n, const int64_t *dims, char *buf, int size);

#endif

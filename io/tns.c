/* FROSTT .tns text in parallel. Reading: rank r takes the lines that start in its
 * balanced byte range of the file (dtf_block_range), reading past the range end to
 * finish its last line; an exclusive scan of the line counts gives every line its number
 * for error messages. Writing: each rank formats its lines, a scan gives its offset, and
 * all write their parts of one file with MPI-IO. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtf/comm.h"
#include "dtf/io.h"
#include "dtf/version.h"
#include "h5util.h"

int dtf_is_tns(const char *name) {
  size_t n = strlen(name);
  return n >= 4 && strcmp(name + n - 4, ".tns") == 0;
}

/* Read bytes [from, from + len) of fd into buf; 0 on success. */
static int read_at(int fd, char *buf, int64_t from, int64_t len) {
  while (len > 0) {
    ssize_t got = pread(fd, buf, (size_t)(len < (1 << 30) ? len : (1 << 30)), (off_t)from);
    if (got <= 0) return -1;
    buf += got;
    from += got;
    len -= got;
  }
  return 0;
}

/* This rank's lines: text[0 .. len) holds the whole lines that start in [a, b), and
 * text[len] is allocated too (a token can be ended in place). */
static dtf_status read_lines(int fd, const char *file, int64_t S, int64_t a, int64_t b, char **text,
                             int64_t *len) {
  int64_t lo = a > 0 ? a - 1 : 0, hi = b, cap = hi - lo + 1;
  char *buf = malloc((size_t)cap);
  if (!buf) return dtf_error(DTF_ERR_INPUT, "out of memory reading '%s'", file);
  if (read_at(fd, buf, lo, hi - lo)) {
    free(buf);
    return dtf_error(DTF_ERR_INPUT, "cannot read '%s': %s", file, strerror(errno));
  }
  /* extend past b until the last line that starts before b is complete */
  int64_t have = hi - lo;
  for (;;) {
    int64_t from = b - 1 - lo > 0 ? b - 1 - lo : 0;
    if (b == 0 || memchr(buf + from, '\n', (size_t)(have - from)) || lo + have >= S) break;
    int64_t more = have < 65536 ? 65536 : have;
    if (lo + have + more > S) more = S - lo - have;
    char *nb = realloc(buf, (size_t)(have + more + 1));
    if (!nb || read_at(fd, nb + have, lo + have, more)) {
      free(nb ? nb : buf);
      return dtf_error(DTF_ERR_INPUT, "cannot read '%s'", file);
    }
    buf = nb;
    have += more;
  }
  /* first line start at or after a */
  int64_t start = 0;
  if (a > 0) {
    char *nl = memchr(buf, '\n', (size_t)have);
    start = nl ? nl - buf + 1 : have;
    if (lo + start >= b) start = have; /* no line starts in my range */
  }
  /* end: just past the newline that ends the line holding byte b - 1 */
  int64_t end = start;
  if (start < have) {
    int64_t from = b - 1 - lo > start ? b - 1 - lo : start;
    char *nl = memchr(buf + from, '\n', (size_t)(have - from));
    end = nl ? nl - buf + 1 : have;
  }
  memmove(buf, buf + start, (size_t)(end - start));
  *text = buf;
  *len = end - start;
  return DTF_OK;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Columns on a data line, or 0 for a blank or comment line. */
static int columns(const char *p, const char *end) {
  while (p < end && is_space(*p)) p++;
  if (p == end || *p == '#') return 0;
  int n = 0;
  while (p < end) {
    while (p < end && is_space(*p)) p++;
    if (p == end) break;
    n++;
    while (p < end && !is_space(*p)) p++;
  }
  return n;
}

dtf_status dtf_tns_read(MPI_Comm comm, const char *file, int nmodes_given, const int64_t *dims_given,
                        dtf_coo_t *out) {
  memset(out, 0, sizeof *out);
  out->tag_is_line = 1;
  int me, P;
  MPI_Comm_rank(comm, &me);
  MPI_Comm_size(comm, &P);
  dtf_status st = DTF_OK;
  int fd = open(file, O_RDONLY);
  struct stat sb;
  if (fd < 0)
    st = dtf_error(DTF_ERR_INPUT, "cannot open '%s': %s", file, strerror(errno));
  else if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode))
    st = dtf_error(DTF_ERR_INPUT, "'%s' is a directory, not a .tns file", file);
  st = dtf_agree(comm, st);
  if (st) {
    if (fd >= 0) close(fd);
    return st;
  }
  int64_t S = (int64_t)sb.st_size, a, blen;
  dtf_block_range(S, P, me, &a, &blen);
  int64_t b = a + blen;
  char *text = NULL;
  int64_t len = 0;
  st = dtf_agree(comm, read_lines(fd, file, S, a, b, &text, &len));
  close(fd);
  if (st) return st;

  /* line numbers: count mine, scan */
  int64_t nlines = 0, first_line = 0;
  for (int64_t i = 0; i < len; i++) nlines += text[i] == '\n';
  if (len > 0 && text[len - 1] != '\n') nlines++;
  st = dtf_exscan_sum_int64(comm, nlines, &first_line);
  first_line += 1;

  /* columns: those of the file's first data line, wherever it is */
  int mycols = 0;
  int64_t myfirst = 0;
  for (int64_t i = 0, line = first_line; i < len && !mycols; line++) {
    char *nl = memchr(text + i, '\n', (size_t)(len - i));
    int64_t e = nl ? nl - text : len;
    if ((mycols = columns(text + i, text + e))) myfirst = line;
    i = e + 1;
  }
  int *cols = malloc((size_t)P * sizeof(int));
  int64_t *firsts = malloc((size_t)P * sizeof(int64_t));
  if (!st) st = dtf_allgather(comm, &mycols, 1, MPI_INT, cols);
  if (!st) st = dtf_allgather(comm, &myfirst, 1, MPI_INT64_T, firsts);
  int ncols = 0;
  int64_t fline = 0;
  for (int q = 0; !st && q < P && !ncols; q++)
    if (cols[q]) {
      ncols = cols[q];
      fline = firsts[q];
    }
  free(cols);
  free(firsts);
  if (st)
    ; /* an MPI failure */
  else if (!ncols)
    st = dtf_error(DTF_ERR_INPUT, "'%s' holds no entries (no data line)", file);
  else if (ncols < 3 || ncols > DTF_MAX_MODES + 1)
    st = dtf_error(DTF_ERR_INPUT,
                   "'%s' line %lld has %d column%s; a .tns line holds 2 to %d indices and a value", file,
                   (long long)fline, ncols, ncols == 1 ? "" : "s", DTF_MAX_MODES);
  else if (nmodes_given > 0 && ncols - 1 != nmodes_given)
    st = dtf_error(DTF_ERR_INPUT, "'%s' line %lld has %d indices but --dims gives %d modes", file,
                   (long long)fline, ncols - 1, nmodes_given);
  if (st) {
    free(text);
    return st;
  }
  int N = ncols - 1;
  out->nmodes = N;
  size_t cap = (size_t)(nlines ? nlines : 1);
  out->inds = malloc(cap * N * sizeof(int64_t));
  out->vals = malloc(cap * sizeof(double));
  out->tags = malloc(cap * sizeof(int64_t));
  if (!out->inds || !out->vals || !out->tags)
    st = dtf_error(DTF_ERR_INPUT, "out of memory parsing '%s'", file);
  int64_t maxi[DTF_MAX_MODES] = {0}, k = 0;
  for (int64_t i = 0, line = first_line; !st && i < len; line++) {
    char *nl = memchr(text + i, '\n', (size_t)(len - i));
    const char *p = text + i, *e = nl ? nl : text + len;
    i = e - text + 1;
    int c = columns(p, e);
    if (!c) continue;
    if (c != ncols) {
      st = dtf_error(DTF_ERR_INPUT,
                     "'%s' line %lld has %d columns, but line %lld has %d (%d indices and a value)", file,
                     (long long)line, c, (long long)fline, ncols, N);
      break;
    }
    for (int col = 0; col < ncols && !st; col++) {
      while (is_space(*p)) p++;
      const char *t = p;
      while (p < e && !is_space(*p)) p++;
      int tl = (int)(p - t);
      if (col < N) {
        int64_t v = 0;
        int ok = tl > 0, big = 0;
        for (const char *q = t; ok && q < p; q++) {
          if (*q < '0' || *q > '9') {
            ok = 0;
            break;
          }
          if (v > (INT64_MAX - 9) / 10) { /* before the multiply that would overflow */
            ok = big = 1;
            break;
          }
          v = v * 10 + (*q - '0');
        }
        if (big)
          st = dtf_error(DTF_ERR_INPUT, "'%s' line %lld: index '%.*s' in column %d is too large", file,
                         (long long)line, tl > 40 ? 40 : tl, t, col + 1);
        else if (!ok)
          st = dtf_error(DTF_ERR_INPUT, "'%s' line %lld: '%.*s' in column %d is not a positive integer index",
                         file, (long long)line, tl > 40 ? 40 : tl, t, col + 1);
        else if (v == 0)
          st = dtf_error(DTF_ERR_INPUT, "'%s' line %lld: index 0 in column %d; .tns indices start at 1", file,
                         (long long)line, col + 1);
        else if (nmodes_given > 0 && v > dims_given[col])
          st = dtf_error(DTF_ERR_INPUT, "'%s' line %lld: index %lld in mode %d is beyond --dims (%lld)", file,
                         (long long)line, (long long)v, col + 1, (long long)dims_given[col]);
        else {
          out->inds[k * N + col] = v - 1;
          if (v > maxi[col]) maxi[col] = v;
        }
      } else {
        /* strtod on the whole token, however long: the text holds a byte past every line
         * (read_lines), so the token can be ended in place for the call */
        char *tok = text + (t - text), save = tok[tl], *endp;
        tok[tl] = '\0';
        errno = 0;
        double v = strtod(tok, &endp);
        int range = errno == ERANGE;
        tok[tl] = save;
        const char *more = tl > 40 ? "..." : "";
        if (endp != tok + tl || isnan(v) || (isinf(v) && !range)) /* not a number, nan, inf */
          st = dtf_error(DTF_ERR_INPUT, "'%s' line %lld: value '%.*s%s' is not a finite number", file,
                         (long long)line, tl > 40 ? 40 : tl, t, more);
        else if (isinf(v)) /* a number beyond the largest double; one below the smallest rounds */
          st = dtf_error(DTF_ERR_INPUT,
                         "'%s' line %lld: value '%.*s%s' overflows a double (its magnitude is above %.17g)",
                         file, (long long)line, tl > 40 ? 40 : tl, t, more, DBL_MAX);
        out->vals[k] = v;
        out->tags[k] = line;
      }
    }
    if (!st) k++;
  }
  free(text);
  st = dtf_agree(comm, st);
  if (!st) {
    out->nnz = k;
    if (nmodes_given > 0)
      memcpy(out->dims, dims_given, (size_t)N * sizeof(int64_t));
    else {
      memcpy(out->dims, maxi, (size_t)N * sizeof(int64_t));
      st = dtf_allreduce(comm, out->dims, N, MPI_INT64_T, MPI_MAX, NULL);
      double cells = 1;
      for (int m = 0; m < N; m++) cells *= (double)out->dims[m];
      if (cells > 9.2e18)
        st = dtf_error(DTF_ERR_INPUT, "'%s': the inferred dims overflow a 64-bit index", file);
    }
  }
  if (st) dtf_coo_free(out);
  return st;
}

/* Shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static int format_value(char *buf, size_t size, double v) {
  for (int prec = 15; prec < 17; prec++) {
    int n = snprintf(buf, size, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return n;
  }
  return snprintf(buf, size, "%.17g", v);
}

dtf_status dtf_tns_write(MPI_Comm comm, const char *file, const dtf_coo_t *c) {
  int N = c->nmodes, me;
  MPI_Comm_rank(comm, &me);
  size_t cap = (size_t)(c->nnz * (N * 8 + 26) + 64 + 40 * DTF_MAX_MODES), used = 0;
  char *buf = malloc(cap);
  dtf_status st = buf ? DTF_OK : dtf_error(DTF_ERR_OUTPUT, "out of memory formatting '%s'", file);
  int64_t nnz = c->nnz;
  dtf_allreduce(comm, &nnz, 1, MPI_INT64_T, MPI_SUM, NULL);
  if (!st && me == 0) { /* dtf's mark (an existing .tns without it is not replaced without --force) */
    used += (size_t)snprintf(buf, cap, "%s%s: ", DTF_TNS_MARK, DTF_VERSION);
    for (int m = 0; m < N; m++)
      used += (size_t)snprintf(buf + used, cap - used, "%s%lld", m ? "x" : "", (long long)c->dims[m]);
    used += (size_t)snprintf(buf + used, cap - used, ", %lld entries\n", (long long)nnz);
  }
  for (int64_t k = 0; !st && k < c->nnz; k++) {
    if (cap - used < (size_t)N * 21 + 40) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        st = dtf_error(DTF_ERR_OUTPUT, "out of memory formatting '%s'", file);
        break;
      }
      buf = nb;
      cap *= 2;
    }
    for (int m = 0; m < N; m++)
      used += (size_t)snprintf(buf + used, cap - used, "%lld ", (long long)c->inds[k * N + m] + 1);
    used += (size_t)format_value(buf + used, cap - used, c->vals[k]);
    buf[used++] = '\n';
  }
  st = dtf_agree(comm, st);
  int64_t mine = (int64_t)used, offset = 0, total = 0;
  if (!st) st = dtf_exscan_sum_int64(comm, mine, &offset);
  total = mine;
  if (!st) st = dtf_allreduce(comm, &total, 1, MPI_INT64_T, MPI_SUM, NULL);
  dtf_output_t out;
  MPI_File fh;
  int opened = 0;
  if (!st) st = dtf_output_begin(comm, file, &out);
  if (!st) {
    st = dtf_output_create(comm, &out, (double)total);
    if (!st) {
      opened = mpiio_open(comm, out.tmp, MPI_MODE_WRONLY, &fh) == MPI_SUCCESS;
      st = opened ? DTF_OK : dtf_error(DTF_ERR_OUTPUT, "cannot open '%s' (for '%s')", out.tmp, file);
      st = dtf_agree(comm, st);
    }
    /* every rank writes its part (a failed rank none), then all agree */
    if (!st) st = out.fault;
    for (size_t done = 0; !st && done < used;) {
      int n = (int)(used - done < (size_t)(1 << 30) ? used - done : (size_t)(1 << 30));
      if (MPI_File_write_at(fh, (MPI_Offset)(offset + (int64_t)done), buf + done, n, MPI_BYTE,
                            MPI_STATUS_IGNORE) != MPI_SUCCESS)
        st = dtf_error(DTF_ERR_OUTPUT, "writing '%s' failed (disk full?)", file);
      done += (size_t)n;
    }
    if (opened) {
      if (MPI_File_sync(fh) != MPI_SUCCESS && !st)
        st = dtf_error(DTF_ERR_OUTPUT, "writing '%s' failed", file);
      MPI_File_close(&fh);
    }
    st = dtf_output_end(comm, &out, st);
  }
  free(buf);
  return st;
}

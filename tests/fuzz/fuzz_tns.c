/* libFuzzer target: the FROSTT .tns parser on arbitrary bytes. Whatever it accepts must
 * be in range and must be what the text says: one entry per data line, each index the
 * decimal integer of its token and each value bit for bit strtod's reading of its whole
 * token, however long; whatever it refuses must be refused with a message, never a crash. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtf/dtf.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  MPI_Init(argc, argv);
  snprintf(path, sizeof path, "/tmp/dtf-fuzz-tns-%d.tns", (int)getpid());
  return 0;
}

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* The entries of an accepted file against its text: line starts ls[0 .. nl). */
static void check_entries(const dtf_coo_t *c, const char *text, size_t n) {
  size_t *ls = malloc((n + 2) * sizeof(size_t)), nl = 0;
  ls[nl++] = 0;
  for (size_t i = 0; i < n; i++)
    if (text[i] == '\n') ls[nl++] = i + 1;
  int64_t data_lines = 0;
  for (size_t l = 0; l < nl; l++) {
    size_t i = ls[l], e = l + 1 < nl ? ls[l + 1] - 1 : n;
    while (i < e && blank(text[i])) i++;
    data_lines += i < e && text[i] != '#';
  }
  if (c->nnz != data_lines) abort(); /* one entry per data line */
  int N = c->nmodes;
  for (int64_t k = 0; k < c->nnz; k++) {
    int64_t line = c->tags[k];
    if (line < 1 || (size_t)line > nl) abort();
    size_t i = ls[line - 1], e = (size_t)line < nl ? ls[line] - 1 : n;
    for (int col = 0; col <= N; col++) {
      while (i < e && blank(text[i])) i++;
      size_t t = i;
      while (i < e && !blank(text[i])) i++;
      if (i == t) abort(); /* fewer tokens than columns */
      if (col < N) {
        int64_t v = 0;
        for (size_t q = t; q < i; q++) {
          if (text[q] < '0' || text[q] > '9') abort();
          v = v * 10 + (text[q] - '0'); /* accepted: no overflow */
        }
        if (c->inds[k * N + col] != v - 1) abort();
      } else {
        char *tok = malloc(i - t + 1);
        memcpy(tok, text + t, i - t);
        tok[i - t] = '\0';
        double ref = strtod(tok, NULL);
        free(tok);
        if (memcmp(&ref, &c->vals[k], sizeof ref)) abort(); /* strtod on the whole token */
      }
    }
    while (i < e && blank(text[i])) i++;
    if (i != e) abort(); /* more tokens than columns */
  }
  free(ls);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  /* the first byte, when it is '!', asks for given dims (3 modes of size 5) */
  int given = size > 0 && data[0] == '!';
  fwrite(data + given, 1, size - (size_t)given, f);
  fclose(f);
  int64_t dims[3] = {5, 5, 5};
  dtf_coo_t c;
  dtf_status st = dtf_tns_read(MPI_COMM_SELF, path, given ? 3 : 0, given ? dims : NULL, &c);
  if (st == DTF_OK) {
    if (c.nmodes < 2 || c.nmodes > DTF_MAX_MODES || c.nnz < 1) abort();
    for (int64_t k = 0; k < c.nnz; k++)
      for (int m = 0; m < c.nmodes; m++)
        if (c.inds[k * c.nmodes + m] < 0 || c.inds[k * c.nmodes + m] >= c.dims[m]) abort();
    check_entries(&c, (const char *)data + given, size - (size_t)given);
    dtf_coo_free(&c);
  } else if (!dtf_error_message()[0])
    abort(); /* a refusal without a message */
  return 0;
}

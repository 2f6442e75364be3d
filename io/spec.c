/* Input specs ("file.h5:/path") and early checks on output paths. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtf/comm.h"
#include "dtf/io.h"

dtf_status dtf_spec_parse(const char *text, const char *default_path, dtf_spec_t *out) {
  memset(out, 0, sizeof *out);
  if (!text || !*text) return dtf_error(DTF_ERR_USAGE, "empty input or output name");
  const char *sep = strstr(text, ":/");
  size_t flen = sep ? (size_t)(sep - text) : strlen(text);
  const char *path = sep ? sep + 1 : default_path;
  if (flen == 0) return dtf_error(DTF_ERR_USAGE, "'%s' names no file before ':'", text);
  if (flen >= sizeof out->file || strlen(path) >= sizeof out->path)
    return dtf_error(DTF_ERR_USAGE, "'%s' is too long", text);
  memcpy(out->file, text, flen);
  snprintf(out->path, sizeof out->path, "%s", path);
  return DTF_OK;
}

/* Canonical name of a file that may not exist yet: its directory resolved, then its name. */
static int canonical(const char *file, char *out, size_t size) {
  char d[4096], b[4096], dir[PATH_MAX];
  snprintf(d, sizeof d, "%s", file);
  snprintf(b, sizeof b, "%s", file);
  if (!realpath(dirname(d), dir)) return -1;
  snprintf(out, size, "%s/%s", dir, basename(b));
  return 0;
}

dtf_status dtf_check_distinct(MPI_Comm comm, const char *in, const char *out, const char *what) {
  int me;
  MPI_Comm_rank(comm, &me);
  dtf_status st = DTF_OK;
  if (me == 0) {
    struct stat a, b;
    char ca[8200], cb[8200];
    int same = strcmp(in, out) == 0;
    if (!same && stat(in, &a) == 0 && stat(out, &b) == 0) same = a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    if (!same && canonical(in, ca, sizeof ca) == 0 && canonical(out, cb, sizeof cb) == 0)
      same = !strcmp(ca, cb);
    if (same) st = dtf_error(DTF_ERR_USAGE, "'%s' is given as both %s: refusing to overwrite it", out, what);
  }
  return dtf_agree(comm, st);
}

dtf_status dtf_check_writable(MPI_Comm comm, const char *file) {
  int me;
  MPI_Comm_rank(comm, &me);
  dtf_status st = DTF_OK;
  if (me == 0) {
    struct stat sb;
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", file);
    const char *dir = dirname(copy);
    if (stat(file, &sb) == 0 && S_ISDIR(sb.st_mode))
      st = dtf_error(DTF_ERR_OUTPUT, "cannot write '%s': it is a directory", file);
    else if (stat(dir, &sb) != 0)
      st = dtf_error(DTF_ERR_OUTPUT, "cannot write '%s': directory '%s' does not exist", file, dir);
    else if (!S_ISDIR(sb.st_mode))
      st = dtf_error(DTF_ERR_OUTPUT, "cannot write '%s': '%s' is not a directory", file, dir);
    else if (access(dir, W_OK) != 0)
      st = dtf_error(DTF_ERR_OUTPUT, "cannot write '%s': directory '%s' is not writable (%s)", file, dir,
                     strerror(errno));
  }
  return dtf_agree(comm, st);
}

/* Outputs that never destroy a file. Every output is checked before any work (name,
 * directory, space, kind of file, links to an input, other data it holds), then written
 * under a temporary name unique to the run, created exclusively beside it, with its
 * space reserved before the data are written, and renamed over the final name only when
 * complete and agreed by every rank. Rank 0 does the file-system work; the others learn
 * the result from it. */
#define _GNU_SOURCE /* fallocate(FALLOC_FL_KEEP_SIZE) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "dtf/comm.h"
#include "dtf/format.h"
#include "dtf/fault.h"
#include "dtf/io.h"
#include "h5util.h"

/* ".<base>.<16 hex digits>.dtf-tmp": the characters a temporary name adds to the base */
#define TMP_EXTRA 26
#define TMP_SUFFIX ".dtf-tmp"

/* The temporaries between dtf_output_begin and dtf_output_end, for dtf_output_abandon: a
 * slot is filled before it is counted, and uncounted before it is cleared. */
#define MAX_PENDING 4
static char pending[MAX_PENDING][4200]; /* dtf_output_t.tmp */
static volatile sig_atomic_t npending;

static void pending_add(const char *tmp) {
  if (npending == MAX_PENDING) return;
  snprintf(pending[npending], sizeof pending[0], "%s", tmp);
  npending = npending + 1;
}

static void pending_remove(const char *tmp) {
  for (int k = 0; k < npending; k++)
    if (!strcmp(pending[k], tmp)) {
      npending = npending - 1; /* the last slot moves into this one while it is uncounted */
      if (k != npending) memcpy(pending[k], pending[npending], sizeof pending[0]);
      return;
    }
}

void dtf_output_abandon(void) {
  for (int k = 0; k < npending; k++) unlink(pending[k]);
}

/* Copy src into dst of `size` bytes, cut if longer (the callers check lengths first). */
static void copy(char *dst, size_t size, const char *src) {
  size_t n = strlen(src);
  if (n >= size) n = size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static void split(const char *path, char *dir, char *base) {
  char a[4096], b[4096];
  copy(a, sizeof a, path);
  copy(b, sizeof b, path);
  copy(dir, 4096, dirname(a));
  copy(base, 4096, basename(b));
}

static uint64_t random64(void) {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
  }
  return r;
}

static void temp_name(const char *final, char *tmp, size_t size) {
  char dir[4096], base[4096];
  split(final, dir, base);
  char tail[64];
  snprintf(tail, sizeof tail, ".%016llx" TMP_SUFFIX, (unsigned long long)random64());
  size_t dl = strlen(dir), bl = strlen(base), tl = strlen(tail);
  if (dl + bl + tl + 3 > size) bl = size > dl + tl + 3 ? size - dl - tl - 3 : 0;
  memcpy(tmp, dir, dl);
  tmp[dl] = '/';
  tmp[dl + 1] = '.';
  memcpy(tmp + dl + 2, base, bl);
  memcpy(tmp + dl + 2 + bl, tail, tl + 1);
}

static const char *kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

/* The name an output is written under: an existing symbolic link is followed to its
 * target, so the link stays and its target is replaced. */
static dtf_status resolve(const char *name, const char *role, char *final, size_t size) {
  struct stat sb;
  if (lstat(name, &sb) == 0 && S_ISLNK(sb.st_mode)) {
    char target[PATH_MAX];
    if (!realpath(name, target)) {
      char link[PATH_MAX];
      ssize_t n = readlink(name, link, sizeof link - 1);
      link[n > 0 ? n : 0] = '\0';
      return dtf_error(DTF_ERR_OUTPUT, "%s '%s' is a symbolic link to '%s', which %s", role, name, link,
                       errno == ENOENT ? "does not exist" : strerror(errno));
    }
    snprintf(final, size, "%s", target);
  } else
    snprintf(final, size, "%s", name);
  return DTF_OK;
}

/* Rank 0's status and a string, to every rank. */
static dtf_status share(MPI_Comm comm, dtf_status st, char *text, int size) {
  st = dtf_agree(comm, st);
  if (!st) st = dtf_bcast(comm, text, size, 0);
  return st;
}

dtf_status dtf_output_begin(MPI_Comm comm, const char *name, dtf_output_t *out) {
  int me;
  MPI_Comm_rank(comm, &me);
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", name);
  dtf_status st = DTF_OK;
  if (me == 0) {
    st = resolve(name, "output", out->final, sizeof out->final);
    if (!st) temp_name(out->final, out->tmp, sizeof out->tmp);
  }
  st = share(comm, st, out->final, sizeof out->final);
  if (!st) st = share(comm, st, out->tmp, sizeof out->tmp);
  if (!st) pending_add(out->tmp);
  if (!st) out->fault = dtf_fault_status("write", 0, DTF_ERR_OUTPUT);
  return st;
}

static dtf_status no_space(const char *name, const char *dir, double bytes) {
  struct statvfs vs;
  char need[32], have[32] = "too little";
  dtf_format_bytes(bytes, need, sizeof need);
  if (statvfs(dir, &vs) == 0) dtf_format_bytes((double)vs.f_bavail * (double)vs.f_frsize, have, sizeof have);
  return dtf_error(DTF_ERR_OUTPUT,
                   "not enough space to write '%s': it needs about %s and the file system of '%s' has %s "
                   "available (or the quota is reached)",
                   name, need, dir, have);
}

dtf_status dtf_output_create(MPI_Comm comm, const dtf_output_t *out, double bytes) {
  int me;
  MPI_Comm_rank(comm, &me);
  dtf_status st = DTF_OK;
  if (me == 0) {
    int fd = open(out->tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0666);
    if (fd < 0)
      st = dtf_error(DTF_ERR_OUTPUT, "cannot create '%s' (for '%s'): %s", out->tmp, out->name,
                     strerror(errno));
    else {
#ifdef FALLOC_FL_KEEP_SIZE
      /* allocate the blocks now without changing the size: a full disk or quota fails here,
       * where every rank can agree, not inside a collective write; a file system without
       * fallocate (DTF_FAULT=0:0:unreserved stands for one) writes unreserved */
      if (bytes > 0 && !dtf_fault("unreserved", 0) &&
          fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes) != 0 && (errno == ENOSPC || errno == EDQUOT)) {
        char dir[4096], base[4096];
        split(out->final, dir, base);
        st = no_space(out->name, dir, bytes);
      }
#endif
      close(fd);
      if (st) unlink(out->tmp);
    }
  }
  dtf_fault_raise("output"); /* DTF_FAULT=RANK:SIG:output: a signal now that the temporary exists */
  return dtf_agree(comm, st);
}

dtf_status dtf_output_end(MPI_Comm comm, const dtf_output_t *out, dtf_status st) {
  int me;
  MPI_Comm_rank(comm, &me);
  st = dtf_agree(comm, st);
  dtf_status mine = DTF_OK;
  pending_remove(out->tmp);
  if (me == 0 && out->tmp[0]) {
    struct stat sb;
    if (st)
      unlink(out->tmp);
    else {
      /* give back the reserved blocks beyond the end, make the data durable, rename */
      int fd = open(out->tmp, O_WRONLY | O_NOFOLLOW);
      if (fd >= 0) {
        if (fstat(fd, &sb) == 0 && ftruncate(fd, sb.st_size) != 0) {
          /* the file is complete; the reservation stays allocated, nothing is lost */
        }
        if (fsync(fd) != 0 && errno != EINVAL)
          mine = dtf_error(DTF_ERR_OUTPUT, "cannot write '%s' to disk: %s", out->name, strerror(errno));
        close(fd);
      }
      int injected = dtf_fault("rename", 0);
      if (!mine && (injected || rename(out->tmp, out->final) != 0))
        mine = dtf_error(DTF_ERR_OUTPUT, "cannot rename '%s' to '%s': %s", out->tmp, out->final,
                         injected ? "fault injected by DTF_FAULT at rename" : strerror(errno));
      if (mine) unlink(out->tmp);
      char dir[4096], base[4096];
      split(out->final, dir, base);
      int dfd = open(dir, O_RDONLY | O_DIRECTORY);
      if (dfd >= 0) {
        fsync(dfd); /* the rename itself survives a crash of this node */
        close(dfd);
      }
    }
  }
  return st ? st : dtf_agree(comm, mine);
}

/* ---- inputs ---------------------------------------------------------------------------- */

static void add_input(dtf_input_files_t *in, const char *file, const char *via) {
  struct stat sb;
  if (in->n == DTF_MAX_INPUT_FILES || stat(file, &sb) != 0) return;
  for (int k = 0; k < in->n; k++)
    if (in->dev[k] == (uint64_t)sb.st_dev && in->ino[k] == (uint64_t)sb.st_ino) return;
  snprintf(in->file[in->n], sizeof in->file[0], "%s", file);
  snprintf(in->via[in->n], sizeof in->via[0], "%s", via ? via : "");
  in->dev[in->n] = (uint64_t)sb.st_dev;
  in->ino[in->n] = (uint64_t)sb.st_ino;
  in->n++;
}

/* The files holding each object on the way to `path`: external links lead to others. */
static void add_h5_files(dtf_input_files_t *in, const char *file, const char *path) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (fid < 0) return;
  char prefix[1024];
  size_t len = strlen(path);
  for (size_t i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    snprintf(prefix, sizeof prefix, "%.*s", (int)i, path);
    if (H5Lexists(fid, prefix, H5P_DEFAULT) <= 0) break;
    hid_t obj = H5Oopen(fid, prefix, H5P_DEFAULT);
    if (obj < 0) break;
    hid_t holder = H5Iget_file_id(obj);
    char name[4096] = "";
    if (holder >= 0 && H5Fget_name(holder, name, sizeof name) > 0) {
      char via[1100];
      snprintf(via, sizeof via, "an HDF5 external link on the way to '%s:%s'", file, path);
      add_input(in, name, via);
    }
    if (holder >= 0) H5Fclose(holder);
    H5Oclose(obj);
  }
  H5Fclose(fid);
}

dtf_status dtf_input_files(MPI_Comm comm, const dtf_spec_t *spec, dtf_input_files_t *in) {
  int me;
  MPI_Comm_rank(comm, &me);
  if (me == 0) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* dtf reports errors itself */
    add_input(in, spec->file, NULL);
    if (!dtf_is_tns(spec->file) && H5Fis_hdf5(spec->file) > 0) add_h5_files(in, spec->file, spec->path);
  }
  return dtf_bcast(comm, in, (int)sizeof *in, 0);
}

/* ---- checks before the work ------------------------------------------------------------ */

/* Objects of an existing HDF5 file that writing it anew would lose. */
typedef struct {
  const char *keep; /* the path the run writes (and everything under it) */
  char found[512];
  char last[1100]; /* the last object named: its members are not named again */
  int n;
} visit_t;

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
  (void)obj;
  (void)info;
  visit_t *v = data;
  if (!strcmp(name, ".")) return 0;
  char full[1100];
  snprintf(full, sizeof full, "/%s", name);
  size_t kl = strlen(v->keep);
  int inside = !strncmp(full, v->keep, kl) && (full[kl] == '\0' || full[kl] == '/');
  int above = !strncmp(v->keep, full, strlen(full)) && v->keep[strlen(full)] == '/';
  size_t ll = strlen(v->last);
  if (inside || above || (ll && !strncmp(full, v->last, ll) && full[ll] == '/')) return 0;
  copy(v->last, sizeof v->last, full);
  if (v->n++ < 3) {
    size_t used = strlen(v->found);
    snprintf(v->found + used, sizeof v->found - used, "%s'%s'", used ? ", " : "", full);
  }
  return 0;
}

static dtf_status refuse(const dtf_output_spec_t *o, const char *why) {
  return dtf_error(DTF_ERR_OUTPUT,
                   "%s '%s' exists and %s: refusing to replace it (remove it, or use --force)", o->role,
                   o->name, why);
}

/* Does the text file begin as dtf writes this kind: DTF_TNS_MARK, or a JSON summary's
 * '{' with "dtf_version" among its first keys? */
static int text_marked(const char *final, dtf_output_kind_t kind) {
  char head[512] = "";
  FILE *f = fopen(final, "r");
  if (!f) return 0;
  size_t n = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  head[n] = '\0';
  if (kind == DTF_OUT_TNS) return !strncmp(head, DTF_TNS_MARK, strlen(DTF_TNS_MARK));
  const char *p = head + strspn(head, " \t\r\n");
  return *p == '{' && strstr(p, "\"dtf_version\": \"") != NULL;
}

/* An existing file that writing the output would replace: only one dtf wrote as this kind
 * of output and, for a tensor, holding nothing else. */
static dtf_status check_contents(const dtf_output_spec_t *o, const char *final, const struct stat *sb) {
  if (sb->st_size == 0 || o->kind == DTF_OUT_RESUMED) return DTF_OK; /* nothing to lose (mktemp's name) */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  int h5 = H5Fis_hdf5(final) > 0;
  if (o->kind == DTF_OUT_JSON || o->kind == DTF_OUT_TNS) {
    if (h5)
      return refuse(o, o->kind == DTF_OUT_JSON ? "is an HDF5 file, not a JSON summary"
                                               : "is an HDF5 file, not .tns text");
    if (text_marked(final, o->kind)) return DTF_OK;
    return refuse(o, o->kind == DTF_OUT_JSON
                         ? "is not a JSON summary written by dtf"
                         : "is not a .tns file written by dtf (its first line is not '" DTF_TNS_MARK "...')");
  }
  if (!h5) return refuse(o, "is not an HDF5 file");
  hid_t fid = H5Fopen(final, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (fid < 0) return dtf_error(DTF_ERR_OUTPUT, "%s '%s' exists but cannot be opened", o->role, o->name);
  dtf_status st = DTF_OK;
  if (o->kind == DTF_OUT_MODEL) {
    if (H5Aexists(fid, "model") <= 0)
      st = refuse(o, "is not a dtf model or checkpoint (no attribute 'model')");
  } else {
    visit_t v = {o->path ? o->path : "/X", "", "", 0};
    H5Ovisit(fid, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &v);
    if (v.n)
      st = dtf_error(DTF_ERR_OUTPUT,
                     "%s '%s' already holds other data (%s%s); dtf writes whole files, so writing '%s' "
                     "would delete them: choose another file, or use --force",
                     o->role, o->name, v.found, v.n > 3 ? ", ..." : "", v.keep);
  }
  if (!st && H5Aexists(fid, "dtf_version") <= 0)
    st = refuse(o, "was not written by dtf (no root attribute 'dtf_version')");
  H5Fclose(fid);
  return st;
}

/* The file's attributes (chattr): 0 where the file system has none. */
static long fs_flags(const char *path, int dir) {
  long flags = 0;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | (dir ? O_DIRECTORY : 0));
  if (fd < 0) return 0;
  if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) flags = 0;
  close(fd);
  return flags;
}

/* Temporaries of this output left by runs that were killed: named, not removed. */
static void stale(const char *dir, const char *base, const char *name, dtf_log_fn log, void *ctx) {
  DIR *d = opendir(dir);
  if (!d || !log) {
    if (d) closedir(d);
    return;
  }
  size_t bl = strlen(base), sl = strlen(TMP_SUFFIX);
  struct dirent *e;
  int shown = 0;
  while ((e = readdir(d)) && shown < 3) {
    size_t n = strlen(e->d_name);
    if (n != bl + TMP_EXTRA || e->d_name[0] != '.' || strncmp(e->d_name + 1, base, bl) ||
        e->d_name[bl + 1] != '.' || strcmp(e->d_name + n - sl, TMP_SUFFIX))
      continue;
    char path[8300], msg[9000], size[32];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (lstat(path, &sb) != 0) continue;
    dtf_format_bytes((double)sb.st_size, size, sizeof size);
    snprintf(msg, sizeof msg,
             "warning: '%s' (%s, owner uid %u) is the temporary of a run writing '%s' that did not finish "
             "(killed?) or is still running; dtf leaves it alone",
             path, size, (unsigned)sb.st_uid, name);
    log(msg, ctx);
    shown++;
  }
  closedir(d);
}

static dtf_status check_one(const dtf_output_spec_t *o, const dtf_input_files_t *ins, int nins, int force,
                            dtf_log_fn log, void *ctx, char *final) {
  const char *name = o->name;
  if (!name || !*name) return dtf_error(DTF_ERR_USAGE, "%s is an empty name", o->role);
  size_t len = strlen(name);
  if (name[len - 1] == '/' || !strcmp(name, ".") || !strcmp(name, "..") ||
      (len >= 2 && !strcmp(name + len - 2, "/.")) || (len >= 3 && !strcmp(name + len - 3, "/..")))
    return dtf_error(DTF_ERR_OUTPUT, "cannot write %s '%s': it names a directory, not a file", o->role, name);
  if (len >= 4000) return dtf_error(DTF_ERR_OUTPUT, "%s '%.60s...' is too long a path", o->role, name);
  dtf_status st = resolve(name, o->role, final, 4096);
  if (st) return st;
  char dir[4096], base[4096];
  split(final, dir, base);
  struct stat sb, lsb;
  int exists = stat(final, &sb) == 0;
  if (exists && !S_ISREG(sb.st_mode))
    return dtf_error(DTF_ERR_OUTPUT,
                     "cannot write %s '%s': it is %s, not a regular file (dtf writes a complete file and "
                     "renames it over the name)",
                     o->role, name, kind_of(sb.st_mode));
  for (int k = 0; exists && k < nins; k++)
    for (int j = 0; j < ins[k].n; j++) {
      if (ins[k].dev[j] != (uint64_t)sb.st_dev || ins[k].ino[j] != (uint64_t)sb.st_ino) continue;
      char how[1300] = "";
      if (ins[k].via[j][0])
        snprintf(how, sizeof how, " (through %s)", ins[k].via[j]);
      else if (lstat(name, &lsb) == 0 && S_ISLNK(lsb.st_mode))
        snprintf(how, sizeof how, " (through a symbolic link)");
      else if (strcmp(name, ins[k].file[j]) && sb.st_nlink > 1)
        snprintf(how, sizeof how, " (through a hard link)");
      if (!ins[k].via[j][0] && !strcmp(name, ins[k].file[j]))
        return dtf_error(DTF_ERR_USAGE, "%s '%s' is also the input: refusing to overwrite it", o->role, name);
      return dtf_error(DTF_ERR_USAGE, "%s '%s' is the input file '%s'%s: refusing to overwrite it", o->role,
                       name, ins[k].file[j], how);
    }
  if (stat(dir, &lsb) != 0)
    return dtf_error(DTF_ERR_OUTPUT, "cannot write %s '%s': directory '%s' does not exist", o->role, name,
                     dir);
  if (!S_ISDIR(lsb.st_mode))
    return dtf_error(DTF_ERR_OUTPUT, "cannot write %s '%s': '%s' is not a directory", o->role, name, dir);
  long name_max = pathconf(dir, _PC_NAME_MAX);
  if (name_max <= 0) name_max = NAME_MAX;
  if ((long)strlen(base) + TMP_EXTRA > name_max)
    return dtf_error(DTF_ERR_OUTPUT,
                     "cannot write %s '%s': its file name has %zu characters; dtf writes it first under a "
                     "temporary name %d characters longer, beyond the limit of %ld of this file system",
                     o->role, name, strlen(base), TMP_EXTRA, name_max);
  /* a temporary is renamed over the name: neither may be fixed in place */
  long dflags = fs_flags(dir, 1), fflags = exists ? fs_flags(final, 0) : 0;
  if (dflags & (FS_IMMUTABLE_FL | FS_APPEND_FL))
    return dtf_error(DTF_ERR_OUTPUT,
                     "cannot write %s '%s': directory '%s' is %s (chattr), so a file written there cannot be "
                     "renamed into place",
                     o->role, name, dir, dflags & FS_IMMUTABLE_FL ? "immutable" : "append-only");
  if (fflags & (FS_IMMUTABLE_FL | FS_APPEND_FL))
    return dtf_error(DTF_ERR_OUTPUT,
                     "cannot write %s '%s': the existing file is %s (chattr) and cannot be replaced", o->role,
                     name, fflags & FS_IMMUTABLE_FL ? "immutable" : "append-only");
  /* the real test of the directory: create (exclusively), rename and remove a temporary */
  char probe[4200], moved[4200];
  temp_name(final, probe, sizeof probe);
  temp_name(final, moved, sizeof moved);
  int fd = open(probe, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0600);
  if (fd < 0)
    return dtf_error(DTF_ERR_OUTPUT, "cannot write %s '%s': cannot create files in directory '%s' (%s)",
                     o->role, name, dir, strerror(errno));
  close(fd);
  if (rename(probe, moved) != 0 || unlink(moved) != 0) {
    int e = errno;
    unlink(probe);
    return dtf_error(
        DTF_ERR_OUTPUT,
        "cannot write %s '%s': files created in directory '%s' cannot be renamed or removed (%s)", o->role,
        name, dir, strerror(e));
  }
  struct statvfs vs;
  double need = o->bytes > 0 ? o->bytes : 1; /* whatever the size, not on a full file system */
  if (!dtf_fault("unreserved", 0) && statvfs(dir, &vs) == 0 &&
      (double)vs.f_bavail * (double)vs.f_frsize < need)
    return no_space(name, dir, o->bytes > 0 ? o->bytes : (double)vs.f_frsize);
  if (exists && !force && (st = check_contents(o, final, &sb))) return st;
  stale(dir, base, name, log, ctx);
  return DTF_OK;
}

/* The same file, whether it exists yet or not: equal directories and names, or inodes. */
static int same_output(const char *a, const char *b) {
  char da[4096], ba[4096], db[4096], bb[4096], ra[PATH_MAX], rb[PATH_MAX];
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  split(a, da, ba);
  split(b, db, bb);
  return realpath(da, ra) && realpath(db, rb) && !strcmp(ra, rb) && !strcmp(ba, bb);
}

dtf_status dtf_outputs_check(MPI_Comm comm, const dtf_output_spec_t *outs, int nouts,
                             const dtf_input_files_t *ins, int nins, int force, dtf_log_fn log, void *ctx) {
  int me;
  MPI_Comm_rank(comm, &me);
  dtf_status st = DTF_OK;
  if (me == 0) {
    char final[DTF_MAX_OUTPUTS][4096];
    for (int k = 0; !st && k < nouts && k < DTF_MAX_OUTPUTS; k++) {
      st = check_one(&outs[k], ins, nins, force, log, ctx, final[k]);
      for (int j = 0; !st && j < k; j++)
        if (same_output(final[j], final[k]))
          st = dtf_error(DTF_ERR_USAGE, "'%s' is given as both %s and %s", outs[k].name, outs[j].role,
                         outs[k].role);
    }
  }
  return dtf_agree(comm, st);
}

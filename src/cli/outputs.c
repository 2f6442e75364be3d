/* A command's inputs and outputs, checked together before any work (io/output.c does the
 * checking): nothing that would fail at the end of a long run is found only then. */
#include <string.h>

#include "cli.h"

dtf_status cli_files_input(cli_files_t *f, const char *text) {
  if (f->nin == (int)(sizeof f->in / sizeof f->in[0])) return DTF_OK;
  dtf_spec_t spec;
  dtf_status st = dtf_spec_parse(text, "/X", &spec);
  if (st) return st;
  dtf_input_files_t *in = &f->in[f->nin++];
  memset(in, 0, sizeof *in);
  return dtf_input_files(MPI_COMM_WORLD, &spec, in);
}

void cli_files_output(cli_files_t *f, const char *name, const char *path, dtf_output_kind_t kind,
                      const char *role, double bytes) {
  if (!name || f->nout == DTF_MAX_OUTPUTS) return;
  f->out[f->nout++] = (dtf_output_spec_t){name, path, kind, role, bytes};
}

void cli_files_checkpoint(cli_files_t *f, const char *name, int resume) {
  cli_files_output(f, name, NULL, resume ? DTF_OUT_RESUMED : DTF_OUT_MODEL, "--checkpoint", 0);
}

int cli_files_check(const cli_t *c, cli_files_t *f, int force) {
  cli_files_output(f, c->json, NULL, DTF_OUT_JSON, "--json", 0);
  dtf_status st =
      dtf_outputs_check(MPI_COMM_WORLD, f->out, f->nout, f->in, f->nin, force, cli_log, (void *)c);
  return st ? cli_fail(c, st) : 0;
}

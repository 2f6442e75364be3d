/* Reading a model file of any kind onto a grid, for eval and predict. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

dtf_status cli_model_peek(const char *file, cli_model_t *m) {
  memset(m, 0, sizeof *m);
  if (!(m->header = malloc(sizeof *m->header))) return dtf_error(DTF_ERR_INPUT, "out of memory");
  dtf_status st = dtf_h5_state_peek(MPI_COMM_WORLD, file, m->header);
  if (!st && !(m->kind = dtf_model_kind(m->header->model)))
    st = dtf_error(DTF_ERR_INPUT,
                   m->header->model[0] ? "'%s' holds a model of kind '%s', which this dtf cannot read"
                                       : "'%s' is not a dtf model file (no root attribute 'model')%s",
                   file, m->header->model);
  const dtf_attr_t *a = dtf_state_attr(m->header, "likelihood");
  const char *lik = a && a->type == DTF_ATTR_TEXT ? a->text : "gaussian";
  if (!st && !(m->lik = dtf_likelihood(lik)))
    st = dtf_error(DTF_ERR_INPUT, "'%s' has the likelihood '%s', which this dtf does not know", file, lik);
  return st;
}

dtf_status cli_model_read(const char *file, const dtf_grid_t *g, const char *input, cli_model_t *m) {
  dtf_status st = cli_model_peek(file, m);
  const dtf_state_t *h = m->header;
  if (!st && (h->nmodes != g->nmodes || memcmp(h->dims, g->dims, (size_t)g->nmodes * sizeof(int64_t)))) {
    char a[128], b[128];
    dtf_format_dims(h->nmodes, h->dims, a, sizeof a);
    dtf_format_dims(g->nmodes, g->dims, b, sizeof b);
    st = dtf_error(DTF_ERR_INPUT, "model '%s' is %s but %s is %s", file, a, input, b);
  }
  dtf_state_t *fields = malloc(sizeof *fields);
  if (!st && !fields) st = dtf_error(DTF_ERR_INPUT, "out of memory");
  if (!st) st = m->kind->create(g, h, file, &m->model, fields);
  if (!st) st = dtf_model_bias_fields(g, h, file, &m->bias, fields);
  if (!st) st = dtf_h5_state_read(g, file, fields);
  if (!st) st = m->kind->check(g, m->model, file);
  if (!st) st = dtf_model_bias_check(g, &m->bias, file);
  free(fields);
  return st;
}

void cli_model_predict(const cli_model_t *m, int64_t count, const int64_t *inds, double *x) {
  m->kind->predict(m->model, count, inds, x);
  dtf_model_bias_add(&m->bias, count, inds, x);
}

dtf_status cli_model_fit(const cli_model_t *m, const dtf_grid_t *g, dtf_tensor_t *t, double *fit) {
  if (m->bias.on) return dtf_model_fit_cells(g, t, m->kind, m->model, &m->bias, fit);
  return m->kind->fit(g, t, m->model, fit);
}

void cli_model_free(cli_model_t *m) {
  if (m->model) m->kind->destroy(m->model);
  dtf_model_bias_free(&m->bias);
  free(m->header);
  memset(m, 0, sizeof *m);
}

/* The GCP solver's state, shared by its files: src/gcp.c (set-up, steps, epochs, state),
 * src/gcp_sample.c (the entries a step reads: samples, the loss estimate, the local
 * gradients), src/gcp_init.c (the initial factors), src/gcp_budget.c (the compressed
 * gradient's check and its adaptive budget). Not installed: the library's interface is
 * include/dtf/gcp.h. */
#ifndef DTF_GCP_IMPL_H
#define DTF_GCP_IMPL_H

#include "dtf/gcp.h"

enum { ALL, UNIFORM, STORED, STRATIFIED }; /* how a step reads the entries */
enum { CHUNK = 4096 };

typedef struct { /* a list of local entries with weights */
  int64_t n, cap, *inds;
  double *x, *w, *m;
} sample_t;

struct dtf_gcp {
  const dtf_grid_t *grid;
  dtf_tensor_t *t;
  dtf_gcp_options_t opt;
  int N, R, how;
  double cells, entries; /* over all ranks: cells, and the entries the mean runs over */
  double stored;         /* stored entries over all ranks */
  dtf_cp_model_t model;  /* of the data times `scale`; unit lambda: the factors carry the scale */
  dtf_cp_model_t out;    /* the model file's copy: normalised, in the original labels */
  char init_name[16];    /* the start: random, svd, als:K */
  double start_scale;    /* a typical model value of the loss (the random start's) */
  double scale;          /* gaussian: 1 / the RMS of the data (scale-free: data of 1e-170 or 1e155) */
  double *unscale;       /* R times 1 / scale: lambda of the model in the data's units */
  double *ostate[DTF_MAX_MODES], *grad[DTF_MAX_MODES], *sum[DTF_MAX_MODES];
  dtf_compressor_t *comp[DTF_MAX_MODES];
  double *save[DTF_MAX_MODES], *osave[DTF_MAX_MODES], *csave[DTF_MAX_MODES];
  sample_t smp, lsmp;  /* this step's sample, the loss's fixed sample */
  double *wall, *mall; /* ALL: weights and model values of every local entry */
  int64_t *ibuf;
  double *xbuf;
  unsigned char *found;
  int64_t steps_done; /* optimizer steps so far (kept ones) */
  int epoch, fails, converged;
  double lr, loss, prev_loss, fit, delta;
  double lr_ceiling;          /* lr_auto: 0.8 x the last step size whose epoch rose (infinity: none yet) */
  int64_t moments_from;       /* lr_auto: the optimizer's moments start after this many steps */
  dtf_compress_spec_t budget; /* the compressors' budget in force (gcp_budget.c) */
  int check_at, good_checks;  /* the epoch of the next check; checks in a row with a good cosine */
  int last_rise;              /* the last epoch that rose under this budget (0: none) */
  double cosine, last_cos;    /* this epoch's check (NaN: none) and the last one's */
  double *exact;              /* a check step's exact sum of one mode */
  double *hist_loss, *hist_fit, *hist_bytes, *hist_plain, *hist_budget, *hist_cos;
  dtf_status sticky;
  dtf_comm_stats_t comm;
  double t_grad, t_comm, t_update;
};

/* how a step of tensor t reads its entries (ALL, UNIFORM, STORED, STRATIFIED) */
int gcp_sampling(const dtf_tensor_t *t, const dtf_gcp_options_t *o, double cells_local);
void gcp_free_sample(sample_t *s);
/* this rank's part of a sample of size S keyed by key (gcp.c's header) */
dtf_status gcp_draw(dtf_gcp_t *s, sample_t *out, int64_t S, uint64_t key);
/* the loss estimate on the fixed sample (ALL: every entry), over all ranks */
dtf_status gcp_loss_estimate(dtf_gcp_t *s, double *loss);
/* this rank's part of every factor's gradient, at the entries of step `step` */
dtf_status gcp_local_gradients(dtf_gcp_t *s, uint64_t step);

/* the state an epoch may have to be undone to: the factors, the optimizer's state and
 * (compressors 1) the compressors', into (restore 0) or from the epoch's copies */
void gcp_keep(dtf_gcp_t *s, int restore, int compressors);
/* one optimizer step (check: a check step, gcp_exchange) */
dtf_status gcp_step(dtf_gcp_t *s, int check);
/* --compress auto: the probe from the start, then gcp_pick of the kind it chose */
dtf_status gcp_auto_pick(dtf_gcp_t *s);
/* fresh compressors of this kind at rung `level` of its ladder (none: the plain sum) */
dtf_status gcp_pick(dtf_gcp_t *s, dtf_compress_kind_t kind, int level);
/* a check step due at this epoch's first step */
int gcp_check_due(const dtf_gcp_t *s);
/* every mode's gradient summed over its slice by its compressor (and, on a check step,
 * exactly too: s->cosine). Collective. */
dtf_status gcp_exchange(dtf_gcp_t *s, uint64_t step, int check);
/* the compressors at rung `level` of the budget's ladder (unchanged past its top) */
dtf_status gcp_set_budget(dtf_gcp_t *s, int level);
/* after an epoch's decision (rose: it was undone): the budget's rule and the noise report */
dtf_status gcp_budget_epoch(dtf_gcp_t *s, int rose);
/* the budget's value: core M, topk FRAC, qsgd BITS, powersgd R (0: none) */
double gcp_budget_value(const dtf_gcp_t *s);
/* o->init, an automatic start resolved (docs/algorithms.md, "GCP's start") */
int gcp_init_choice(const dtf_tensor_t *t, const dtf_gcp_options_t *o);
/* why o->init cannot start this run (NULL: it can) */
const char *gcp_init_refusal(const dtf_tensor_t *t, const dtf_gcp_options_t *o);
/* the initial factors of o->init (collective; its bytes are counted in s->comm) */
dtf_status gcp_start(dtf_gcp_t *s);

#endif

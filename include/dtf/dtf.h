/* dtf: distributed tensor factorization. Including this header gives the whole API. */
#ifndef DTF_DTF_H
#define DTF_DTF_H

#include "dtf/comm.h"
#include "dtf/coo.h"
#include "dtf/cp.h"
#include "dtf/csf.h"
#include "dtf/distribute.h"
#include "dtf/em.h"
#include "dtf/factor.h"
#include "dtf/fault.h"
#include "dtf/format.h"
#include "dtf/generate.h"
#include "dtf/grid.h"
#include "dtf/io.h"
#include "dtf/kernels.h"
#include "dtf/likelihood.h"
#include "dtf/memory.h"
#include "dtf/model.h"
#include "dtf/observed.h"
#include "dtf/permute.h"
#include "dtf/rng.h"
#include "dtf/solver.h"
#include "dtf/sort.h"
#include "dtf/state.h"
#include "dtf/status.h"
#include "dtf/tensor.h"
#include "dtf/tr.h"
#include "dtf/types.h"
#include "dtf/version.h"

#endif

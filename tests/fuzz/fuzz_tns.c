/* libFuzzer target: the FROSTT .tns parser on arbitrary bytes. Whatever it accepts must
 * be in range; whatever it refuses must be refused with a message, never a crash. */
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
    dtf_coo_free(&c);
  } else if (!dtf_error_message()[0])
    abort(); /* a refusal without a message */
  return 0;
}

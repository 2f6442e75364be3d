/* Large node-local buffers: tensor blocks and MTTKRP workspaces. */
#ifndef DTF_MEMORY_H
#define DTF_MEMORY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Allocate `bytes` aligned to 2 MiB and ask the kernel for transparent huge pages (fewer
 * page faults on first touch, fewer TLB misses when a tensor is streamed through GEMM).
 * NULL on failure; release with free(). */
void *dtf_alloc_large(size_t bytes);

#ifdef __cplusplus
}
#endif
#endif

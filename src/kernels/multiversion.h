/* Hot node-local kernels are compiled twice, for AVX2 + FMA (Haswell and later) and for
 * the baseline x86-64, and the loader picks the clone the CPU runs: binaries stay portable
 * and still use the wide vector units. */
#ifndef DTF_KERNELS_MULTIVERSION_H
#define DTF_KERNELS_MULTIVERSION_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define DTF_KERNEL __attribute__((target_clones("arch=haswell", "default")))
#else
#define DTF_KERNEL
#endif

#endif

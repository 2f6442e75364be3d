/* Hot node-local kernels are compiled twice, for x86-64-v3 (AVX2, FMA, BMI2: Haswell,
 * Zen and later) and for the baseline x86-64, and the loader picks the clone the CPU
 * runs: binaries stay portable and still use the wide vector units. The clone is chosen
 * by the CPU's features: "arch=haswell" would test for that CPU model and fall back to
 * the baseline on every other one (AMD EPYC, later Intel cores). */
#ifndef DTF_KERNELS_MULTIVERSION_H
#define DTF_KERNELS_MULTIVERSION_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define DTF_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DTF_KERNEL
#endif

#endif

/* Numbers as people read them, for messages and progress lines. */
#ifndef DTF_FORMAT_H
#define DTF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "123.4 MB" into buf: decimal units (1 kB = 1000 B), one decimal above bytes. */
void dtf_format_bytes(double bytes, char *buf, size_t size);

/* "300x200x100" into buf. */
void dtf_format_dims(int n, const int64_t *dims, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif

/* Sizes and shapes in messages. */
#include "dtf/format.h"

#include <stdio.h>

void dtf_format_bytes(double b, char *buf, size_t size) {
  static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (b >= 1000 && u < 5) {
    b /= 1000;
    u++;
  }
  snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

void dtf_format_dims(int n, const int64_t *dims, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int k = 0; k < n && used < size; k++)
    used += (size_t)snprintf(buf + used, size - used, k ? "x%lld" : "%lld", (long long)dims[k]);
}

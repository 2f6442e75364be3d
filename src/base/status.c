/* Error messages: one per thread, set by the failing call, read by the caller. */
#include "dtf/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char message[2048];
static _Thread_local dtf_status stranded;

dtf_status dtf_error(dtf_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  return s;
}

dtf_status dtf_error_stranded(dtf_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  stranded = s;
  return s;
}

dtf_status dtf_error_is_stranded(void) { return stranded; }

const char *dtf_error_message(void) { return message; }

void dtf_error_set_message(const char *msg) { snprintf(message, sizeof message, "%s", msg ? msg : ""); }

const char *dtf_status_name(dtf_status s) {
  switch (s) {
  case DTF_OK: return "ok";
  case DTF_ERR_USAGE: return "usage error";
  case DTF_ERR_INPUT: return "bad input";
  case DTF_ERR_NUMERIC: return "numerical failure";
  case DTF_ERR_OUTPUT: return "output failure";
  case DTF_ERR_MPI: return "MPI failure";
  case DTF_INTERRUPTED: return "interrupted";
  }
  return "unknown status";
}

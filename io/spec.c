/* Input specs ("file.h5:/path"). */
#include <stdio.h>
#include <string.h>

#include "dtf/io.h"

dtf_status dtf_spec_parse(const char *text, const char *default_path, dtf_spec_t *out) {
  memset(out, 0, sizeof *out);
  if (!text || !*text) return dtf_error(DTF_ERR_USAGE, "empty input or output name");
  const char *sep = strstr(text, ":/");
  size_t flen = sep ? (size_t)(sep - text) : strlen(text);
  const char *path = sep ? sep + 1 : default_path;
  if (flen == 0) return dtf_error(DTF_ERR_USAGE, "'%s' names no file before ':'", text);
  if (flen >= sizeof out->file || strlen(path) >= sizeof out->path)
    return dtf_error(DTF_ERR_USAGE, "'%s' is too long", text);
  memcpy(out->file, text, flen);
  snprintf(out->path, sizeof out->path, "%s", path);
  return DTF_OK;
}

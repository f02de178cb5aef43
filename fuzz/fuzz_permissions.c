/*
 * fuzz_permissions.c - the permissions JSON parser: any input either fails
 * with MW_ERR_INPUT or yields permissions whose JSON form parses back to the
 * same permissions.
 */
#include <stdlib.h>
#include <string.h>

#include "marie_wasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_permissions_t *p = NULL;
  mw_error_t *err = mw_permissions_from_json((const char *)data, size, &p);
  if (err) {
    if (mw_error_status(err) != MW_ERR_INPUT && mw_error_status(err) != MW_ERR_NOMEM)
      abort();
    mw_error_free(err);
    return 0;
  }
  char *j = mw_permissions_to_json(p);
  mw_permissions_t *q = NULL;
  err = mw_permissions_from_json(j, strlen(j), &q);
  if (err) abort(); /* our own output must parse */
  char *k = mw_permissions_to_json(q);
  if (strcmp(j, k) != 0) abort();
  free(j);
  free(k);
  mw_permissions_free(q);
  mw_permissions_free(p);
  return 0;
}

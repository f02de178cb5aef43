/*
 * fuzz_request.c - the input-items and context parsers: any input either
 * fails with MW_ERR_INPUT (or a limit) or is accepted; never a crash or a
 * leak.
 */
#include <stdlib.h>

#include "marie_wasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_request_t *r = NULL;
  if (mw_request_new(&r)) return 0;
  mw_error_t *err = mw_request_set_items_json(r, (const char *)data, size);
  if (err && mw_error_status(err) != MW_ERR_INPUT &&
      mw_error_status(err) != MW_ERR_LIMIT && mw_error_status(err) != MW_ERR_NOMEM)
    abort();
  mw_error_free(err);
  err = mw_request_set_context_json(r, (const char *)data, size);
  if (err && mw_error_status(err) != MW_ERR_INPUT && mw_error_status(err) != MW_ERR_NOMEM)
    abort();
  mw_error_free(err);
  mw_request_free(r);
  return 0;
}

/*
 * error.c - mw_error_t: a status code and a human message.
 *
 * An allocation failure while building an error must still yield an error,
 * so a static out-of-memory error stands in; mw_error_free recognises it.
 */
#include "util/error_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mw_error {
  mw_status_t status;
  char *message;
};

static struct mw_error oom_error = {MW_ERR_NOMEM, (char *)"out of memory"};

static mw_error_t *verrorf(mw_status_t status, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) return &oom_error;
  mw_error_t *e = malloc(sizeof *e);
  char *msg = malloc((size_t)n + 1);
  if (!e || !msg) {
    free(e);
    free(msg);
    return &oom_error;
  }
  vsnprintf(msg, (size_t)n + 1, fmt, ap);
  e->status = status;
  e->message = msg;
  return e;
}

mw_error_t *mw_error_new(mw_status_t status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mw_error_t *e = verrorf(status, fmt, ap);
  va_end(ap);
  return e;
}

mw_error_t *mw__nomem(void) { return &oom_error; }

mw_error_t *mw__error_prefix(mw_error_t *err, const char *fmt, ...) {
  if (!err || err == &oom_error) return err;
  char prefix[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  mw_error_t *e = mw_error_new(err->status, "%s: %s", prefix, err->message);
  mw_error_free(err);
  return e;
}

mw_status_t mw_error_status(const mw_error_t *err) {
  return err ? err->status : MW_OK;
}

const char *mw_error_message(const mw_error_t *err) {
  return err ? err->message : "success";
}

void mw_error_free(mw_error_t *err) {
  if (!err || err == &oom_error) return;
  free(err->message);
  free(err);
}

const char *mw_status_name(mw_status_t status) {
  switch (status) {
#define MW__NAME(name, value, desc) \
  case name:                        \
    return #name;
    MW_STATUS_LIST(MW__NAME)
#undef MW__NAME
  }
  return "MW_UNKNOWN";
}

const char *mw_status_describe(mw_status_t status) {
  switch (status) {
#define MW__DESC(name, value, desc) \
  case name:                        \
    return desc;
    MW_STATUS_LIST(MW__DESC)
#undef MW__DESC
  }
  return "unknown status";
}

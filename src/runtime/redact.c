/*
 * redact.c - keeps secrets a node read out of what the host writes.
 *
 * Every value secrets.get handed to the guest is remembered for the rest of
 * the execution; log lines, event payloads, err and trap messages pass
 * through mw__redact before they are stored or streamed. Values shorter
 * than MW_REDACT_MIN_LEN are not redacted: they would match ordinary text
 * everywhere. The copies are wiped when the execution ends.
 */
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_int.h"

#define MW_REDACT_MIN_LEN 4
#define MW_REDACT_MAX_SECRETS 256
static const char redacted[] = "[REDACTED]";

void mw__exec_note_secret(mw_exec_t *ex, const char *value) {
  size_t n = strlen(value);
  if (n < MW_REDACT_MIN_LEN || ex->n_secrets_read >= MW_REDACT_MAX_SECRETS)
    return;
  for (size_t i = 0; i < ex->n_secrets_read; i++)
    if (strcmp(ex->secrets_read[i], value) == 0) return;
  char **v = realloc(ex->secrets_read, (ex->n_secrets_read + 1) * sizeof *v);
  if (!v) return;
  ex->secrets_read = v;
  if ((v[ex->n_secrets_read] = strdup(value))) ex->n_secrets_read++;
}

void mw__exec_forget_secrets(mw_exec_t *ex) {
  for (size_t i = 0; i < ex->n_secrets_read; i++) {
    OPENSSL_cleanse(ex->secrets_read[i], strlen(ex->secrets_read[i]));
    free(ex->secrets_read[i]);
  }
  free(ex->secrets_read);
  ex->secrets_read = NULL;
  ex->n_secrets_read = 0;
}

/* The remembered secret that occurs first at s[i], or -1. */
static long match_at(const mw_exec_t *ex, const char *s, size_t len, size_t i) {
  for (size_t k = 0; k < ex->n_secrets_read; k++) {
    size_t n = strlen(ex->secrets_read[k]);
    if (n <= len - i && memcmp(s + i, ex->secrets_read[k], n) == 0)
      return (long)k;
  }
  return -1;
}

char *mw__redact(const mw_exec_t *ex, const char *s, size_t len,
                 size_t *out_len) {
  mw_buf_t b;
  mw__buf_init(&b, SIZE_MAX / 2);
  size_t i = 0, start = 0;
  while (ex->n_secrets_read && i < len) {
    long k = match_at(ex, s, len, i);
    if (k < 0) {
      i++;
      continue;
    }
    if (!mw__buf_append(&b, s + start, i - start) ||
        !mw__buf_append(&b, redacted, sizeof redacted - 1))
      goto oom;
    i += strlen(ex->secrets_read[k]);
    start = i;
  }
  if (!mw__buf_append(&b, s + start, len - start)) goto oom;
  return mw__buf_take(&b, out_len);
oom:
  mw__buf_free(&b);
  return NULL;
}

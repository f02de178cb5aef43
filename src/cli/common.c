/*
 * common.c - helpers shared by the subcommands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_INPUT_FILE (256u << 20)

char *cli_read_file(const char *path, size_t *out_len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "marie-wasm: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (len + 1 >= cap) {
      if (cap >= MAX_INPUT_FILE) {
        fprintf(stderr, "marie-wasm: %s: larger than 256 MiB\n", path);
        free(buf);
        buf = NULL;
        break;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0) {
      if (ferror(f)) {
        fprintf(stderr, "marie-wasm: %s: read error\n", path);
        free(buf);
        buf = NULL;
      }
      break;
    }
  }
  if (f != stdin) fclose(f);
  if (!buf) return NULL;
  buf[len] = '\0';
  if (out_len) *out_len = len;
  return buf;
}

int cli_fail(mw_error_t *err, const char *what) {
  mw_status_t st = mw_error_status(err);
  fprintf(stderr, "marie-wasm: %s%s%s\n", what ? what : "", what ? ": " : "",
          mw_error_message(err));
  mw_error_free(err);
  return st == MW_ERR_INPUT || st == MW_ERR_MISUSE ? MW_EXIT_USAGE
                                                   : MW_EXIT_FAILURE;
}

mw_error_t *cli_engine(mw_engine_t **out) {
  mw_engine_config_t *cfg = mw_engine_config_new();
  if (!cfg) return mw_error_new(MW_ERR_NOMEM, "out of memory");
  mw_error_t *err = NULL;
  const char *cache = getenv("MW_CACHE_DIR");
  if (cache && *cache) err = mw_engine_config_cache_dir(cfg, cache);
  /* A command runs one node at a time: a small pool is enough. */
  mw_engine_config_pool_instances(cfg, 4);
  if (!err) err = mw_engine_new(cfg, out);
  mw_engine_config_free(cfg);
  return err;
}

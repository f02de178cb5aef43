/*
 * request.c - mw_request_t: the inputs of one execution, and the parsing of
 * their JSON forms (items array, context object) shared by the CLI, the
 * service and the Python binding.
 */
#include <jansson.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_int.h"
#include "util/base64.h"
#include "util/error_int.h"

#define MW_MAX_INPUT_ITEMS 1000000u

static void free_items(mw_item_t *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(items[i].json);
    free(items[i].binary);
  }
  free(items);
}

static void clear_items(mw_request_t *r) {
  for (size_t i = r->n_block_items; i < r->n_items; i++) {
    free(r->items[i].json);
    free(r->items[i].binary);
  }
  free(r->items);
  free(r->items_block);
  r->items = NULL;
  r->items_block = NULL;
  r->n_items = r->n_block_items = 0;
}

/* A random version-4 UUID, for execution ids nobody supplied. Hex by
 * hand: snprintf's format parsing was a visible share of a small
 * execution. */
static char *new_uuid(void) {
  static const char hex[] = "0123456789abcdef";
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return strdup("00000000-0000-4000-8000-000000000000");
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  char *s = malloc(37), *p = s;
  if (!s) return NULL;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    *p++ = hex[b[i] >> 4];
    *p++ = hex[b[i] & 15];
  }
  *p = '\0';
  return s;
}

mw_error_t *mw_request_new(mw_request_t **out) {
  if (!out) return mw_error_new(MW_ERR_MISUSE, "NULL out");
  mw_request_t *r = calloc(1, sizeof *r);
  if (!r) return mw__nomem();
  r->env = strdup("");
  r->workflow_id = strdup("local");
  r->execution_id = new_uuid();
  r->node_id = strdup("node");
  if (!r->env || !r->workflow_id || !r->execution_id || !r->node_id) {
    mw_request_free(r);
    return mw__nomem();
  }
  *out = r;
  return NULL;
}

void mw_request_free(mw_request_t *r) {
  if (!r) return;
  clear_items(r);
  free(r->env);
  free(r->workflow_id);
  free(r->execution_id);
  free(r->node_id);
  for (size_t i = 0; i < r->n_secrets; i++) {
    OPENSSL_cleanse(r->secret_values[i], strlen(r->secret_values[i]));
    free(r->secret_values[i]);
    free(r->secret_names[i]);
  }
  free(r->secret_names);
  free(r->secret_values);
  free(r);
}

static mw_error_t *push_item(mw_item_t **items, size_t *n, const char *json,
                             size_t json_len, uint8_t *binary /* moved */,
                             size_t binary_len) {
  if (*n >= MW_MAX_INPUT_ITEMS) {
    free(binary);
    return mw_error_new(MW_ERR_LIMIT, "input: more than %u items",
                        MW_MAX_INPUT_ITEMS);
  }
  mw_item_t *v = realloc(*items, (*n + 1) * sizeof *v);
  char *j = malloc(json_len + 1);
  if (!v || !j) {
    if (v) *items = v;
    free(j);
    free(binary);
    return mw__nomem();
  }
  *items = v;
  memcpy(j, json, json_len);
  j[json_len] = '\0';
  v[*n] = (mw_item_t){j, json_len, binary, binary_len};
  (*n)++;
  return NULL;
}

mw_error_t *mw_request_add_item(mw_request_t *r, const char *json,
                                size_t json_len, const uint8_t *binary,
                                size_t binary_len) {
  if (!r || (!json && json_len)) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  uint8_t *b = NULL;
  if (binary) {
    if (!(b = malloc(binary_len ? binary_len : 1))) return mw__nomem();
    memcpy(b, binary, binary_len);
  }
  return push_item(&r->items, &r->n_items, json ? json : "", json_len, b,
                   binary_len);
}

mw_error_t *mw_request_set_items_json(mw_request_t *r, const char *text,
                                      size_t len) {
  if (!r || !text) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  json_error_t je;
  json_t *arr = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!arr)
    return mw_error_new(MW_ERR_INPUT, "input: line %d column %d: %s", je.line,
                        je.column, je.text);
  mw_error_t *err = NULL;
  mw_item_t *items = NULL;
  size_t n = 0;
  if (!json_is_array(arr)) {
    err = mw_error_new(MW_ERR_INPUT,
                       "input: expected a JSON array of {\"json\": ...} items");
    goto out;
  }
  size_t i;
  json_t *el;
  json_array_foreach(arr, i, el) {
    if (!json_is_object(el)) {
      err = mw_error_new(MW_ERR_INPUT, "input[%zu]: expected an object", i);
      goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(el, k, v) {
      if (strcmp(k, "json") != 0 && strcmp(k, "binary") != 0) {
        err = mw_error_new(MW_ERR_INPUT,
                           "input[%zu]: unknown field '%s' (expected json, "
                           "binary)",
                           i, k);
        goto out;
      }
    }
    json_t *j = json_object_get(el, "json");
    json_t *b = json_object_get(el, "binary");
    if (!json_is_string(j)) {
      err = mw_error_new(MW_ERR_INPUT,
                         "input[%zu].json: expected a string holding JSON "
                         "text",
                         i);
      goto out;
    }
    uint8_t *bin = NULL;
    size_t bin_len = 0;
    if (b && !json_is_null(b)) {
      if (!json_is_string(b) ||
          !mw__base64_decode(json_string_value(b), json_string_length(b),
                             &bin, &bin_len)) {
        err = mw_error_new(MW_ERR_INPUT,
                           "input[%zu].binary: expected a base64 string", i);
        goto out;
      }
    }
    if ((err = push_item(&items, &n, json_string_value(j), json_string_length(j),
                         bin, bin_len)))
      goto out;
  }
  clear_items(r);
  r->items = items;
  r->n_items = n;
  items = NULL;
  n = 0;
out:
  free_items(items, n);
  json_decref(arr);
  return err;
}

/* Bindings pay per foreign call, so all items can come in one buffer:
 * per item a little-endian u32 JSON length and u32 binary length
 * (MW_PACKED_NONE: no binary), then the bytes of each. */
static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

mw_error_t *mw_request_set_items_packed(mw_request_t *r, const void *buf,
                                        size_t len) {
  if (!r || (!buf && len)) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  /* Check the whole buffer first, then copy it with two allocations (the
   * item array and one block for all bytes) instead of two per item. */
  const unsigned char *start = buf, *end = start + len, *p = start;
  size_t n = 0, bytes = 0;
  while (p != end) {
    if ((size_t)(end - p) < 8)
      return mw_error_new(MW_ERR_INPUT, "packed items: item %zu: truncated header", n);
    size_t jlen = get_u32(p), blen = get_u32(p + 4);
    if (blen == MW_PACKED_NONE) blen = 0;
    p += 8;
    if ((size_t)(end - p) < jlen || (size_t)(end - p) - jlen < blen)
      return mw_error_new(MW_ERR_INPUT,
                          "packed items: item %zu: %zu + %zu bytes announced, "
                          "%zu left",
                          n, jlen, blen, (size_t)(end - p));
    if (++n > MW_MAX_INPUT_ITEMS)
      return mw_error_new(MW_ERR_LIMIT, "input: more than %u items", MW_MAX_INPUT_ITEMS);
    bytes += jlen + 1 + blen; /* bounded by len + n */
    p += jlen + blen;
  }
  mw_item_t *items = n ? malloc(n * sizeof *items) : NULL;
  char *block = bytes ? malloc(bytes) : NULL;
  if ((n && !items) || (bytes && !block)) {
    free(items);
    free(block);
    return mw__nomem();
  }
  char *d = block;
  p = start;
  for (size_t i = 0; i < n; i++) {
    size_t jlen = get_u32(p), blen = get_u32(p + 4);
    bool has_bin = blen != MW_PACKED_NONE;
    if (!has_bin) blen = 0;
    p += 8;
    items[i].json = d;
    items[i].json_len = jlen;
    memcpy(d, p, jlen);
    d[jlen] = '\0';
    d += jlen + 1;
    p += jlen;
    /* An empty binary is present, not absent: point it at its (empty)
     * place in the block, which is never NULL. */
    items[i].binary = has_bin ? (uint8_t *)d : NULL;
    items[i].binary_len = blen;
    if (blen) memcpy(d, p, blen);
    d += blen;
    p += blen;
  }
  clear_items(r);
  r->items = items;
  r->n_items = r->n_block_items = n;
  r->items_block = block;
  return NULL;
}

static mw_error_t *set_str(char **dst, const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return mw__nomem();
  memcpy(d, s, n);
  d[n] = '\0';
  free(*dst);
  *dst = d;
  return NULL;
}

mw_error_t *mw_request_set_env(mw_request_t *r, const char *vars, size_t len) {
  if (!r || (!vars && len)) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  mw_error_t *err = set_str(&r->env, vars ? vars : "", len);
  if (!err) r->env_len = len;
  return err;
}

mw_error_t *mw_request_set_context(mw_request_t *r, const char *workflow_id,
                                   const char *execution_id,
                                   const char *node_id, uint32_t run_index) {
  if (!r) return mw_error_new(MW_ERR_MISUSE, "NULL request");
  mw_error_t *err = NULL;
  if (workflow_id && (err = set_str(&r->workflow_id, workflow_id, strlen(workflow_id))))
    return err;
  if (execution_id && (err = set_str(&r->execution_id, execution_id, strlen(execution_id))))
    return err;
  if (node_id && (err = set_str(&r->node_id, node_id, strlen(node_id)))) return err;
  r->run_index = run_index;
  return NULL;
}

mw_error_t *mw_request_set_context_json(mw_request_t *r, const char *text,
                                        size_t len) {
  if (!r || !text) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  json_error_t je;
  json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!o)
    return mw_error_new(MW_ERR_INPUT, "context: line %d column %d: %s",
                        je.line, je.column, je.text);
  mw_error_t *err = NULL;
  if (!json_is_object(o)) {
    err = mw_error_new(MW_ERR_INPUT, "context: expected a JSON object");
    goto out;
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    char **dst = !strcmp(k, "workflow_id")    ? &r->workflow_id
                 : !strcmp(k, "execution_id") ? &r->execution_id
                 : !strcmp(k, "node_id")      ? &r->node_id
                                              : NULL;
    if (dst) {
      if (!json_is_string(v)) {
        err = mw_error_new(MW_ERR_INPUT, "context.%s: expected a string", k);
        goto out;
      }
      if ((err = set_str(dst, json_string_value(v), json_string_length(v))))
        goto out;
    } else if (!strcmp(k, "run_index")) {
      if (!json_is_integer(v) || json_integer_value(v) < 0 ||
          json_integer_value(v) > UINT32_MAX) {
        err = mw_error_new(MW_ERR_INPUT,
                           "context.run_index: expected an integer from 0 to "
                           "4294967295");
        goto out;
      }
      r->run_index = (uint32_t)json_integer_value(v);
    } else {
      err = mw_error_new(MW_ERR_INPUT,
                         "context: unknown field '%s' (expected workflow_id, "
                         "execution_id, node_id, run_index)",
                         k);
      goto out;
    }
  }
out:
  json_decref(o);
  return err;
}

void mw_request_set_permissions(mw_request_t *r, const mw_permissions_t *p) {
  if (r) r->perms = p;
}

void mw_request_set_host(mw_request_t *r, const mw_host_t *h) {
  if (r) r->host = h;
}

mw_error_t *mw_request_add_secret(mw_request_t *r, const char *name,
                                  const char *value) {
  if (!r || !name || !value) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  if (!*name) return mw_error_new(MW_ERR_INPUT, "secret: empty name");
  for (size_t i = 0; i < r->n_secrets; i++)
    if (strcmp(r->secret_names[i], name) == 0)
      return mw_error_new(MW_ERR_INPUT, "secret '%.100s' given twice", name);
  char **names = realloc(r->secret_names, (r->n_secrets + 1) * sizeof *names);
  if (names) r->secret_names = names;
  char **values = realloc(r->secret_values, (r->n_secrets + 1) * sizeof *values);
  if (values) r->secret_values = values;
  char *n = strdup(name), *v = strdup(value);
  if (!names || !values || !n || !v) {
    if (v) OPENSSL_cleanse(v, strlen(v));
    free(n);
    free(v);
    return mw__nomem();
  }
  r->secret_names[r->n_secrets] = n;
  r->secret_values[r->n_secrets] = v;
  r->n_secrets++;
  return NULL;
}

const char *mw__request_secret(const mw_request_t *r, const char *name) {
  for (size_t i = 0; r && i < r->n_secrets; i++)
    if (strcmp(r->secret_names[i], name) == 0) return r->secret_values[i];
  return NULL;
}

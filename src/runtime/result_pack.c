/*
 * result_pack.c - mw_result_pack: the whole result in one buffer, so that
 * a language binding reads it with one foreign call instead of one per
 * field and item (the layout is in execute.h).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_int.h"

typedef struct packer {
  unsigned char *p; /* NULL while measuring */
  size_t len;
} packer_t;

static void put_u32(packer_t *k, uint32_t v) {
  if (k->p) {
    unsigned char *d = k->p + k->len;
    d[0] = (unsigned char)v;
    d[1] = (unsigned char)(v >> 8);
    d[2] = (unsigned char)(v >> 16);
    d[3] = (unsigned char)(v >> 24);
  }
  k->len += 4;
}

static void put_u64(packer_t *k, uint64_t v) {
  put_u32(k, (uint32_t)v);
  put_u32(k, (uint32_t)(v >> 32));
}

static void put_bytes(packer_t *k, const void *s, size_t n) {
  if (k->p && n) memcpy(k->p + k->len, s, n);
  k->len += n;
}

/* Lengths are u32: an item is bounded by max_output_bytes (at most
 * 2^32 - 2, permissions.c), logs and messages by their caps. */
static void pack(const mw_result_t *r, packer_t *k) {
  const char *msg = r->message ? r->message : "";
  size_t msg_len = strlen(msg);
  const mw_stats_t *s = &r->stats;
  put_u32(k, (uint32_t)r->outcome);
  put_u32(k, (uint32_t)r->trap);
  put_u64(k, s->fuel_used);
  put_u64(k, s->wall_time_us);
  put_u64(k, s->memory_peak_bytes);
  put_u64(k, s->host_calls);
  put_u64(k, s->denied_calls);
  put_u64(k, s->bytes_in);
  put_u64(k, s->bytes_out);
  put_u64(k, s->logs_dropped);
  put_u64(k, s->events_dropped);
  put_u32(k, (uint32_t)r->n_items);
  put_u32(k, (uint32_t)r->n_logs);
  put_u32(k, (uint32_t)r->n_events);
  put_u32(k, (uint32_t)msg_len);
  put_bytes(k, msg, msg_len);
  for (size_t i = 0; i < r->n_items; i++) {
    const mw_item_t *it = &r->items[i];
    put_u32(k, (uint32_t)it->json_len);
    put_u32(k, it->binary ? (uint32_t)it->binary_len : MW_PACKED_NONE);
    put_bytes(k, it->json, it->json_len);
    if (it->binary) put_bytes(k, it->binary, it->binary_len);
  }
  for (size_t i = 0; i < r->n_logs; i++) {
    size_t n = strlen(r->logs[i].message);
    put_u32(k, (uint32_t)r->logs[i].level);
    put_u32(k, (uint32_t)r->logs[i].source);
    put_u32(k, (uint32_t)n);
    put_bytes(k, r->logs[i].message, n);
  }
  for (size_t i = 0; i < r->n_events; i++) {
    size_t tn = strlen(r->events[i].type), pn = strlen(r->events[i].payload);
    put_u32(k, (uint32_t)tn);
    put_u32(k, (uint32_t)pn);
    put_bytes(k, r->events[i].type, tn);
    put_bytes(k, r->events[i].payload, pn);
  }
}

void *mw_result_pack(const mw_result_t *r, size_t *out_len) {
  if (!r) return NULL;
  packer_t k = {NULL, 0};
  pack(r, &k); /* measure, then write */
  size_t n = k.len;
  if (!(k.p = malloc(n ? n : 1))) return NULL;
  k.len = 0;
  pack(r, &k);
  if (out_len) *out_len = n;
  return k.p;
}

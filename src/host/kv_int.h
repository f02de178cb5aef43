/*
 * kv_int.h - what the key-value backends share (defined in kv_url.c): the
 * limit checks and messages every backend applies, and the constructors
 * mw_host_use_kv_url dispatches to.
 */
#ifndef MW_HOST_KV_INT_H
#define MW_HOST_KV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marie_wasm/host.h"

/* A copy of in (NULL: defaults) with zero fields replaced by defaults. */
void mw__kv_limits_resolve(const mw_kv_limits_t *in, mw_kv_limits_t *out);
/* Bytes of key before the namespace separator (0x1f): the node's prefix. */
size_t mw__kv_ns_len(const char *key, size_t key_len);
bool mw__kv_key_too_long(const mw_kv_limits_t *l, const char *key,
                         size_t key_len);
/* Key and value size checks of a put; an error the guest will see. */
mw_error_t *mw__kv_check_put(const mw_kv_limits_t *l, const char *key,
                             size_t key_len, size_t value_len);
mw_error_t *mw__kv_quota_error(const mw_kv_limits_t *l);
int64_t mw__kv_now_ms(void);
/* Expiry in Unix ms of a put made at now_ms: 0 for none (ttl < 0). */
int64_t mw__kv_expiry_ms(int64_t now_ms, int64_t ttl_seconds);

mw_error_t *mw__kv_use_memory(mw_host_t *host, const mw_kv_limits_t *limits);
mw_error_t *mw__kv_use_sqlite(mw_host_t *host, const char *path,
                              const mw_kv_limits_t *limits);
mw_error_t *mw__kv_use_redis(mw_host_t *host, const char *hostname, int port,
                             int db, const mw_kv_limits_t *limits);

#endif

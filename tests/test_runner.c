/*
 * test_runner.c - the calls made for language bindings: packed items, the
 * packed result, a request's own secrets, and the runner (threads,
 * completions on an eventfd), against real components.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ---- packing helpers (the layouts in execute.h) ---- */

typedef struct {
  unsigned char *p;
  size_t len, cap;
} out_t;

static void put(out_t *o, const void *s, size_t n) {
  if (o->len + n > o->cap) {
    o->cap = (o->len + n) * 2;
    o->p = realloc(o->p, o->cap);
    assert_non_null(o->p);
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
}

static void put_u32(out_t *o, uint32_t v) {
  unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                        (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  put(o, b, 4);
}

static void put_item(out_t *o, const char *json, size_t jlen, const void *bin,
                     uint32_t blen) {
  put_u32(o, (uint32_t)jlen);
  put_u32(o, blen);
  put(o, json, jlen);
  if (blen != MW_PACKED_NONE) put(o, bin, blen);
}

static uint32_t get_u32(const unsigned char **p) {
  const unsigned char *b = *p;
  *p += 4;
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
         (uint32_t)b[3] << 24;
}

static uint64_t get_u64(const unsigned char **p) {
  uint64_t lo = get_u32(p);
  return lo | (uint64_t)get_u32(p) << 32;
}

static mw_result_t *run(const char *name, mw_request_t *req) {
  mw_result_t *r;
  TU_OK(mw_execute(tu_engine(), tu_component(name), req, &r));
  return r;
}

/* ---- packed items ---- */

static void packed_items_round_trip(void **state) {
  (void)state;
  out_t o = {0};
  put_item(&o, "1", 1, NULL, MW_PACKED_NONE);
  put_item(&o, "\"b\"", 3, "\x00\xff", 2);
  put_item(&o, "\"e\"", 3, "", 0); /* empty binary: present */
  put_item(&o, "\"caf\xc3\xa9\"", 7, NULL, MW_PACKED_NONE);
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  TU_OK(mw_request_set_items_packed(req, o.p, o.len));
  mw_result_t *r = run("echo", req);
  assert_int_equal(mw_result_item_count(r), 4);
  size_t n;
  assert_string_equal(tu_item(r, 0), "1");
  assert_null(mw_result_item_binary(r, 0, &n));
  const uint8_t *b = mw_result_item_binary(r, 1, &n);
  assert_non_null(b);
  assert_int_equal(n, 2);
  assert_memory_equal(b, "\x00\xff", 2);
  assert_non_null(mw_result_item_binary(r, 2, &n));
  assert_int_equal(n, 0);
  assert_string_equal(tu_item(r, 3), "\"caf\xc3\xa9\"");
  mw_result_free(r);

  /* Cut anywhere short of the end: refused, naming the item, and the
   * request keeps its items. */
  for (size_t cut = 1; cut < o.len; cut++) {
    mw_error_t *err = mw_request_set_items_packed(req, o.p, cut);
    if (cut == 9 || cut == 22 || cut == 33) { /* whole items: accepted */
      assert_null(err);
      TU_OK(mw_request_set_items_packed(req, o.p, o.len));
      continue;
    }
    assert_non_null(err);
    assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
    assert_non_null(strstr(mw_error_message(err), "packed items: item "));
    mw_error_free(err);
  }
  r = run("echo", req);
  assert_int_equal(mw_result_item_count(r), 4);
  mw_result_free(r);

  /* Packed items, then one more added the usual way. */
  TU_OK(mw_request_add_item(req, "5", 1, NULL, 0));
  r = run("echo", req);
  assert_int_equal(mw_result_item_count(r), 5);
  assert_string_equal(tu_item(r, 4), "5");
  mw_result_free(r);

  TU_OK(mw_request_set_items_packed(req, NULL, 0));
  r = run("echo", req);
  assert_int_equal(mw_result_item_count(r), 0);
  mw_result_free(r);
  mw_request_free(req);
  free(o.p);
}

/* ---- packed result ---- */

/* Parses the packed form of r and checks every field against the
 * accessors. */
static void check_packed(const mw_result_t *r) {
  size_t len = 0;
  unsigned char *buf = mw_result_pack(r, &len);
  assert_non_null(buf);
  const unsigned char *p = buf;
  assert_int_equal(get_u32(&p), mw_result_outcome(r));
  assert_int_equal(get_u32(&p), mw_result_trap_kind(r));
  mw_stats_t st;
  mw_result_stats(r, &st);
  uint64_t want[] = {st.fuel_used,    st.wall_time_us, st.memory_peak_bytes,
                     st.host_calls,   st.denied_calls, st.bytes_in,
                     st.bytes_out,    st.logs_dropped, st.events_dropped};
  for (size_t i = 0; i < 9; i++) assert_int_equal(get_u64(&p), want[i]);
  uint32_t n_items = get_u32(&p), n_logs = get_u32(&p), n_events = get_u32(&p);
  assert_int_equal(n_items, mw_result_item_count(r));
  assert_int_equal(n_logs, mw_result_log_count(r));
  assert_int_equal(n_events, mw_result_event_count(r));
  uint32_t mlen = get_u32(&p);
  assert_int_equal(mlen, strlen(mw_result_message(r)));
  assert_memory_equal(p, mw_result_message(r), mlen);
  p += mlen;
  for (uint32_t i = 0; i < n_items; i++) {
    size_t jl, bl;
    const char *j = mw_result_item_json(r, i, &jl);
    const uint8_t *b = mw_result_item_binary(r, i, &bl);
    assert_int_equal(get_u32(&p), jl);
    assert_int_equal(get_u32(&p), b ? (uint32_t)bl : MW_PACKED_NONE);
    assert_memory_equal(p, j, jl);
    p += jl;
    if (b) {
      assert_memory_equal(p, b, bl);
      p += bl;
    }
  }
  for (uint32_t i = 0; i < n_logs; i++) {
    mw_log_level_t level;
    mw_log_source_t source;
    const char *m = mw_result_log(r, i, &level, &source);
    assert_int_equal(get_u32(&p), level);
    assert_int_equal(get_u32(&p), source);
    assert_int_equal(get_u32(&p), strlen(m));
    assert_memory_equal(p, m, strlen(m));
    p += strlen(m);
  }
  for (uint32_t i = 0; i < n_events; i++) {
    const char *payload;
    const char *type = mw_result_event(r, i, &payload);
    assert_int_equal(get_u32(&p), strlen(type));
    assert_int_equal(get_u32(&p), strlen(payload));
    assert_memory_equal(p, type, strlen(type));
    p += strlen(type);
    assert_memory_equal(p, payload, strlen(payload));
    p += strlen(payload);
  }
  assert_int_equal(p - buf, len); /* nothing left over */
  free(buf);
}

static void packed_result_matches_the_accessors(void **state) {
  (void)state;
  mw_result_t *r = tu_run("echo", "[{\"json\": \"1\", \"binary\": \"AP8=\"}, {\"json\": \"2\"}]",
                          NULL, NULL, NULL);
  check_packed(r);
  mw_result_free(r);
  r = tu_run("guesterr", "[{\"json\": \"1\"}]", NULL, NULL, NULL);
  assert_int_equal(mw_result_outcome(r), MW_OUTCOME_ERR);
  check_packed(r);
  mw_result_free(r);
  r = tu_run("loop", NULL, NULL, "{\"max_fuel\": 50000}", NULL);
  assert_int_equal(mw_result_trap_kind(r), MW_TRAP_FUEL_EXHAUSTED);
  check_packed(r);
  mw_result_free(r);
  const char *cmds[] = {"log debug d", "log error e", "print out", "eprint err",
                        "event t1 {\"k\": 1}", "event t2 p", "secret NOPE"};
  r = tu_host_cmds(cmds, sizeof cmds / sizeof *cmds, NULL, NULL);
  assert_true(mw_result_log_count(r) >= 4);
  assert_int_equal(mw_result_event_count(r), 2);
  check_packed(r);
  mw_result_free(r);
}

/* ---- a request's own secrets ---- */

static mw_result_t *read_secret(const char *name, const char *perms,
                                mw_request_t *req, mw_permissions_t **owned) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "secret %s", name);
  TU_OK(mw_permissions_from_json(perms, strlen(perms), owned));
  TU_OK(mw_request_set_items_packed(req, NULL, 0));
  TU_OK(mw_request_add_item(req, cmd, strlen(cmd), NULL, 0));
  mw_request_set_permissions(req, *owned);
  return run("host", req);
}

static void request_secrets_are_read_only_when_allowed(void **state) {
  (void)state;
  mw_host_t *host = mw_host_new();
  const char *host_secrets = "{\"A\": \"host-a\", \"B\": \"host-b\"}";
  TU_OK(mw_host_use_secrets_json(host, host_secrets, strlen(host_secrets)));
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  mw_request_set_host(req, host);
  TU_OK(mw_request_add_secret(req, "A", "own-a"));
  TU_OK(mw_request_add_secret(req, "C", "own-c"));
  const char *allow = "{\"allow_secrets\": true, \"secret_allowed_names\": [\"A\", \"B\"]}";
  struct {
    const char *name, *want;
  } cases[] = {
      {"A", "{\"op\":\"secret\",\"found\":true,\"value\":\"own-a\"}"},  /* the request's first */
      {"B", "{\"op\":\"secret\",\"found\":true,\"value\":\"host-b\"}"}, /* then the host's */
      {"C", "{\"op\":\"secret\",\"found\":false}"}, /* given, but not allowed */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mw_permissions_t *perms;
    mw_result_t *r = read_secret(cases[i].name, allow, req, &perms);
    assert_string_equal(tu_item(r, 0), cases[i].want);
    mw_result_free(r);
    mw_permissions_free(perms);
  }
  /* Deny-all permissions: not even the request's own secret. */
  mw_permissions_t *perms;
  mw_result_t *r = read_secret("A", "{}", req, &perms);
  assert_string_equal(tu_item(r, 0), "{\"op\":\"secret\",\"found\":false}");
  mw_result_free(r);
  mw_permissions_free(perms);

  mw_error_t *err = mw_request_add_secret(req, "A", "again");
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  assert_non_null(strstr(mw_error_message(err), "given twice"));
  mw_error_free(err);
  err = mw_request_add_secret(req, "", "x");
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  mw_error_free(err);
  mw_request_free(req);
  mw_host_free(host);
}

/* ---- the runner ---- */

static bool readable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static mw_request_t *numbered(unsigned i) {
  char json[32];
  int n = snprintf(json, sizeof json, "%u", i);
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  TU_OK(mw_request_add_item(req, json, (size_t)n, NULL, 0));
  return req;
}

static void runner_completes_each_tag_once(void **state) {
  (void)state;
  enum { N = 200 };
  for (unsigned flags = 0; flags <= MW_RUNNER_PACK; flags++) {
    mw_runner_t *runner;
    TU_OK(mw_runner_new(flags ? 3 : 0, flags, &runner));
    int fd = mw_runner_fd(runner);
    assert_true(fd >= 0);
    assert_false(readable(fd, 0)); /* nothing waits yet */
    for (unsigned i = 0; i < N; i++)
      TU_OK(mw_runner_submit(runner, tu_engine(), tu_component("echo"), numbered(i),
                             1000 + i));
    static bool seen[N];
    memset(seen, 0, sizeof seen);
    size_t got = 0, batch = 1;
    while (got < N) {
      assert_true(readable(fd, 10000));
      mw_completion_t c[16];
      size_t n = mw_runner_take(runner, c, batch);
      assert_true(n >= 1 && n <= batch);
      batch = batch % 16 + 1; /* batches of every size */
      for (size_t k = 0; k < n; k++) {
        unsigned i = (unsigned)(c[k].tag - 1000);
        assert_true(i < N && !seen[i]);
        seen[i] = true;
        assert_null(c[k].error);
        char want[32];
        snprintf(want, sizeof want, "%u", i);
        if (flags) {
          assert_null(c[k].result);
          assert_non_null(c[k].packed);
          /* the one item's text sits at the end of the buffer */
          assert_true(c[k].packed_len > strlen(want));
          assert_memory_equal((char *)c[k].packed + c[k].packed_len - strlen(want), want,
                              strlen(want));
          free(c[k].packed);
        } else {
          assert_null(c[k].packed);
          assert_string_equal(tu_item(c[k].result, 0), want);
          mw_result_free(c[k].result);
        }
      }
      got += n;
    }
    assert_false(readable(fd, 0)); /* all taken */
    mw_runner_free(runner);
  }
}

static void runner_shutdown_keeps_completions_and_refuses_more(void **state) {
  (void)state;
  mw_runner_t *runner;
  TU_OK(mw_runner_new(2, 0, &runner));
  for (unsigned i = 0; i < 5; i++)
    TU_OK(mw_runner_submit(runner, tu_engine(), tu_component("echo"), numbered(i), i));
  mw_runner_shutdown(runner); /* waits for all five */
  assert_true(readable(mw_runner_fd(runner), 0));
  mw_completion_t c[2];
  assert_int_equal(mw_runner_take(runner, c, 2), 2);
  assert_true(readable(mw_runner_fd(runner), 0)); /* three remain */
  for (int k = 0; k < 2; k++) mw_result_free(c[k].result);

  mw_request_t *late = numbered(9);
  mw_error_t *err = mw_runner_submit(runner, tu_engine(), tu_component("echo"), late, 9);
  assert_int_equal(mw_error_status(err), MW_ERR_MISUSE);
  mw_error_free(err);
  mw_request_free(late); /* still the caller's */

  /* An execution that cannot be attempted (the component belongs to
   * another engine) arrives as an error. */
  mw_engine_config_t *cfg = mw_engine_config_new();
  mw_engine_config_pooling(cfg, false);
  mw_engine_t *other;
  TU_OK(mw_engine_new(cfg, &other));
  mw_engine_config_free(cfg);
  mw_runner_t *r2;
  TU_OK(mw_runner_new(1, MW_RUNNER_PACK, &r2));
  TU_OK(mw_runner_submit(r2, other, tu_component("echo"), numbered(1), 7));
  assert_true(readable(mw_runner_fd(r2), 10000));
  assert_int_equal(mw_runner_take(r2, c, 2), 1);
  assert_int_equal(c[0].tag, 7);
  assert_non_null(c[0].error);
  assert_int_equal(mw_error_status(c[0].error), MW_ERR_MISUSE);
  assert_null(c[0].result);
  assert_null(c[0].packed);
  mw_error_free(c[0].error);
  mw_runner_free(r2);
  mw_engine_free(other);

  err = mw_runner_new(1, 2, &r2);
  assert_int_equal(mw_error_status(err), MW_ERR_MISUSE);
  mw_error_free(err);
  /* The three completions not taken are freed with the runner. */
  mw_runner_free(runner);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(packed_items_round_trip),
      cmocka_unit_test(packed_result_matches_the_accessors),
      cmocka_unit_test(request_secrets_are_read_only_when_allowed),
      cmocka_unit_test(runner_completes_each_tag_once),
      cmocka_unit_test(runner_shutdown_keeps_completions_and_refuses_more),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

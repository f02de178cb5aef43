/*
 * test_runner.c - the calls made for language bindings, against real
 * components: packed items in, the packed result out, a request's own
 * secrets, and the runner (threads, completions on an eventfd).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ---- the packed layouts of execute.h, written and read by hand ---- */

typedef struct {
  const char *json;
  size_t json_len;
  const void *bin;
  uint32_t bin_len; /* MW_PACKED_NONE: no binary */
} item_t;

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
  if (n) memcpy(o->p + o->len, s, n);
  o->len += n;
}

static void put_u32(out_t *o, uint32_t v) {
  unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                        (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  put(o, b, 4);
}

static void put_item(out_t *o, const item_t *it) {
  put_u32(o, (uint32_t)it->json_len);
  put_u32(o, it->bin_len);
  put(o, it->json, it->json_len);
  if (it->bin_len != MW_PACKED_NONE) put(o, it->bin, it->bin_len);
}

/* A reader that fails the test instead of running past the end. */
typedef struct {
  const unsigned char *p, *end;
} rd_t;

static const unsigned char *rd_bytes(rd_t *r, size_t n) {
  assert_true((size_t)(r->end - r->p) >= n);
  const unsigned char *s = r->p;
  r->p += n;
  return s;
}

static uint32_t rd_u32(rd_t *r) {
  const unsigned char *b = rd_bytes(r, 4);
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
         (uint32_t)b[3] << 24;
}

static uint64_t rd_u64(rd_t *r) {
  uint64_t lo = rd_u32(r);
  return lo | (uint64_t)rd_u32(r) << 32;
}

/* Checks that r is ok with exactly the items want, byte for byte. */
static void expect_items(const mw_result_t *r, const item_t *want, size_t n) {
  assert_int_equal(mw_result_outcome(r), MW_OUTCOME_OK);
  assert_int_equal(mw_result_item_count(r), n);
  for (size_t i = 0; i < n; i++) {
    size_t jl, bl = 12345;
    const char *j = mw_result_item_json(r, i, &jl);
    assert_int_equal(jl, want[i].json_len);
    assert_memory_equal(j, want[i].json, jl);
    const uint8_t *b = mw_result_item_binary(r, i, &bl);
    if (want[i].bin_len == MW_PACKED_NONE) {
      assert_null(b);
      continue;
    }
    assert_non_null(b); /* an empty binary is present, not absent */
    assert_int_equal(bl, want[i].bin_len);
    if (bl) assert_memory_equal(b, want[i].bin, bl);
  }
}

static mw_result_t *run(const char *name, const mw_request_t *req) {
  mw_result_t *r;
  TU_OK(mw_execute(tu_engine(), tu_component(name), req, &r));
  return r;
}

/* ---- packed items ---- */

static const item_t packed[] = {
    {"\"b\"", 3, "\x00\xff", 2},
    {"\"e\"", 3, "", 0},                   /* empty binary */
    {"1", 1, NULL, MW_PACKED_NONE},        /* no binary */
    {"\"a\0b\"", 5, NULL, MW_PACKED_NONE}, /* NUL inside the JSON text */
};
#define N_PACKED (sizeof packed / sizeof *packed)

static void packed_items_come_back_exactly(void **state) {
  (void)state;
  out_t o = {0};
  for (size_t i = 0; i < N_PACKED; i++) put_item(&o, &packed[i]);
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  TU_OK(mw_request_set_items_packed(req, o.p, o.len));
  mw_result_t *r = run("echo", req);
  expect_items(r, packed, N_PACKED);
  mw_result_free(r);

  /* Heap items appended after a packed block are kept apart from it. */
  TU_OK(mw_request_add_item(req, "5", 1, NULL, 0));
  r = run("echo", req);
  assert_int_equal(mw_result_item_count(r), N_PACKED + 1);
  assert_string_equal(tu_item(r, N_PACKED), "5");
  mw_result_free(r);

  TU_OK(mw_request_set_items_packed(req, o.p, 0)); /* empty: no items */
  r = run("echo", req);
  expect_items(r, NULL, 0);
  mw_result_free(r);
  mw_request_free(req);
  free(o.p);
}

static void truncated_packed_items_name_the_item_and_change_nothing(void **state) {
  (void)state;
  out_t o = {0};
  size_t starts[N_PACKED + 1]; /* where each item begins, then the end */
  for (size_t i = 0; i < N_PACKED; i++) {
    starts[i] = o.len;
    put_item(&o, &packed[i]);
  }
  starts[N_PACKED] = o.len;
  const item_t before = {"\"before\"", 8, "xy", 2};
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  TU_OK(mw_request_add_item(req, before.json, before.json_len, before.bin, before.bin_len));

  /* Every cut: whole items are accepted (then restored); any other names
   * the item it falls in, as a cut header or a cut body. */
  size_t item = 0;
  for (size_t cut = 1; cut < o.len; cut++) {
    while (cut >= starts[item + 1]) item++;
    mw_error_t *err = mw_request_set_items_packed(req, o.p, cut);
    if (cut == starts[item]) {
      assert_null(err);
      TU_OK(mw_request_set_items_packed(req, NULL, 0));
      TU_OK(mw_request_add_item(req, before.json, before.json_len, before.bin,
                                before.bin_len));
      continue;
    }
    assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
    char want[64];
    snprintf(want, sizeof want, "item %zu: %s", item,
             cut - starts[item] < 8 ? "truncated header" : "");
    if (!strstr(mw_error_message(err), want))
      fail_msg("cut %zu: '%s' lacks '%s'", cut, mw_error_message(err), want);
    mw_error_free(err);
  }
  mw_result_t *r = run("echo", req);
  expect_items(r, &before, 1);
  mw_result_free(r);

  /* Packed items survive a refused buffer too. */
  TU_OK(mw_request_set_items_packed(req, o.p, o.len));
  mw_error_t *err = mw_request_set_items_packed(req, o.p, o.len - 1);
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  mw_error_free(err);
  r = run("echo", req);
  expect_items(r, packed, N_PACKED);
  mw_result_free(r);
  mw_request_free(req);
  free(o.p);
}

/* ---- the packed result ---- */

/* Parses mw_result_pack's buffer and checks every field against the
 * accessors, and that nothing is left over. */
static void expect_pack_matches(const mw_result_t *r) {
  size_t len = 0;
  unsigned char *buf = mw_result_pack(r, &len);
  assert_non_null(buf);
  rd_t rd = {buf, buf + len};
  assert_int_equal(rd_u32(&rd), mw_result_outcome(r));
  assert_int_equal(rd_u32(&rd), mw_result_trap_kind(r));
  mw_stats_t st;
  mw_result_stats(r, &st);
  const uint64_t stats[] = {st.fuel_used,  st.wall_time_us, st.memory_peak_bytes,
                            st.host_calls, st.denied_calls, st.bytes_in,
                            st.bytes_out,  st.logs_dropped, st.events_dropped};
  for (size_t i = 0; i < 9; i++) assert_int_equal(rd_u64(&rd), stats[i]);
  uint32_t n_items = rd_u32(&rd), n_logs = rd_u32(&rd), n_events = rd_u32(&rd);
  assert_int_equal(n_items, mw_result_item_count(r));
  assert_int_equal(n_logs, mw_result_log_count(r));
  assert_int_equal(n_events, mw_result_event_count(r));
  const char *msg = mw_result_message(r);
  size_t mlen = strlen(msg);
  assert_int_equal(rd_u32(&rd), mlen);
  assert_memory_equal(rd_bytes(&rd, mlen), msg, mlen);
  for (uint32_t i = 0; i < n_items; i++) {
    size_t jl, bl;
    const char *j = mw_result_item_json(r, i, &jl);
    const uint8_t *b = mw_result_item_binary(r, i, &bl);
    assert_int_equal(rd_u32(&rd), jl);
    assert_int_equal(rd_u32(&rd), b ? (uint32_t)bl : MW_PACKED_NONE);
    assert_memory_equal(rd_bytes(&rd, jl), j, jl);
    if (b && bl) assert_memory_equal(rd_bytes(&rd, bl), b, bl);
  }
  for (uint32_t i = 0; i < n_logs; i++) {
    mw_log_level_t level;
    mw_log_source_t source;
    const char *text = mw_result_log(r, i, &level, &source);
    assert_int_equal(rd_u32(&rd), level);
    assert_int_equal(rd_u32(&rd), source);
    assert_int_equal(rd_u32(&rd), strlen(text));
    assert_memory_equal(rd_bytes(&rd, strlen(text)), text, strlen(text));
  }
  for (uint32_t i = 0; i < n_events; i++) {
    const char *payload, *type = mw_result_event(r, i, &payload);
    assert_int_equal(rd_u32(&rd), strlen(type));
    assert_int_equal(rd_u32(&rd), strlen(payload));
    assert_memory_equal(rd_bytes(&rd, strlen(type)), type, strlen(type));
    assert_memory_equal(rd_bytes(&rd, strlen(payload)), payload, strlen(payload));
  }
  assert_ptr_equal(rd.p, rd.end);
  free(buf);
}

static void packed_result_matches_the_accessors(void **state) {
  (void)state;
  mw_result_t *r = tu_run("echo",
                          "[{\"json\": \"1\", \"binary\": \"AP8=\"}, {\"json\": \"2\"},"
                          " {\"json\": \"3\", \"binary\": \"\"}]",
                          NULL, NULL, NULL);
  expect_pack_matches(r);
  mw_result_free(r);

  r = tu_run("guesterr", NULL, NULL, NULL, NULL);
  assert_int_equal(mw_result_outcome(r), MW_OUTCOME_ERR);
  expect_pack_matches(r);
  mw_result_free(r);

  r = tu_run("loop", NULL, NULL, "{\"max_fuel\": 50000}", NULL);
  assert_int_equal(mw_result_trap_kind(r), MW_TRAP_FUEL_EXHAUSTED);
  expect_pack_matches(r);
  mw_result_free(r);

  r = tu_run("loop", NULL, NULL, "{\"timeout_ms\": 50, \"max_fuel\": 1000000000000000}",
             NULL);
  assert_int_equal(mw_result_trap_kind(r), MW_TRAP_TIMEOUT);
  assert_true(strlen(mw_result_message(r)) > 0);
  expect_pack_matches(r);
  mw_result_free(r);

  /* Logs from every source, events, and a denied call in the stats. */
  const char *cmds[] = {"log debug d", "log error e", "print out", "eprint err",
                        "event t1 {\"k\": 1}", "event t2 p", "secret NOPE"};
  r = tu_host_cmds(cmds, sizeof cmds / sizeof *cmds, NULL, NULL);
  assert_true(mw_result_log_count(r) >= 4);
  assert_int_equal(mw_result_event_count(r), 2);
  expect_pack_matches(r);
  mw_result_free(r);
}

/* ---- a request's own secrets ---- */

/* Runs `host` with "secret NAME" for each name; returns the result. */
static mw_result_t *read_secrets(mw_request_t *req, const char *const *names,
                                 size_t n) {
  TU_OK(mw_request_set_items_packed(req, NULL, 0));
  for (size_t i = 0; i < n; i++) {
    char cmd[64];
    int len = snprintf(cmd, sizeof cmd, "secret %s", names[i]);
    TU_OK(mw_request_add_item(req, cmd, (size_t)len, NULL, 0));
  }
  return run("host", req);
}

#define FOUND(v) "{\"op\":\"secret\",\"found\":true,\"value\":\"" v "\"}"
#define ABSENT "{\"op\":\"secret\",\"found\":false}"

static void request_secrets_come_first_and_only_when_allowed(void **state) {
  (void)state;
  mw_host_t *host = mw_host_new();
  const char *host_secrets = "{\"A\": \"host-a\", \"B\": \"host-b\", \"C\": \"host-c\"}";
  TU_OK(mw_host_use_secrets_json(host, host_secrets, strlen(host_secrets)));
  const char *allow = "{\"allow_secrets\": true, \"secret_allowed_names\": [\"A\", \"B\", \"D\"]}";
  mw_permissions_t *perms, *deny;
  TU_OK(mw_permissions_from_json(allow, strlen(allow), &perms));
  TU_OK(mw_permissions_from_json("{}", 2, &deny));
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  mw_request_set_host(req, host);
  mw_request_set_permissions(req, perms);
  TU_OK(mw_request_add_secret(req, "A", "own-a"));
  TU_OK(mw_request_add_secret(req, "C", "own-c"));

  const char *names[] = {"A", "B", "C", "D"};
  mw_result_t *r = read_secrets(req, names, 4);
  assert_string_equal(tu_item(r, 0), FOUND("own-a"));  /* request before host */
  assert_string_equal(tu_item(r, 1), FOUND("host-b")); /* request lacks it */
  assert_string_equal(tu_item(r, 2), ABSENT);          /* both have it, not allowed */
  assert_string_equal(tu_item(r, 3), ABSENT);          /* allowed, nobody has it */
  mw_result_free(r);

  /* Refused additions leave the secrets as they were. */
  mw_error_t *err = mw_request_add_secret(req, "A", "again");
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  assert_non_null(strstr(mw_error_message(err), "'A' given twice"));
  mw_error_free(err);
  err = mw_request_add_secret(req, "", "x");
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  mw_error_free(err);
  r = read_secrets(req, names, 1);
  assert_string_equal(tu_item(r, 0), FOUND("own-a"));
  mw_result_free(r);

  /* Deny-all permissions: not even the request's own secret. */
  mw_request_set_permissions(req, deny);
  r = read_secrets(req, names, 1);
  assert_string_equal(tu_item(r, 0), ABSENT);
  mw_result_free(r);

  mw_request_free(req);
  mw_permissions_free(perms);
  mw_permissions_free(deny);
  mw_host_free(host);
}

/* ---- the runner ---- */

static bool readable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/* Request i echoes its own json ("i") and binary (i's four bytes). */
static mw_request_t *numbered(uint32_t i) {
  char json[16];
  int n = snprintf(json, sizeof json, "%u", i);
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  TU_OK(mw_request_add_item(req, json, (size_t)n, (const uint8_t *)&i, 4));
  return req;
}

static void expect_numbered(const mw_completion_t *c, uint32_t i) {
  char json[16];
  int n = snprintf(json, sizeof json, "%u", i);
  item_t want = {json, (size_t)n, &i, 4};
  assert_null(c->error);
  if (c->result) {
    assert_null(c->packed);
    expect_items(c->result, &want, 1);
    return;
  }
  /* Packed: outcome ok, no message, one item, no logs or events. */
  assert_non_null(c->packed);
  rd_t rd = {c->packed, (const unsigned char *)c->packed + c->packed_len};
  assert_int_equal(rd_u32(&rd), MW_OUTCOME_OK);
  rd_bytes(&rd, 4 + 9 * 8); /* trap kind, stats */
  assert_int_equal(rd_u32(&rd), 1);
  rd_bytes(&rd, 4 * 3); /* log, event counts, message length */
  assert_int_equal(rd_u32(&rd), (uint32_t)n);
  assert_int_equal(rd_u32(&rd), 4);
  assert_memory_equal(rd_bytes(&rd, (size_t)n), json, (size_t)n);
  assert_memory_equal(rd_bytes(&rd, 4), &i, 4);
  assert_ptr_equal(rd.p, rd.end);
}

static void free_completion(mw_completion_t *c) {
  mw_result_free(c->result);
  free(c->packed);
  mw_error_free(c->error);
}

static void runner_completes_each_tag_once(void **state) {
  (void)state;
  enum { N = 200 };
  const struct {
    unsigned threads, flags;
  } configs[] = {{3, 0}, {2, MW_RUNNER_PACK}, {0, 0} /* one per CPU */};
  for (size_t cfg = 0; cfg < sizeof configs / sizeof *configs; cfg++) {
    mw_runner_t *runner;
    TU_OK(mw_runner_new(configs[cfg].threads, configs[cfg].flags, &runner));
    int fd = mw_runner_fd(runner);
    assert_true(fd >= 0);
    assert_false(readable(fd, 0)); /* nothing waits yet */
    /* Tags above 2^32: they must come back whole. */
    const uint64_t base = (uint64_t)7 << 40;
    for (uint32_t i = 0; i < N; i++)
      TU_OK(mw_runner_submit(runner, tu_engine(), tu_component("echo"), numbered(i),
                             base + i));
    bool seen[N] = {false};
    size_t got = 0, batch = 1;
    while (got < N) {
      assert_true(readable(fd, 30000));
      mw_completion_t c[16];
      size_t n = mw_runner_take(runner, c, batch);
      assert_true(n >= 1 && n <= batch); /* readable means something waits */
      batch = batch % 16 + 1;
      for (size_t k = 0; k < n; k++) {
        assert_true(c[k].tag >= base && c[k].tag < base + N);
        uint32_t i = (uint32_t)(c[k].tag - base);
        assert_false(seen[i]);
        seen[i] = true;
        expect_numbered(&c[k], i);
        free_completion(&c[k]);
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
  int fd = mw_runner_fd(runner);
  for (uint32_t i = 0; i < 5; i++)
    TU_OK(mw_runner_submit(runner, tu_engine(), tu_component("echo"), numbered(i), i));
  mw_runner_shutdown(runner); /* waits for all five */
  mw_runner_shutdown(runner); /* idempotent */
  assert_true(readable(fd, 0));
  mw_completion_t c[2];
  assert_int_equal(mw_runner_take(runner, c, 2), 2);
  assert_true(readable(fd, 0)); /* three remain */
  for (int k = 0; k < 2; k++) {
    expect_numbered(&c[k], (uint32_t)c[k].tag);
    free_completion(&c[k]);
  }
  assert_int_equal(mw_runner_take(runner, c, 0), 0);
  assert_true(readable(fd, 0));

  mw_request_t *late = numbered(9);
  mw_error_t *err = mw_runner_submit(runner, tu_engine(), tu_component("echo"), late, 9);
  assert_int_equal(mw_error_status(err), MW_ERR_MISUSE);
  mw_error_free(err);
  mw_request_free(late); /* still the caller's */
  /* The three completions not taken go with the runner (valgrind checks). */
  mw_runner_free(runner);
}

static void runner_reports_execution_errors_as_completions(void **state) {
  (void)state;
  /* inspect keeps a component that does not fit the world; mw_execute
   * refuses it, so the completion carries the error and no result. */
  mw_component_t *bad;
  TU_OK(mw_component_inspect_file(tu_engine(), tu_path("badexport"), &bad));
  for (unsigned flags = 0; flags <= MW_RUNNER_PACK; flags++) {
    mw_runner_t *runner;
    TU_OK(mw_runner_new(2, flags, &runner));
    TU_OK(mw_runner_submit(runner, tu_engine(), bad, numbered(0), 100));
    TU_OK(mw_runner_submit(runner, tu_engine(), tu_component("echo"), numbered(1), 1));
    mw_runner_shutdown(runner);
    mw_completion_t c[4];
    assert_int_equal(mw_runner_take(runner, c, 4), 2);
    assert_false(readable(mw_runner_fd(runner), 0));
    for (int k = 0; k < 2; k++) {
      if (c[k].tag == 1) {
        expect_numbered(&c[k], 1);
      } else {
        assert_int_equal(c[k].tag, 100);
        assert_int_equal(mw_error_status(c[k].error), MW_ERR_COMPONENT);
        assert_non_null(strstr(mw_error_message(c[k].error), "wrong type"));
        assert_null(c[k].result);
        assert_null(c[k].packed);
      }
      free_completion(&c[k]);
    }
    mw_runner_free(runner);
  }
  mw_component_free(bad);

  mw_runner_t *runner = NULL;
  mw_error_t *err = mw_runner_new(1, 2, &runner); /* unknown flag */
  assert_int_equal(mw_error_status(err), MW_ERR_MISUSE);
  assert_null(runner);
  mw_error_free(err);
  err = mw_runner_new(1025, 0, &runner);
  assert_int_equal(mw_error_status(err), MW_ERR_LIMIT);
  mw_error_free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(packed_items_come_back_exactly),
      cmocka_unit_test(truncated_packed_items_name_the_item_and_change_nothing),
      cmocka_unit_test(packed_result_matches_the_accessors),
      cmocka_unit_test(request_secrets_come_first_and_only_when_allowed),
      cmocka_unit_test(runner_completes_each_tag_once),
      cmocka_unit_test(runner_shutdown_keeps_completions_and_refuses_more),
      cmocka_unit_test(runner_reports_execution_errors_as_completions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_execute.c - executions of real components: ok/err outcomes, every
 * trap kind, limits and the caps on output, logs and events.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "test_util.h"

static void expect_trap(mw_result_t *r, mw_trap_kind_t kind) {
  if (mw_result_outcome(r) != MW_OUTCOME_TRAP || mw_result_trap_kind(r) != kind) {
    char *j = tu_json(r);
    fail_msg("expected trap %s, got %s", mw_trap_kind_name(kind), j);
  }
}

static void echo_returns_items_unchanged(void **state) {
  (void)state;
  mw_result_t *r = tu_run(
      "echo",
      "[{\"json\": \"{\\\"a\\\": [1, 2]}\"}, {\"json\": \"\\\"x\\\"\", "
      "\"binary\": \"AAEC/w==\"}]",
      NULL, NULL, NULL);
  assert_int_equal(mw_result_item_count(r), 2);
  assert_string_equal(tu_item(r, 0), "{\"a\": [1, 2]}");
  size_t blen = 1;
  assert_null(mw_result_item_binary(r, 0, &blen));
  assert_string_equal(tu_item(r, 1), "\"x\"");
  const uint8_t *b = mw_result_item_binary(r, 1, &blen);
  assert_non_null(b);
  assert_int_equal(blen, 4);
  assert_memory_equal(b, "\x00\x01\x02\xff", 4);
  char *j = mw_result_to_json(r, 0);
  assert_string_equal(j, "{\"ok\":[{\"json\":\"{\\\"a\\\": [1, 2]}\"},"
                         "{\"json\":\"\\\"x\\\"\",\"binary\":\"AAEC/w==\"}]}");
  free(j);
  mw_stats_t st;
  mw_result_stats(r, &st);
  assert_true(st.fuel_used > 0);
  assert_true(st.memory_peak_bytes > 0);
  assert_int_equal(st.bytes_in, strlen("{\"a\": [1, 2]}") + 3 + 4);
  assert_int_equal(st.bytes_out, st.bytes_in);
  mw_result_free(r);
}

static void context_and_env_reach_the_guest(void **state) {
  (void)state;
  mw_component_t *c = tu_component("context");
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  TU_OK(mw_request_set_env(req, "{\"k\": \"v\"}", 10));
  const char *ctx = "{\"workflow_id\": \"wf-1\", \"execution_id\": \"ex-9\","
                    " \"node_id\": \"n-3\", \"run_index\": 7}";
  TU_OK(mw_request_set_context_json(req, ctx, strlen(ctx)));
  TU_OK(mw_request_add_item(req, "1", 1, NULL, 0));
  mw_result_t *r;
  TU_OK(mw_execute(tu_engine(), c, req, &r));
  assert_string_equal(tu_item(r, 0),
                      "{\"workflow_id\":\"wf-1\",\"execution_id\":\"ex-9\","
                      "\"node_id\":\"n-3\",\"run_index\":7,"
                      "\"env\":\"{\\\"k\\\": \\\"v\\\"}\",\"count\":1}");
  mw_result_free(r);
  /* Bad context documents name the field. */
  mw_error_t *err = mw_request_set_context_json(req, "{\"run_index\": -1}", 17);
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  assert_non_null(strstr(mw_error_message(err), "run_index"));
  mw_error_free(err);
  err = mw_request_set_context_json(req, "{\"node\": \"x\"}", 13);
  assert_non_null(strstr(mw_error_message(err), "unknown field 'node'"));
  mw_error_free(err);
  mw_request_free(req);
}

static void bad_items_are_refused_with_the_element(void **state) {
  (void)state;
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  struct {
    const char *doc, *needle;
  } cases[] = {
      {"{}", "expected a JSON array"},
      {"[1]", "input[0]: expected an object"},
      {"[{\"json\": 1}]", "input[0].json: expected a string"},
      {"[{\"json\": \"1\"}, {\"json\": \"2\", \"binary\": \"!!\"}]",
       "input[1].binary: expected a base64"},
      {"[{\"json\": \"1\", \"extra\": 2}]", "unknown field 'extra'"},
      {"[{\"json\": \"1\"", "line 1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mw_error_t *err =
        mw_request_set_items_json(req, cases[i].doc, strlen(cases[i].doc));
    assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
    if (!strstr(mw_error_message(err), cases[i].needle))
      fail_msg("'%s' -> '%s'", cases[i].doc, mw_error_message(err));
    mw_error_free(err);
  }
  mw_request_free(req);
}

static void guest_err_is_an_outcome(void **state) {
  (void)state;
  mw_result_t *r = tu_run("guesterr", NULL, NULL, NULL, NULL);
  assert_int_equal(mw_result_outcome(r), MW_OUTCOME_ERR);
  assert_string_equal(mw_result_message(r), "bad input: expected a number");
  assert_int_equal(mw_result_trap_kind(r), MW_TRAP_NONE);
  mw_result_free(r);
}

static void infinite_loop_exhausts_fuel(void **state) {
  (void)state;
  mw_result_t *r = tu_run("loop", NULL, NULL, "{\"max_fuel\": 5000000}", NULL);
  expect_trap(r, MW_TRAP_FUEL_EXHAUSTED);
  mw_stats_t st;
  mw_result_stats(r, &st);
  assert_int_equal(st.fuel_used, 5000000);
  mw_result_free(r);
}

static void infinite_loop_times_out(void **state) {
  (void)state;
  mw_result_t *r = tu_run("loop", NULL, NULL,
                          "{\"timeout_ms\": 50, \"max_fuel\": "
                          "1000000000000000}",
                          NULL);
  expect_trap(r, MW_TRAP_TIMEOUT);
  mw_stats_t st;
  mw_result_stats(r, &st);
  assert_true(st.wall_time_us >= 50000);
  mw_result_free(r);
}

static void host_call_loop_times_out(void **state) {
  (void)state;
  mw_result_t *r = tu_run("hostloop", NULL, NULL,
                          "{\"timeout_ms\": 50, \"max_fuel\": "
                          "1000000000000000, \"allow_kv\": true}",
                          NULL);
  expect_trap(r, MW_TRAP_TIMEOUT);
  mw_stats_t st;
  mw_result_stats(r, &st);
  assert_true(st.host_calls > 100);
  assert_int_equal(st.denied_calls, 0);
  mw_result_free(r);
}

static void memory_bomb_hits_memory_limit(void **state) {
  (void)state;
  mw_result_t *r = tu_run("membomb", NULL, NULL, "{\"max_memory_mb\": 16}", NULL);
  expect_trap(r, MW_TRAP_MEMORY_LIMIT);
  mw_stats_t st;
  mw_result_stats(r, &st);
  assert_true(st.memory_peak_bytes <= 16u << 20);
  assert_true(st.memory_peak_bytes > 8u << 20);
  assert_non_null(strstr(mw_result_message(r), "max_memory_mb 16"));
  mw_result_free(r);
}

static void deep_recursion_overflows_the_stack(void **state) {
  (void)state;
  mw_result_t *r = tu_run("recurse", NULL, NULL, NULL, NULL);
  expect_trap(r, MW_TRAP_STACK_OVERFLOW);
  mw_result_free(r);
}

static void unreachable_is_a_guest_trap(void **state) {
  (void)state;
  mw_result_t *r = tu_run("trap", NULL, NULL, NULL, NULL);
  expect_trap(r, MW_TRAP_GUEST);
  assert_non_null(strstr(mw_result_message(r), "unreachable"));
  mw_result_free(r);
}

static void huge_output_hits_output_limit(void **state) {
  (void)state;
  /* 20000 items of ~1 KiB: over the default 16 MiB cap on output bytes. */
  mw_result_t *r = tu_run("bigoutput", NULL, "20000",
                          "{\"max_output_items\": 100000}", NULL);
  expect_trap(r, MW_TRAP_OUTPUT_LIMIT);
  assert_non_null(strstr(mw_result_message(r), "max_output_bytes"));
  assert_int_equal(mw_result_item_count(r), 0);
  mw_result_free(r);
  /* Items sharing guest memory: 4M items would be ~4 GB once copied. The
   * caps are charged before copying, so the host never holds that. */
  r = tu_run("bigoutput", NULL, "4000000", "{\"max_memory_mb\": 256}", NULL);
  expect_trap(r, MW_TRAP_OUTPUT_LIMIT);
  mw_result_free(r);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  assert_true(ru.ru_maxrss < 1024 * 1024); /* KiB: well under 1 GiB */
  r = tu_run("bigoutput", NULL, "11", "{\"max_output_items\": 10}", NULL);
  expect_trap(r, MW_TRAP_OUTPUT_LIMIT);
  assert_non_null(strstr(mw_result_message(r), "max_output_items"));
  mw_result_free(r);
  r = tu_run("bigoutput", NULL, "10", "{\"max_output_items\": 10}", NULL);
  assert_int_equal(mw_result_outcome(r), MW_OUTCOME_OK);
  assert_int_equal(mw_result_item_count(r), 10);
  mw_result_free(r);
}

static void log_flood_is_capped(void **state) {
  (void)state;
  mw_result_t *r = tu_run("logflood", NULL, NULL,
                          "{\"max_log_bytes\": 65536, \"max_fuel\": "
                          "100000000000}",
                          NULL);
  assert_int_equal(mw_result_outcome(r), MW_OUTCOME_OK);
  assert_string_equal(tu_item(r, 0), "{\"done\":true}");
  mw_stats_t st;
  mw_result_stats(r, &st);
  size_t kept = mw_result_log_count(r), bytes = 0;
  for (size_t i = 0; i < kept; i++) {
    mw_log_level_t lvl;
    mw_log_source_t src;
    bytes += strlen(mw_result_log(r, i, &lvl, &src));
    assert_int_equal(lvl, MW_LOG_INFO);
    assert_int_equal(src, MW_LOG_CONSOLE);
  }
  assert_true(kept > 0);
  assert_true(bytes <= 65536);
  assert_int_equal(kept + st.logs_dropped, 1000000);
  mw_result_free(r);
}

static void event_flood_is_capped(void **state) {
  (void)state;
  mw_result_t *r = tu_run("eventflood", NULL, NULL,
                          "{\"max_events\": 100, \"max_fuel\": 100000000000}",
                          NULL);
  assert_int_equal(mw_result_outcome(r), MW_OUTCOME_OK);
  mw_stats_t st;
  mw_result_stats(r, &st);
  assert_int_equal(mw_result_event_count(r), 100);
  assert_int_equal(st.events_dropped, 1000000 - 100);
  const char *payload;
  assert_string_equal(mw_result_event(r, 0, &payload), "tick");
  mw_result_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(echo_returns_items_unchanged),
      cmocka_unit_test(context_and_env_reach_the_guest),
      cmocka_unit_test(bad_items_are_refused_with_the_element),
      cmocka_unit_test(guest_err_is_an_outcome),
      cmocka_unit_test(infinite_loop_exhausts_fuel),
      cmocka_unit_test(infinite_loop_times_out),
      cmocka_unit_test(host_call_loop_times_out),
      cmocka_unit_test(memory_bomb_hits_memory_limit),
      cmocka_unit_test(deep_recursion_overflows_the_stack),
      cmocka_unit_test(unreachable_is_a_guest_trap),
      cmocka_unit_test(huge_output_hits_output_limit),
      cmocka_unit_test(log_flood_is_capped),
      cmocka_unit_test(event_flood_is_capped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

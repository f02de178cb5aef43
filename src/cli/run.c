/*
 * run.c - `marie-wasm run`: one execution from files, result on stdout as
 * one JSON document, logs and events on stderr as JSON lines while they
 * happen.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char help[] =
    "usage: marie-wasm run NODE.wasm|NODE.cwasm [options]\n"
    "\n"
    "Executes the node's `execute` export once and prints the result:\n"
    "  {\"ok\": [items]} | {\"err\": \"...\"} | {\"trap\": {\"kind\", \"message\"}}\n"
    "Logs and events go to stderr as JSON lines.\n"
    "\n"
    "options:\n"
    "  --input FILE        JSON array of {\"json\": \"<json text>\", \"binary\": \"<base64>\"}\n"
    "                      ('-' = stdin; default: no items)\n"
    "  --env FILE          the file's text becomes env.vars (the node's config)\n"
    "  --context FILE      JSON {workflow_id, execution_id, node_id, run_index}\n"
    "  --permissions FILE  JSON permissions (default: deny everything); fields:\n"
    "                      allow_http, http_allowed_hosts, allow_secrets,\n"
    "                      secret_allowed_names, allow_kv, kv_prefix,\n"
    "                      max_memory_mb, max_fuel, timeout_ms, max_output_items,\n"
    "                      max_output_bytes, max_log_bytes, max_events,\n"
    "                      max_http_requests\n"
    "  --secrets FILE      JSON object of secret name -> value\n"
    "  --secrets-file FILE encrypted secrets file (marie-wasm secrets set);\n"
    "                      key from MW_SECRETS_KEY\n"
    "  --secrets-env-prefix PREFIX\n"
    "                      secrets from environment variables PREFIX<NAME>\n"
    "  --kv URL            key-value store: memory: (default),\n"
    "                      sqlite:///path/kv.db, redis://host:port/db\n"
    "  --events-out FILE   append events to FILE as JSON lines (not stderr)\n"
    "  --allow-private-network\n"
    "                      let http-client reach loopback and private\n"
    "                      addresses (local testing only)\n"
    "  --stats             add fuel, time, memory and call counts to the result\n"
    "  --quiet             do not print logs and events on stderr\n"
    "\n"
    "exit status: 0 ok, 1 the node returned err, 2 trap (limit reached or\n"
    "guest fault), 64 bad usage or input, 70 other failure.\n"
    "\n"
    "example:\n"
    "  echo '[{\"json\": \"{\\\"n\\\": 1}\"}]' > in.json\n"
    "  echo '{\"allow_kv\": true, \"kv_prefix\": \"node-1:\", \"timeout_ms\": 2000}' > perms.json\n"
    "  marie-wasm run node.wasm --input in.json --permissions perms.json --stats\n";

int cmd_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"input", required_argument, 0, 'i'},
      {"env", required_argument, 0, 'e'},
      {"context", required_argument, 0, 'c'},
      {"permissions", required_argument, 0, 'p'},
      {"secrets", required_argument, 0, 's'},
      {"secrets-file", required_argument, 0, 'F'},
      {"secrets-env-prefix", required_argument, 0, 'E'},
      {"kv", required_argument, 0, 'k'},
      {"events-out", required_argument, 0, 'o'},
      {"allow-private-network", no_argument, 0, 'P'},
      {"stats", no_argument, 0, 'S'},
      {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *input = NULL, *env = NULL, *context = NULL, *perms_path = NULL,
             *secrets = NULL, *secrets_file = NULL, *secrets_env = NULL,
             *kv_url = "memory:", *events_out = NULL;
  bool stats = false, quiet = false, private_net = false;
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (o) {
      case 'i': input = optarg; break;
      case 'e': env = optarg; break;
      case 'c': context = optarg; break;
      case 'p': perms_path = optarg; break;
      case 's': secrets = optarg; break;
      case 'F': secrets_file = optarg; break;
      case 'E': secrets_env = optarg; break;
      case 'k': kv_url = optarg; break;
      case 'o': events_out = optarg; break;
      case 'P': private_net = true; break;
      case 'S': stats = true; break;
      case 'q': quiet = true; break;
      case 'h': fputs(help, stdout); return MW_EXIT_OK;
      default: fputs(help, stderr); return MW_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "marie-wasm run: expected exactly one NODE file\n\n%s", help);
    return MW_EXIT_USAGE;
  }
  const char *node = argv[optind];

  int rc = MW_EXIT_FAILURE;
  mw_error_t *err = NULL;
  mw_engine_t *engine = NULL;
  mw_component_t *comp = NULL;
  mw_request_t *req = NULL;
  mw_permissions_t *perms = NULL;
  mw_host_t *host = NULL;
  mw_result_t *res = NULL;
  char *text = NULL;
  size_t len = 0;
  int events_fd = -1;

  /* Inputs first: a typo in a document should not wait for compilation. */
  if ((err = mw_request_new(&req))) goto fail;
  if (input) {
    if (!(text = cli_read_file(input, &len))) { rc = MW_EXIT_USAGE; goto out; }
    if ((err = mw_request_set_items_json(req, text, len))) goto fail_input;
    free(text), text = NULL;
  }
  if (env) {
    if (!(text = cli_read_file(env, &len))) { rc = MW_EXIT_USAGE; goto out; }
    if ((err = mw_request_set_env(req, text, len))) goto fail;
    free(text), text = NULL;
  }
  if (context) {
    if (!(text = cli_read_file(context, &len))) { rc = MW_EXIT_USAGE; goto out; }
    if ((err = mw_request_set_context_json(req, text, len))) goto fail_input;
    free(text), text = NULL;
  }
  if (perms_path) {
    if (!(text = cli_read_file(perms_path, &len))) { rc = MW_EXIT_USAGE; goto out; }
    if ((err = mw_permissions_from_json(text, len, &perms))) goto fail_input;
    free(text), text = NULL;
  } else if (!(perms = mw_permissions_new())) {
    err = mw_error_new(MW_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if (!(host = mw_host_new())) {
    err = mw_error_new(MW_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if ((secrets != NULL) + (secrets_file != NULL) + (secrets_env != NULL) > 1) {
    fprintf(stderr, "marie-wasm run: use one of --secrets, --secrets-file, "
                    "--secrets-env-prefix\n");
    rc = MW_EXIT_USAGE;
    goto out;
  }
  if ((err = mw_host_use_kv_url(host, kv_url, NULL))) goto fail;
  if (secrets) {
    if (!(text = cli_read_file(secrets, &len))) { rc = MW_EXIT_USAGE; goto out; }
    if ((err = mw_host_use_secrets_json(host, text, len))) goto fail_input;
    free(text), text = NULL;
  } else if (secrets_file) {
    uint8_t key[32];
    if ((err = mw_secrets_key_from_env("MW_SECRETS_KEY", key))) goto fail_input;
    err = mw_host_use_secrets_file(host, secrets_file, key);
    explicit_bzero(key, sizeof key);
    if (err) goto fail;
  } else if (secrets_env) {
    if ((err = mw_host_use_secrets_env(host, secrets_env))) goto fail_input;
  }
  mw_http_options_t http;
  mw_http_options_init(&http);
  if (private_net) {
    fprintf(stderr, "marie-wasm: warning: --allow-private-network lets the "
                    "node reach loopback and private addresses; use it for "
                    "local testing only\n");
    http.allow_private_network = true;
  }
  if ((err = mw_host_use_curl_http(host, &http))) goto fail;
  if (events_out && (events_fd = open(events_out, O_WRONLY | O_CREAT | O_APPEND |
                                                      O_CLOEXEC, 0644)) < 0) {
    fprintf(stderr, "marie-wasm: %s: %s\n", events_out, strerror(errno));
    rc = MW_EXIT_FAILURE;
    goto out;
  }
  mw_host_set_jsonl_sink(host, quiet ? -1 : STDERR_FILENO,
                         events_fd >= 0 ? events_fd
                         : quiet        ? -1
                                        : STDERR_FILENO);
  mw_request_set_permissions(req, perms);
  mw_request_set_host(req, host);

  if ((err = cli_engine(&engine))) goto fail;
  if ((err = mw_component_load_file(engine, node, &comp))) goto fail;
  if ((err = mw_execute(engine, comp, req, &res))) goto fail;

  char *doc = mw_result_to_json(res, stats ? MW_JSON_STATS : 0);
  if (!doc) {
    err = mw_error_new(MW_ERR_NOMEM, "out of memory");
    goto fail;
  }
  printf("%s\n", doc);
  free(doc);
  switch (mw_result_outcome(res)) {
    case MW_OUTCOME_OK: rc = MW_EXIT_OK; break;
    case MW_OUTCOME_ERR: rc = MW_EXIT_GUEST_ERR; break;
    case MW_OUTCOME_TRAP: rc = MW_EXIT_TRAP; break;
  }
  goto out;
fail_input:
  rc = cli_fail(err, NULL);
  err = NULL;
  goto out;
fail:
  rc = cli_fail(err, NULL);
  err = NULL;
out:
  free(text);
  mw_result_free(res);
  mw_component_free(comp);
  mw_engine_free(engine);
  mw_request_free(req);
  mw_host_free(host);
  mw_permissions_free(perms);
  if (events_fd >= 0) close(events_fd);
  return rc;
}

/*
 * new.c - `marie-wasm new`: scaffolds a node in a new directory: an example
 * function in the chosen language, a test input, a config, permissions and
 * a README with the commands to compile and run it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static const char help[] =
    "usage: marie-wasm new --lang LANG DIR\n"
    "\n"
    "Creates DIR with an example node in LANG (python, javascript,\n"
    "typescript, rust or c), a test input, a config and permissions, and a\n"
    "README. DIR must not exist yet, or be empty.\n"
    "\n"
    "example:\n"
    "  marie-wasm new --lang python my-node\n"
    "  cd my-node && marie-wasm compile node.py && marie-wasm run node.wasm \\\n"
    "      --input input.json --env config.json\n";

static const char python_node[] =
    "# A marie:node in Python. `json` is imported for you; the host's\n"
    "# capabilities come from the `marie` module (http, secrets, kv, log,\n"
    "# events) and work as far as the node's permissions allow.\n"
    "from marie import log\n"
    "\n"
    "\n"
    "def execute(input_items, config, context):\n"
    "    factor = config.get(\"factor\", 2)\n"
    "    out = []\n"
    "    for item in input_items:\n"
    "        data = json.loads(item[\"json\"])\n"
    "        out.append({\"n\": data[\"n\"], \"scaled\": data[\"n\"] * factor})\n"
    "    log.info(f\"scaled {len(out)} items for run {context['run_index']}\")\n"
    "    return {\"ok\": out}\n";

static const char javascript_node[] =
    "// A marie:node in JavaScript. The host's capabilities come from \"marie\"\n"
    "// (http, secrets, kv, log, events) and work as far as the node's\n"
    "// permissions allow.\n"
    "import { log } from \"marie\";\n"
    "\n"
    "export function execute(inputItems, config, context) {\n"
    "  const factor = config.factor ?? 2;\n"
    "  const out = inputItems.map((item) => {\n"
    "    const data = JSON.parse(item.json);\n"
    "    return { n: data.n, scaled: data.n * factor };\n"
    "  });\n"
    "  log.info(`scaled ${out.length} items for run ${context.runIndex}`);\n"
    "  return { ok: out };\n"
    "}\n";

static const char typescript_node[] =
    "// A marie:node in TypeScript. The host's capabilities come from \"marie\"\n"
    "// (http, secrets, kv, log, events) and work as far as the node's\n"
    "// permissions allow.\n"
    "import { log, type Context, type Item, type Result } from \"marie\";\n"
    "\n"
    "interface Config {\n"
    "  factor?: number;\n"
    "}\n"
    "\n"
    "export function execute(inputItems: Item[], config: Config, context: Context): Result {\n"
    "  const factor = config.factor ?? 2;\n"
    "  const out = inputItems.map((item) => {\n"
    "    const data = JSON.parse(item.json) as { n: number };\n"
    "    return { n: data.n, scaled: data.n * factor };\n"
    "  });\n"
    "  log.info(`scaled ${out.length} items for run ${context.runIndex}`);\n"
    "  return { ok: out };\n"
    "}\n";

static const char rust_node[] =
    "// A marie:node in Rust. The prelude brings Item, Context, serde_json's\n"
    "// Value and json!, and the host's capabilities (http, secrets, kv, log,\n"
    "// events), which work as far as the node's permissions allow.\n"
    "use marie::prelude::*;\n"
    "\n"
    "pub fn execute(input_items: Vec<Item>, config: Value, context: Context) -> Result<Vec<Value>, String> {\n"
    "    let factor = config[\"factor\"].as_i64().unwrap_or(2);\n"
    "    let mut out = Vec::new();\n"
    "    for item in &input_items {\n"
    "        let n = item.json[\"n\"].as_i64().ok_or(\"item has no integer n\")?;\n"
    "        out.push(json!({ \"n\": n, \"scaled\": n * factor }));\n"
    "    }\n"
    "    log::info(format!(\"scaled {} items for run {}\", out.len(), context.run_index));\n"
    "    Ok(out)\n"
    "}\n";

static const char c_node[] =
    "/* A marie:node in C. marie.h (included for you) has the SDK: building\n"
    " * the result, a small JSON reader and the host's capabilities (http,\n"
    " * secrets, kv, log, events), which work as far as the node's permissions\n"
    " * allow. Everything the SDK hands out is freed when execute returns. */\n"
    "marie_response *execute(const marie_items *input, const char *config,\n"
    "                        const marie_context *ctx)\n"
    "{\n"
    "    int64_t factor = 2, n;\n"
    "    marie_json_int(marie_json_get(config, \"factor\"), &factor);\n"
    "    marie_response *res = marie_ok();\n"
    "    for (size_t i = 0; i < input->count; i++) {\n"
    "        if (!marie_json_int(marie_json_get(input->items[i].json, \"n\"), &n))\n"
    "            return marie_err(\"item %zu has no integer n\", i);\n"
    "        marie_pushf(res, \"{\\\"n\\\":%lld,\\\"scaled\\\":%lld}\", (long long)n,\n"
    "                    (long long)(n * factor));\n"
    "    }\n"
    "    marie_log_info(\"scaled %zu items for run %u\", input->count, (unsigned)ctx->run_index);\n"
    "    return res;\n"
    "}\n";

static const char input_json[] =
    "[\n  {\"json\": \"{\\\"n\\\": 1}\"},\n  {\"json\": \"{\\\"n\\\": 21}\"}\n]\n";
static const char config_json[] = "{\"factor\": 2}\n";
static const char permissions_json[] =
    "{\n"
    "  \"allow_http\": false,\n"
    "  \"http_allowed_hosts\": [],\n"
    "  \"allow_secrets\": false,\n"
    "  \"secret_allowed_names\": [],\n"
    "  \"allow_kv\": false,\n"
    "  \"max_memory_mb\": 128,\n"
    "  \"timeout_ms\": 5000\n"
    "}\n";

typedef struct template {
  mw_language_t lang;
  const char *file;
  const char *source;
} template_t;

static const template_t templates[] = {
    {MW_LANG_PYTHON, "node.py", python_node},
    {MW_LANG_JAVASCRIPT, "node.js", javascript_node},
    {MW_LANG_TYPESCRIPT, "node.ts", typescript_node},
    {MW_LANG_RUST, "node.rs", rust_node},
    {MW_LANG_C, "node.c", c_node},
};

/* Creates dir/name with text; never overwrites. */
static int write_new(const char *dir, const char *name, const char *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  size_t len = strlen(text);
  if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
    fprintf(stderr, "marie-wasm: %s: %s\n", path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return close(fd);
}

static bool dir_is_empty(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  bool empty = d != NULL;
  while (empty && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
  if (d) closedir(d);
  return empty;
}

int cmd_new(int argc, char **argv) {
  static const struct option opts[] = {{"lang", required_argument, 0, 'l'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *lang_name = NULL;
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (o == 'l') {
      lang_name = optarg;
    } else if (o == 'h') {
      fputs(help, stdout);
      return MW_EXIT_OK;
    } else {
      fputs(help, stderr);
      return MW_EXIT_USAGE;
    }
  }
  if (optind != argc - 1 || !lang_name) {
    fputs(help, stderr);
    return MW_EXIT_USAGE;
  }
  const char *dir = argv[optind];
  mw_language_t lang;
  mw_error_t *err = mw_language_parse(lang_name, &lang);
  if (err) return cli_fail(err, "--lang");
  const template_t *t = NULL;
  for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
    if (templates[i].lang == lang) t = &templates[i];
  if (!t) {
    fprintf(stderr, "marie-wasm: no template for %s yet\n", mw_language_name(lang));
    return MW_EXIT_USAGE;
  }
  if (mkdir(dir, 0755) != 0 && !(errno == EEXIST && dir_is_empty(dir))) {
    fprintf(stderr, "marie-wasm: %s: %s\n", dir,
            errno == EEXIST ? "exists and is not empty" : strerror(errno));
    return MW_EXIT_USAGE;
  }
  char readme[2048];
  snprintf(readme, sizeof readme,
           "# A marie:node in %s\n"
           "\n"
           "`%s` defines `execute(input_items, config, context)`; `input.json` is\n"
           "a test input, `config.json` the node's config (env.vars) and\n"
           "`permissions.json` what the node may do (everything denied; grant\n"
           "hosts, secret names and a key-value prefix as the node needs them).\n"
           "\n"
           "```sh\n"
           "marie-wasm compile %s -o node.wasm --precompile\n"
           "marie-wasm run node.cwasm --input input.json --env config.json \\\n"
           "    --permissions permissions.json\n"
           "```\n",
           mw_language_name(lang), t->file, t->file);
  if (write_new(dir, t->file, t->source) || write_new(dir, "input.json", input_json) ||
      write_new(dir, "config.json", config_json) ||
      write_new(dir, "permissions.json", permissions_json) ||
      write_new(dir, "README.md", readme))
    return MW_EXIT_FAILURE;
  fprintf(stderr,
          "marie-wasm: created %s/ (%s, input.json, config.json, permissions.json, "
          "README.md)\n"
          "next: cd %s && marie-wasm compile %s && marie-wasm run node.wasm "
          "--input input.json --env config.json\n",
          dir, t->file, dir, t->file);
  return MW_EXIT_OK;
}

/*
 * precompile.c - `marie-wasm precompile`: .wasm -> native .cwasm artifact,
 * for fast start-up (the artifact is mapped, not compiled, at load).
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

static const char help[] =
    "usage: marie-wasm precompile NODE.wasm -o NODE.cwasm\n"
    "\n"
    "Compiles a marie:node component ahead of time. The artifact only loads\n"
    "in a marie-wasm built with the same Wasmtime version and settings; load\n"
    "artifacts only from storage you trust (they are native code).\n"
    "\n"
    "example:\n"
    "  marie-wasm precompile node.wasm -o node.cwasm\n"
    "  marie-wasm run node.cwasm --input in.json\n";

int cmd_precompile(int argc, char **argv) {
  static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *out = NULL;
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    if (o == 'o') {
      out = optarg;
    } else if (o == 'h') {
      fputs(help, stdout);
      return MW_EXIT_OK;
    } else {
      fputs(help, stderr);
      return MW_EXIT_USAGE;
    }
  }
  if (optind != argc - 1 || !out) {
    fputs(help, stderr);
    return MW_EXIT_USAGE;
  }
  mw_engine_t *engine = NULL;
  mw_component_t *c = NULL;
  mw_error_t *err = cli_engine(&engine);
  if (!err) err = mw_component_load_file(engine, argv[optind], &c);
  if (!err) err = mw_component_write_artifact(c, out);
  int rc = err ? cli_fail(err, NULL) : MW_EXIT_OK;
  if (!err) fprintf(stderr, "marie-wasm: wrote %s\n", out);
  mw_component_free(c);
  mw_engine_free(engine);
  return rc;
}

/*
 * inspect.c - `marie-wasm inspect`: what a component imports and exports,
 * whether it fits marie:node@1.0.0 (and why not), and the least permissions
 * it could need.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const char help[] =
    "usage: marie-wasm inspect NODE.wasm|NODE.cwasm\n"
    "\n"
    "Prints a JSON description: fits_world, problems, imports (with function\n"
    "types), exports, capabilities (the host interfaces it imports: the\n"
    "least permissions it could need) and the sha256 of the .wasm.\n"
    "Exit status 0 when the component fits the world, 1 when it does not.\n"
    "\n"
    "example:\n"
    "  marie-wasm inspect node.wasm\n";

int cmd_inspect(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (o == 'h') {
      fputs(help, stdout);
      return MW_EXIT_OK;
    }
    fputs(help, stderr);
    return MW_EXIT_USAGE;
  }
  if (optind != argc - 1) {
    fputs(help, stderr);
    return MW_EXIT_USAGE;
  }
  mw_engine_t *engine = NULL;
  mw_component_t *c = NULL;
  char *doc = NULL;
  mw_error_t *err = cli_engine(&engine);
  if (!err) err = mw_component_inspect_file(engine, argv[optind], &c);
  if (!err) err = mw_component_describe(c, &doc);
  int rc;
  if (err) {
    rc = cli_fail(err, NULL);
  } else {
    printf("%s\n", doc);
    rc = mw_component_problems(c) ? MW_EXIT_GUEST_ERR : MW_EXIT_OK;
  }
  free(doc);
  mw_component_free(c);
  mw_engine_free(engine);
  return rc;
}

/*
 * main.c - `marie-wasm`: dispatches to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: marie-wasm <command> [options]\n"
    "\n"
    "Runs WebAssembly components written for the WIT world marie:node@1.0.0\n"
    "with deny-by-default permissions and hard limits.\n"
    "\n"
    "commands:\n"
    "  new          scaffold a node: an example function and a test input\n"
    "  compile      compile a function (Python, JS/TS, Rust, C) to a component\n"
    "  run          execute a node (.wasm or .cwasm) on input items\n"
    "  inspect      show a component's imports, exports and needed permissions\n"
    "  precompile   compile a .wasm to a native .cwasm artifact\n"
    "  secrets      manage an encrypted secrets file (set, unset, list)\n"
    "  serve        run the HTTP service (compile, execute, metrics)\n"
    "  version      print versions\n"
    "\n"
    "Run 'marie-wasm <command> --help' for a command's options.\n";

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      !strcmp(argv[1], "help")) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? MW_EXIT_USAGE : MW_EXIT_OK;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "new")) return cmd_new(argc - 1, argv + 1);
  if (!strcmp(cmd, "compile")) return cmd_compile(argc - 1, argv + 1);
  if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "inspect")) return cmd_inspect(argc - 1, argv + 1);
  if (!strcmp(cmd, "precompile")) return cmd_precompile(argc - 1, argv + 1);
  if (!strcmp(cmd, "secrets")) return cmd_secrets(argc - 1, argv + 1);
  if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("marie-wasm %s (Wasmtime %s)\n", mw_version(), mw_wasmtime_version());
    return MW_EXIT_OK;
  }
  fprintf(stderr, "marie-wasm: unknown command '%s'\n\n%s", cmd, usage);
  return MW_EXIT_USAGE;
}

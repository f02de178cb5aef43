/*
 * cli.h - the marie-wasm command: shared helpers and the subcommands.
 * The CLI uses only the public API (marie_wasm.h).
 */
#ifndef MW_CLI_H
#define MW_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "marie_wasm.h"

/* Exit codes, stable for scripts. */
enum {
  MW_EXIT_OK = 0,       /* the node returned ok */
  MW_EXIT_GUEST_ERR = 1, /* the node returned err */
  MW_EXIT_TRAP = 2,     /* the node was stopped (limit or trap) */
  MW_EXIT_USAGE = 64,   /* bad command line or bad input document */
  MW_EXIT_FAILURE = 70  /* anything else: I/O, engine, invalid component */
};

/* Reads a whole file ("-" = stdin), NUL-terminated; max 256 MiB. NULL and a
 * message on stderr on failure. */
char *cli_read_file(const char *path, size_t *out_len);

/* Prints "marie-wasm: <what>: <message>" and frees err; returns the exit
 * code for err's status. */
int cli_fail(mw_error_t *err, const char *what);

/* An engine with the CLI's settings (MW_CACHE_DIR, when set, is the
 * compilation cache). */
mw_error_t *cli_engine(mw_engine_t **out);

int cmd_compile(int argc, char **argv);
int cmd_new(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_precompile(int argc, char **argv);
int cmd_secrets(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif

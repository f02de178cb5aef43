/*
 * secrets.c - `marie-wasm secrets`: edits an encrypted secrets file (the
 * one `marie-wasm run --secrets-file` reads) through the public API:
 * set, unset and list. Values never appear on stdout or stderr; `list`
 * prints names only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

/* The library's limit on one value; stdin is read up to one byte more. */
#define MAX_VALUE_BYTES (1u << 20)

static const char help[] =
    "usage: marie-wasm secrets <set|unset|list> [options]\n"
    "\n"
    "Manages an encrypted secrets file (AES-256-GCM) for\n"
    "`marie-wasm run --secrets-file`. The 32-byte key comes from the\n"
    "environment variable MW_SECRETS_KEY or from --key-file PATH, as 64 hex\n"
    "digits or base64; make one with `openssl rand -hex 32`.\n"
    "\n"
    "commands:\n"
    "  set NAME --file F [--value V]   add or replace a secret (value from\n"
    "                                  stdin unless --value)\n"
    "  unset NAME --file F             remove a secret\n"
    "  list --file F                   print the names, one per line\n"
    "\n"
    "exit status: 0 done, 64 bad usage, missing or wrong key, bad file,\n"
    "70 other failure (I/O).\n"
    "\n"
    "example:\n"
    "  export MW_SECRETS_KEY=$(openssl rand -hex 32)\n"
    "  printf %s \"$API_TOKEN\" | marie-wasm secrets set API_KEY --file secrets.enc\n"
    "  marie-wasm secrets list --file secrets.enc\n";

static const char help_set[] =
    "usage: marie-wasm secrets set NAME --file FILE [--value VALUE]\n"
    "                              [--key-file PATH]\n"
    "\n"
    "Adds or replaces secret NAME in FILE (created, mode 0600, if missing;\n"
    "written atomically). Without --value the value is read from stdin and\n"
    "one trailing newline is removed; from a terminal, without echo.\n"
    "--value works but leaves the secret in shell history and in the process\n"
    "list.\n"
    "\n"
    "options:\n"
    "  --file FILE        the encrypted secrets file\n"
    "  --value VALUE      the value (prefer stdin)\n"
    "  --key-file PATH    read the key from PATH instead of MW_SECRETS_KEY\n"
    "\n"
    "examples:\n"
    "  export MW_SECRETS_KEY=$(openssl rand -hex 32)\n"
    "  marie-wasm secrets set API_KEY --file secrets.enc < token.txt\n"
    "  marie-wasm secrets set DB_PASS --file secrets.enc --key-file key.txt\n";

static const char help_unset[] =
    "usage: marie-wasm secrets unset NAME --file FILE [--key-file PATH]\n"
    "\n"
    "Removes secret NAME from FILE (an error if it is not there).\n"
    "\n"
    "options:\n"
    "  --file FILE        the encrypted secrets file\n"
    "  --key-file PATH    read the key from PATH instead of MW_SECRETS_KEY\n"
    "\n"
    "example:\n"
    "  marie-wasm secrets unset API_KEY --file secrets.enc\n";

static const char help_list[] =
    "usage: marie-wasm secrets list --file FILE [--key-file PATH]\n"
    "\n"
    "Prints the names of the secrets in FILE, one per line, sorted. Values\n"
    "are never printed.\n"
    "\n"
    "options:\n"
    "  --file FILE        the encrypted secrets file\n"
    "  --key-file PATH    read the key from PATH instead of MW_SECRETS_KEY\n"
    "\n"
    "example:\n"
    "  MW_SECRETS_KEY=... marie-wasm secrets list --file secrets.enc\n";

typedef struct args {
  const char *name;
  const char *file;
  const char *value;
  const char *key_file;
} args_t;

/* Parses `<sub> [NAME] options`; prints help or a usage error itself.
 * Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, const char *usage, bool has_name,
                      bool has_value, args_t *a) {
  static const struct option opts[] = {{"file", required_argument, 0, 'f'},
                                       {"value", required_argument, 0, 'v'},
                                       {"key-file", required_argument, 0, 'k'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  memset(a, 0, sizeof *a);
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (o) {
      case 'f': a->file = optarg; break;
      case 'k': a->key_file = optarg; break;
      case 'v':
        if (has_value) {
          a->value = optarg;
          break;
        }
        fprintf(stderr, "marie-wasm secrets: --value is only for `set`\n\n");
        fputs(usage, stderr);
        return MW_EXIT_USAGE;
      case 'h': fputs(usage, stdout); return MW_EXIT_OK;
      default: fputs(usage, stderr); return MW_EXIT_USAGE;
    }
  }
  int want = has_name ? 1 : 0;
  if (argc - optind != want) {
    fprintf(stderr, "marie-wasm secrets %s: %s\n\n%s", argv[0],
            has_name ? "expected exactly one NAME" : "unexpected argument",
            usage);
    return MW_EXIT_USAGE;
  }
  if (has_name) a->name = argv[optind];
  if (!a->file) {
    fprintf(stderr, "marie-wasm secrets %s: --file FILE is required\n\n%s",
            argv[0], usage);
    return MW_EXIT_USAGE;
  }
  return -1;
}

/* The key from --key-file, else MW_SECRETS_KEY. Returns -1, or 64 after a
 * message that names where a key should come from. */
static int get_key(const args_t *a, uint8_t key[32]) {
  mw_error_t *err;
  if (a->key_file) {
    err = mw_secrets_key_from_file(a->key_file, key);
  } else if (!getenv("MW_SECRETS_KEY") || !*getenv("MW_SECRETS_KEY")) {
    fprintf(stderr,
            "marie-wasm secrets: no key: set MW_SECRETS_KEY or pass "
            "--key-file PATH (64 hex digits or base64 of 32 bytes; make "
            "one with `openssl rand -hex 32`)\n");
    return MW_EXIT_USAGE;
  } else {
    err = mw_secrets_key_from_env("MW_SECRETS_KEY", key);
  }
  if (!err) return -1;
  /* Any key problem, an unreadable key file included, is bad input. */
  cli_fail(err, "secrets");
  return MW_EXIT_USAGE;
}

/* Reads the value from stdin: all of it from a pipe or file, one line
 * (without echo) from a terminal; one trailing newline is dropped. The
 * buffer is allocated once at its maximum so no realloc leaves copies. */
static char *read_value(const char *name) {
  size_t cap = MAX_VALUE_BYTES + 2, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fprintf(stderr, "marie-wasm secrets: out of memory\n");
    return NULL;
  }
  bool tty = isatty(STDIN_FILENO);
  struct termios saved, quiet;
  bool echo_off = false;
  if (tty) {
    fprintf(stderr, "value for %s (input hidden): ", name);
    if (tcgetattr(STDIN_FILENO, &saved) == 0) {
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t)ECHO; /* keep the secret off the screen */
      echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  /* read(2), not stdio: stdio would keep a copy in its own buffer. */
  bool failed = false;
  while (len < cap - 1) {
    ssize_t r = read(STDIN_FILENO, buf + len, cap - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) failed = true;
    if (r <= 0) break;
    len += (size_t)r;
    if (tty && buf[len - 1] == '\n') break; /* one line from a terminal */
  }
  if (echo_off) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  if (tty) fputc('\n', stderr);
  if (failed) {
    fprintf(stderr, "marie-wasm secrets: cannot read the value from stdin\n");
    goto fail;
  }
  if (len > 0 && buf[len - 1] == '\n') len--;
  if (len > MAX_VALUE_BYTES) {
    fprintf(stderr, "marie-wasm secrets: the value is larger than %u bytes\n",
            MAX_VALUE_BYTES);
    goto fail;
  }
  if (memchr(buf, '\0', len)) {
    fprintf(stderr, "marie-wasm secrets: the value contains a NUL byte\n");
    goto fail;
  }
  buf[len] = '\0';
  return buf;
fail:
  explicit_bzero(buf, cap);
  free(buf);
  return NULL;
}

static int cmd_set(int argc, char **argv) {
  args_t a;
  int rc = parse_args(argc, argv, help_set, true, true, &a);
  if (rc >= 0) return rc;
  uint8_t key[32];
  if ((rc = get_key(&a, key)) >= 0) return rc;
  char *input = NULL;
  const char *value = a.value;
  if (value) {
    fprintf(stderr, "marie-wasm secrets: warning: --value leaves the secret "
                    "in shell history and the process list; prefer stdin\n");
  } else if (!(input = read_value(a.name))) {
    rc = MW_EXIT_USAGE;
    goto out;
  } else {
    value = input;
  }
  mw_error_t *err = mw_secrets_file_set(a.file, key, a.name, value);
  rc = err ? cli_fail(err, "secrets set") : MW_EXIT_OK;
out:
  if (input) explicit_bzero(input, strlen(input)); /* the secret */
  free(input);
  explicit_bzero(key, sizeof key);
  return rc;
}

static int cmd_unset(int argc, char **argv) {
  args_t a;
  int rc = parse_args(argc, argv, help_unset, true, false, &a);
  if (rc >= 0) return rc;
  uint8_t key[32];
  if ((rc = get_key(&a, key)) >= 0) return rc;
  mw_error_t *err = mw_secrets_file_set(a.file, key, a.name, NULL);
  explicit_bzero(key, sizeof key);
  return err ? cli_fail(err, "secrets unset") : MW_EXIT_OK;
}

static int cmd_list(int argc, char **argv) {
  args_t a;
  int rc = parse_args(argc, argv, help_list, false, false, &a);
  if (rc >= 0) return rc;
  uint8_t key[32];
  if ((rc = get_key(&a, key)) >= 0) return rc;
  char **names = NULL;
  size_t n = 0;
  mw_error_t *err = mw_secrets_file_list(a.file, key, &names, &n);
  explicit_bzero(key, sizeof key);
  if (err) return cli_fail(err, "secrets list");
  for (size_t i = 0; i < n; i++) printf("%s\n", names[i]);
  mw_strings_free(names, n);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "marie-wasm secrets list: cannot write to stdout\n");
    return MW_EXIT_FAILURE;
  }
  return MW_EXIT_OK;
}

int cmd_secrets(int argc, char **argv) {
  if (argc < 2) {
    fputs(help, stderr);
    return MW_EXIT_USAGE;
  }
  const char *sub = argv[1];
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
    fputs(help, stdout);
    return MW_EXIT_OK;
  }
  if (!strcmp(sub, "set")) return cmd_set(argc - 1, argv + 1);
  if (!strcmp(sub, "unset")) return cmd_unset(argc - 1, argv + 1);
  if (!strcmp(sub, "list")) return cmd_list(argc - 1, argv + 1);
  fprintf(stderr, "marie-wasm secrets: unknown command '%s'\n\n%s", sub, help);
  return MW_EXIT_USAGE;
}

/*
 * sandbox.h - running untrusted build steps (compilers that import or build
 * user code) in isolation.
 *
 * A sandbox backend is a vtable so that backends can swap; the default is
 * bubblewrap: new user, pid, ipc, uts, cgroup and network namespaces (no
 * network at all), the toolchains bound read-only, a private work dir as
 * the only writable place besides a tmpfs /tmp, no host home or secrets,
 * an unprivileged uid, rlimits, a seccomp filter, a wall-clock timeout and
 * capped output.
 */
#ifndef MW_COMPILER_SANDBOX_H
#define MW_COMPILER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marie_wasm/error.h"

typedef struct mw_sandbox_spec {
  const char *const *argv;     /* program and arguments, run inside */
  const char *const *env;      /* "NAME=value" entries; nothing else is set */
  const char *workdir;         /* host dir mounted read-write at /build */
  const char *const *ro_binds; /* host paths mounted read-only, same path;
                                  each must be readable by the sandbox uid */
  uint32_t timeout_ms;         /* wall clock; the whole tree is killed */
  uint32_t cpu_seconds;        /* RLIMIT_CPU */
  uint64_t max_memory_bytes;   /* RLIMIT_DATA (JIT runtimes reserve big
                                  address space, so not RLIMIT_AS) */
  uint32_t max_processes;      /* RLIMIT_NPROC of the sandbox uid */
  uint64_t max_file_bytes;     /* RLIMIT_FSIZE */
  uint32_t max_open_files;     /* RLIMIT_NOFILE */
  size_t max_output_bytes;     /* stdout and stderr each; the rest dropped */
} mw_sandbox_spec_t;

/* Exit status of a sandbox that could not be set up (a read-only path the
 * sandbox uid cannot read, privileges that cannot be dropped); stderr
 * says why. */
#define MW_SANDBOX_EXIT_SETUP 125

typedef struct mw_sandbox_result {
  int exit_code;   /* -1 when killed by a signal */
  int signal;      /* the signal that killed it, or 0 */
  bool timed_out;  /* killed at timeout_ms */
  bool output_truncated;
  char *out, *err; /* captured stdout/stderr, NUL-terminated; malloc'd */
  size_t out_len, err_len;
  uint64_t wall_ms;
} mw_sandbox_result_t;

typedef struct mw_sandbox_vtable {
  const char *name;
  /* Runs spec; fills *res (freed with mw__sandbox_result_free). An error
   * means the sandbox itself could not run (the program's own failure is
   * in *res). */
  mw_error_t *(*run)(const mw_sandbox_spec_t *spec, mw_sandbox_result_t *res);
} mw_sandbox_vtable_t;

/* The bubblewrap backend. */
extern const mw_sandbox_vtable_t mw__sandbox_bwrap;

/* Sensible limits for a compile step: 120 s, 2 GiB data, 256 processes,
 * 512 MiB files, 1024 open files, 1 MiB of output each. */
void mw__sandbox_spec_defaults(mw_sandbox_spec_t *spec);

void mw__sandbox_result_free(mw_sandbox_result_t *res);

#endif

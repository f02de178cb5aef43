/*
 * language.c - the guest languages: names, spellings and what the driver
 * needs to know of each (its wrapper dir, toolchain dir, source extension).
 */
#include <stdio.h>
#include <strings.h>

#include "compiler/compiler_int.h"
#include "util/error_int.h"

static const mw__language_info_t languages[] = {
    {MW_LANG_PYTHON, "python", "python", "python", "MW_PYTHON_TOOLCHAIN", ".py"},
    {MW_LANG_JAVASCRIPT, "javascript", "javascript", "javascript", "MW_JS_TOOLCHAIN",
     ".js"},
    {MW_LANG_TYPESCRIPT, "typescript", "javascript", "javascript", "MW_JS_TOOLCHAIN",
     ".ts"},
    {MW_LANG_RUST, "rust", "rust", "rust", "MW_RUST_TOOLCHAIN", ".rs"},
    {MW_LANG_C, "c", "c", "c", "MW_C_TOOLCHAIN", ".c"},
};

const mw__language_info_t *mw__language_info(mw_language_t lang) {
  for (size_t i = 0; i < sizeof languages / sizeof languages[0]; i++)
    if (languages[i].lang == lang) return &languages[i];
  return NULL;
}

const char *mw_language_name(mw_language_t lang) {
  const mw__language_info_t *li = mw__language_info(lang);
  return li ? li->name : NULL;
}

mw_error_t *mw_language_parse(const char *name, mw_language_t *out) {
  static const struct {
    const char *spelling;
    mw_language_t lang;
  } aliases[] = {
      {"python", MW_LANG_PYTHON},         {"py", MW_LANG_PYTHON},
      {".py", MW_LANG_PYTHON},            {"javascript", MW_LANG_JAVASCRIPT},
      {"js", MW_LANG_JAVASCRIPT},         {".js", MW_LANG_JAVASCRIPT},
      {".mjs", MW_LANG_JAVASCRIPT},       {"typescript", MW_LANG_TYPESCRIPT},
      {"ts", MW_LANG_TYPESCRIPT},         {".ts", MW_LANG_TYPESCRIPT},
      {"rust", MW_LANG_RUST},             {"rs", MW_LANG_RUST},
      {".rs", MW_LANG_RUST},              {"c", MW_LANG_C},
      {".c", MW_LANG_C},
  };
  if (!name || !out) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (!strcasecmp(name, aliases[i].spelling)) {
      *out = aliases[i].lang;
      return NULL;
    }
  return mw_error_new(MW_ERR_INPUT,
                      "unknown language '%s' (python, javascript, typescript, "
                      "rust or c)",
                      name);
}

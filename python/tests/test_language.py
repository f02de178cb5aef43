"""Language: original enum values; parsing is the library's."""

from __future__ import annotations

import pytest

from marie_wasm import InputError, Language


def test_enum_values_are_the_original_api() -> None:
    assert Language.RUST.value == "rust"
    assert Language.PYTHON.value == "python"
    assert Language.JAVASCRIPT.value == "js"
    assert Language("js") is Language.JAVASCRIPT
    assert {Language.TYPESCRIPT, Language.C} <= set(Language)


@pytest.mark.parametrize(
    ("name", "lang"),
    [
        ("javascript", Language.JAVASCRIPT),
        ("js", Language.JAVASCRIPT),
        ("typescript", Language.TYPESCRIPT),
        ("ts", Language.TYPESCRIPT),
        ("py", Language.PYTHON),
        ("python", Language.PYTHON),
        ("rs", Language.RUST),
        ("rust", Language.RUST),
        ("c", Language.C),
        ("Python", Language.PYTHON),
        (".ts", Language.TYPESCRIPT),
    ],
)
def test_from_string_accepts_names_and_short_forms(name: str, lang: Language) -> None:
    assert Language.from_string(name) is lang


def test_every_member_parses_from_its_own_value() -> None:
    for lang in Language:
        assert Language.from_string(lang.value) is lang
        assert Language.from_string(lang) is lang


def test_unknown_language_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="python"):
        Language.from_string("cobol")


def test_full_name_is_the_library_name() -> None:
    assert Language.JAVASCRIPT.full_name == "javascript"
    assert Language.TYPESCRIPT.full_name == "typescript"

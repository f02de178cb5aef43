"""Permissions: the original API's shape, deny by default, checked by C."""

from __future__ import annotations

import pytest

from marie_wasm import InputError, Permissions


def test_defaults_are_the_original_api_and_grant_nothing() -> None:
    p = Permissions()
    assert (p.allow_http, p.http_allowed_hosts, p.allow_secrets, p.secret_allowed_names) == (
        False,
        [],
        False,
        [],
    )
    assert (p.allow_kv, p.kv_prefix, p.max_memory_mb, p.max_fuel, p.timeout_ms) == (
        False,
        "",
        64,
        1_000_000_000,
        30_000,
    )
    lib_view = p.resolved()
    assert lib_view["allow_http"] is False
    assert lib_view["allow_secrets"] is False
    assert lib_view["allow_kv"] is False
    assert lib_view["http_allowed_hosts"] == []


def test_seed_readme_example_is_accepted_by_the_library() -> None:
    perms = Permissions(
        allow_http=True,
        http_allowed_hosts=["api.example.com"],
        allow_secrets=True,
        secret_allowed_names=["API_KEY"],
        allow_kv=True,
        kv_prefix="user-123:",
        max_memory_mb=64,
        max_fuel=1_000_000_000,
        timeout_ms=30_000,
    )
    doc = perms.resolved()
    assert doc["http_allowed_hosts"] == ["api.example.com"]
    assert doc["secret_allowed_names"] == ["API_KEY"]
    assert doc["kv_prefix"] == "user-123:"
    assert doc["timeout_ms"] == 30_000


def test_each_instance_has_its_own_lists() -> None:
    a, b = Permissions(), Permissions()
    a.http_allowed_hosts.append("x.example.com")
    assert b.http_allowed_hosts == []


def test_extension_caps_left_none_keep_library_defaults() -> None:
    assert "max_events" not in Permissions().to_dict()
    assert Permissions(max_events=5).resolved()["max_events"] == 5
    assert Permissions().resolved()["max_events"] > 0


def test_unknown_field_is_refused_with_its_name() -> None:
    with pytest.raises(InputError, match="unknown field 'alow_http'") as e:
        Permissions.from_dict({"alow_http": True})
    assert e.value.status_name == "MW_ERR_INPUT"


def test_from_dict_builds_the_dataclass() -> None:
    p = Permissions.from_dict({"allow_kv": True, "kv_prefix": "n1:", "max_events": 3})
    assert p == Permissions(allow_kv=True, kv_prefix="n1:", max_events=3)


@pytest.mark.parametrize(
    ("perms", "message"),
    [
        (Permissions(max_memory_mb=0), "max_memory_mb"),
        (Permissions(timeout_ms=-1), "timeout_ms"),
        (Permissions(allow_http="yes"), "allow_http"),  # type: ignore[arg-type]
        (Permissions(http_allowed_hosts=[1]), r"http_allowed_hosts\[0\]"),  # type: ignore[list-item]
    ],
)
def test_bad_values_fail_with_the_field_named(perms: Permissions, message: str) -> None:
    with pytest.raises(InputError, match=message):
        perms.resolved()

"""Gateway settings come from riverbed.toml and RIVERBED_* variables, typed and checked."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from riverbed.runtime.settings import load_settings

TOML = """
[gateway]
max_body_bytes = 2048

[[gateway.api_keys]]
key = "0123456789abcdef-acme"
tenant = "acme"

[[gateway.upstreams]]
name = "deposits"
url = "http://127.0.0.1:9001"
deadline_seconds = 2.5

[gateway.jwt]
hs256_secret = "a-secret-from-the-file-32-bytes!!"
issuer = "https://issuer.test"
"""


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "riverbed.toml"
    path.write_text(TOML)
    monkeypatch.setenv("RIVERBED_GATEWAY__MAX_JSON_DEPTH", "8")
    monkeypatch.setenv("RIVERBED_GATEWAY__RATE_LIMIT__BURST", "5")
    gateway = load_settings(path).gateway
    assert gateway.max_body_bytes == 2048
    assert gateway.max_json_depth == 8
    assert gateway.rate_limit.burst == 5
    assert gateway.api_keys[0].tenant == "acme"
    assert gateway.upstreams[0].deadline_seconds == 2.5
    assert gateway.jwt.issuer == "https://issuer.test"
    assert "a-secret" not in repr(gateway)  # secrets never show
    monkeypatch.setenv("RIVERBED_GATEWAY__MAX_BODY_BYTES", "4096")
    assert load_settings(path).gateway.max_body_bytes == 4096  # the environment wins over the file


def test_defaults_without_a_file(tmp_path: Path) -> None:
    gateway = load_settings(tmp_path / "absent.toml").gateway
    assert gateway.max_body_bytes == 1_048_576
    assert gateway.max_json_depth == 32
    assert gateway.api_keys == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[gateway]\nmax_body_byte = 1\n", "max_body_byte"),
        ('[[gateway.api_keys]]\nkey = "0123456789abcdef"\ntenant = "Acme Corp"\n', "not a valid tenant id"),
        ('[[gateway.api_keys]]\nkey = "short"\ntenant = "acme"\n', "at least 16"),
        (
            '[[gateway.upstreams]]\nname = "a"\nurl = "http://x"\n[[gateway.upstreams]]\nname = "a"\nurl = "http://y"\n',
            "unique",
        ),
    ],
)
def test_bad_settings_say_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "riverbed.toml"
    path.write_text(text)
    with pytest.raises(pydantic.ValidationError, match=words):
        load_settings(path)

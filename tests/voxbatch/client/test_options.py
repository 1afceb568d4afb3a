"""Client configuration: key and base URL from arguments or the environment."""

from __future__ import annotations

import pytest

from voxbatch.client.errors import ConfigurationError
from voxbatch.client.options import NO_KEY, ClientOptions, is_local_url, normalize_base_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.together.xyz", "https://api.together.xyz/v1"),
        ("https://api.together.xyz/", "https://api.together.xyz/v1"),
        ("https://api.together.xyz/v1", "https://api.together.xyz/v1"),
        ("https://api.together.xyz/v1/", "https://api.together.xyz/v1"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/v1"),
    ],
)
def test_base_url_with_or_without_v1(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_bad_base_url() -> None:
    with pytest.raises(ConfigurationError, match="http"):
        normalize_base_url("api.together.xyz")


def test_key_and_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", "env-key")
    monkeypatch.setenv("TOGETHER_BASE_URL", "http://127.0.0.1:9")
    options = ClientOptions.from_env()
    assert options.api_key == "env-key" and options.base_url == "http://127.0.0.1:9/v1"
    assert options.origin == "http://127.0.0.1:9" and options.ws_base_url == "ws://127.0.0.1:9/v1"


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", "env-key")
    options = ClientOptions.from_env(api_key="arg-key", base_url="https://example.test/v1")
    assert options.api_key == "arg-key" and options.base_url == "https://example.test/v1"


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ClientOptions.from_env(api_key="k").base_url == "https://api.together.xyz/v1"


def test_missing_key_names_the_argument_and_the_variable() -> None:
    with pytest.raises(ConfigurationError) as info:
        ClientOptions.from_env()
    assert "api_key" in str(info.value) and "TOGETHER_API_KEY" in str(info.value)


def test_the_key_is_not_in_the_repr() -> None:
    assert "SECRET" not in repr(ClientOptions(api_key="sk-SECRET"))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765", "http://localhost:8000/v1", "http://[::1]:9", "http://127.0.0.2", "http://api.localhost"],
)
def test_a_server_on_this_machine_needs_no_key(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHER_BASE_URL", url)
    options = ClientOptions.from_env()
    assert options.api_key == NO_KEY and is_local_url(url)
    assert ClientOptions.from_env(base_url=url, api_key="given").api_key == "given"  # a key given is still sent


@pytest.mark.parametrize(
    "url", ["https://api.together.xyz", "https://example.test/v1", "http://10.0.0.5:8000", "http://0.0.0.0:8000"]
)
def test_a_remote_server_still_needs_a_key(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHER_BASE_URL", url)
    assert not is_local_url(url)
    with pytest.raises(ConfigurationError, match="TOGETHER_API_KEY"):
        ClientOptions.from_env()
    monkeypatch.setenv("TOGETHER_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(ConfigurationError, match="TOGETHER_API_KEY"):
        ClientOptions.from_env(base_url=url)  # the argument wins over the local server in the environment

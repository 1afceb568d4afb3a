"""Default prices follow the API spec; costs are None when unknown; TOML overrides are applied and validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.pricing import DEFAULT_PRICES, PRICES_FILE_ENV, Price, default_price_table, load_price_table
from voxbatch.server.catalog import STT_MODELS, TTS_MODELS

REPO_ROOT = Path(__file__).resolve().parents[2]

ORPHEUS = "canopylabs/orpheus-3b-0.1-ft"
KOKORO = "hexgrad/Kokoro-82M"
SONIC_2 = "cartesia/sonic-2"
WHISPER = "openai/whisper-large-v3"

UNKNOWN_PRICE_MODELS = [
    "cartesia/sonic-3",
    "cartesia/sonic",
    "cartesia/sonic-english",
    "deepgram/deepgram-aura-2",
    "rime-labs/rime-arcana-v3-turbo",
    "rime-labs/rime-arcana-v3",
    "rime-labs/rime-arcana-v2",
    "rime-labs/rime-mist-v3",
    "rime-labs/rime-mist-v2",
    "minimax/speech-2.8-turbo",
    "minimax/speech-2.6-turbo",
    "nvidia/parakeet-tdt-0.6b-v3",
    "nvidia/nemotron-3-asr-streaming-0.6b",
    "nvidia/nemotron-3.5-asr-streaming-0.6b",
    "mistralai/Voxtral-Mini-3B-2507",
    "deepgram/nova-3-en",
    "deepgram/nova-3-multi",
    "deepgram/flux",
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("model", "usd"), [(ORPHEUS, 15.0), (KOKORO, 4.0), (SONIC_2, 65.0)])
def test_confirmed_tts_prices(model: str, usd: float) -> None:
    table = default_price_table()
    price = table.price(model)
    assert price == Price(model, usd, None, confirmed=True, source=price.source if price else "")
    assert table.cost_usd(model, input_chars=1_000_000) == pytest.approx(usd)
    assert table.cost_usd(model, input_chars=2500) == pytest.approx(2500 * usd / 1e6)
    assert table.cost_usd(model, input_chars=0) == 0.0


def test_tts_audio_seconds_are_not_billed() -> None:
    table = default_price_table()
    assert table.cost_usd(KOKORO, input_chars=1000, audio_seconds=65.0) == pytest.approx(0.004)


def test_whisper_price_is_per_minute_and_unconfirmed() -> None:
    table = default_price_table()
    price = table.price(WHISPER)
    assert price is not None
    assert price.usd_per_audio_minute == 0.0015
    assert price.usd_per_million_chars is None
    assert price.confirmed is False
    assert "third-party" in price.source
    assert table.cost_usd(WHISPER, audio_seconds=60.0) == pytest.approx(0.0015)
    assert table.cost_usd(WHISPER, audio_seconds=90.0) == pytest.approx(0.00225)


@pytest.mark.parametrize("model", UNKNOWN_PRICE_MODELS)
def test_unconfirmed_and_dedicated_models_have_unknown_prices(model: str) -> None:
    table = default_price_table()
    price = table.price(model)
    assert price is not None
    assert price.usd_per_million_chars is None
    assert price.usd_per_audio_minute is None
    assert price.confirmed is False
    assert table.cost_usd(model, input_chars=1000, audio_seconds=60.0) is None


def test_every_catalog_model_is_in_the_defaults() -> None:
    assert set(TTS_MODELS) | set(STT_MODELS) <= set(DEFAULT_PRICES)


def test_defaults_cover_exactly_the_spec_models() -> None:
    assert set(DEFAULT_PRICES) == {ORPHEUS, KOKORO, SONIC_2, WHISPER, *UNKNOWN_PRICE_MODELS}
    assert all(key == price.model for key, price in DEFAULT_PRICES.items())


def test_unknown_model_costs_none() -> None:
    table = default_price_table()
    assert table.price("acme/tts-9000") is None
    assert table.cost_usd("acme/tts-9000", input_chars=100) is None


def test_missing_quantity_costs_none_not_zero() -> None:
    table = default_price_table()
    assert table.cost_usd(KOKORO) is None
    assert table.cost_usd(WHISPER, input_chars=100) is None


def test_negative_quantities_are_rejected() -> None:
    table = default_price_table()
    with pytest.raises(ValueError, match="input_chars"):
        table.cost_usd(KOKORO, input_chars=-1)
    with pytest.raises(ValueError, match="audio_seconds"):
        table.cost_usd(WHISPER, audio_seconds=-0.5)


def test_no_path_and_no_env_gives_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PRICES_FILE_ENV, raising=False)
    table = load_price_table()
    assert [table.price(m) for m in table.models()] == [DEFAULT_PRICES[m] for m in sorted(DEFAULT_PRICES)]


def test_overrides_are_applied(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [models."hexgrad/Kokoro-82M"]
        usd_per_million_chars = 3.5
        [models."openai/whisper-large-v3"]
        usd_per_audio_minute = 0.002
        [models."nvidia/parakeet-tdt-0.6b-v3"]
        usd_per_audio_minute = 1
        [models."acme/new-tts"]
        usd_per_million_chars = 10
        """,
    )
    table = load_price_table(path)
    assert table.price(KOKORO) == Price(KOKORO, 3.5, None, confirmed=True, source=f"override: {path}")
    assert table.cost_usd(KOKORO, input_chars=1_000_000) == pytest.approx(3.5)
    whisper = table.price(WHISPER)
    assert whisper is not None and whisper.confirmed and whisper.source == f"override: {path}"
    assert table.cost_usd(WHISPER, audio_seconds=30.0) == pytest.approx(0.001)
    assert table.cost_usd("nvidia/parakeet-tdt-0.6b-v3", audio_seconds=120.0) == pytest.approx(2.0)
    assert table.cost_usd("acme/new-tts", input_chars=100_000) == pytest.approx(1.0)
    assert table.price(ORPHEUS) == DEFAULT_PRICES[ORPHEUS]  # untouched models keep their defaults
    assert DEFAULT_PRICES[KOKORO].usd_per_million_chars == 4.0  # the defaults are not mutated


def test_both_rates_add_up(tmp_path: Path) -> None:
    path = write(tmp_path, '[models."x/y"]\nusd_per_million_chars = 2\nusd_per_audio_minute = 0.5\n')
    table = load_price_table(path)
    assert table.cost_usd("x/y", input_chars=500_000, audio_seconds=120.0) == pytest.approx(2.0)
    assert table.cost_usd("x/y", input_chars=500_000) is None  # one billed quantity unknown: cost unknown


def test_env_var_is_used_when_no_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[models."hexgrad/Kokoro-82M"]\nusd_per_million_chars = 1.25\n')
    monkeypatch.setenv(PRICES_FILE_ENV, str(path))
    table = load_price_table()
    assert table.cost_usd(KOKORO, input_chars=1_000_000) == pytest.approx(1.25)
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('[models."hexgrad/Kokoro-82M"]\nusd_per_million_chars = 2\n', encoding="utf-8")
    assert load_price_table(explicit).cost_usd(KOKORO, input_chars=1_000_000) == pytest.approx(2.0)  # path wins


def test_env_var_pointing_nowhere_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRICES_FILE_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        load_price_table()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('[models."hexgrad/Kokoro-82M"]\nusd_per_million_char = 3\n', ["hexgrad/Kokoro-82M", "usd_per_million_char"]),
        ('[models."hexgrad/Kokoro-82M"]\nusd_per_million_chars = -1\n', ["hexgrad/Kokoro-82M", ">= 0"]),
        ('[models."openai/whisper-large-v3"]\nusd_per_audio_minute = "0.002"\n', ["whisper-large-v3", "number"]),
        ('[models."openai/whisper-large-v3"]\nusd_per_audio_minute = true\n', ["whisper-large-v3", "number"]),
        ('[models."openai/whisper-large-v3"]\nusd_per_audio_minute = nan\n', ["whisper-large-v3", "finite"]),
        ('[models."a/b"]\n', ["'a/b'", "no price"]),
        ('[prices."a/b"]\nusd_per_audio_minute = 1\n', ["prices", "top-level"]),
        ("models = 3\n", ["models"]),
        ('[models]\n"a/b" = 2\n', ["'a/b'", "table"]),
        ("[models\n", ["not valid TOML"]),
    ],
)
def test_bad_override_files_are_rejected(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        load_price_table(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_field_name_appears_in_type_errors(tmp_path: Path) -> None:
    path = write(tmp_path, '[models."openai/whisper-large-v3"]\nusd_per_audio_minute = [1]\n')
    with pytest.raises(ValueError, match="'usd_per_audio_minute'"):
        load_price_table(path)


def test_example_file_loads() -> None:
    path = REPO_ROOT / "manifests" / "prices.example.toml"
    table = load_price_table(path)
    assert table.cost_usd(KOKORO, input_chars=1_000_000) == pytest.approx(3.5)
    assert table.cost_usd(WHISPER, audio_seconds=60.0) == pytest.approx(0.002)

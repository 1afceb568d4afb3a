"""Model prices and call costs: the default price table (from the API spec, section 6) and user overrides.

A price that no source states is ``None`` and every cost computed from it is ``None``: an unknown cost must
never read as free. Overrides come from a TOML file (``load_price_table``), shaped like::

    [models."hexgrad/Kokoro-82M"]
    usd_per_million_chars = 3.5
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from voxbatch.environment import PRICES_FILE_ENV as PRICES_FILE_ENV

CHARS_PER_MILLION = 1_000_000
SECONDS_PER_MINUTE = 60.0
PRICE_FIELDS = ("usd_per_million_chars", "usd_per_audio_minute")


@dataclass(frozen=True)
class Price:
    """What one model costs: per million input characters (speech) and/or per audio minute (transcription).

    ``None`` means unknown. ``confirmed`` is False for figures no first-party source states.
    """

    model: str
    usd_per_million_chars: float | None
    usd_per_audio_minute: float | None
    confirmed: bool
    source: str


_SPEC = "together-audio-api.md §6"


def _per_char(model: str, usd: float) -> Price:
    return Price(model, usd, None, confirmed=True, source=f"{_SPEC}: DOCS-TTS 'Pricing', SKILL")


def _unknown(model: str, why: str) -> Price:
    return Price(model, None, None, confirmed=False, source=f"{_SPEC}: {why}")


_UNCONFIRMED = "price UNCONFIRMED"
_DEDICATED = "dedicated endpoints only, billed hourly; no per-call price"

DEFAULT_PRICES: Mapping[str, Price] = MappingProxyType(
    {
        p.model: p
        for p in (
            # Text to speech: billed per input character.
            _per_char("canopylabs/orpheus-3b-0.1-ft", 15.0),
            _per_char("hexgrad/Kokoro-82M", 4.0),
            _per_char("cartesia/sonic-2", 65.0),
            _unknown("cartesia/sonic-3", _UNCONFIRMED),
            _unknown("cartesia/sonic", _UNCONFIRMED),
            _unknown("cartesia/sonic-english", f"{_UNCONFIRMED} (WebSocket model enum, §3)"),
            _unknown("deepgram/deepgram-aura-2", _DEDICATED),
            _unknown("rime-labs/rime-arcana-v3-turbo", _DEDICATED),
            _unknown("rime-labs/rime-arcana-v3", _DEDICATED),
            _unknown("rime-labs/rime-arcana-v2", _DEDICATED),
            _unknown("rime-labs/rime-mist-v3", _DEDICATED),
            _unknown("rime-labs/rime-mist-v2", _DEDICATED),
            _unknown("minimax/speech-2.8-turbo", _DEDICATED),
            _unknown("minimax/speech-2.6-turbo", _DEDICATED),
            # Speech to text: billed per audio minute.
            Price(
                "openai/whisper-large-v3",
                None,
                0.0015,
                confirmed=False,
                source=f"{_SPEC}: third-party comparison table citing together.ai/pricing; not first-party",
            ),
            _unknown("nvidia/parakeet-tdt-0.6b-v3", _UNCONFIRMED),
            _unknown("nvidia/nemotron-3-asr-streaming-0.6b", _UNCONFIRMED),
            _unknown("nvidia/nemotron-3.5-asr-streaming-0.6b", _UNCONFIRMED),
            _unknown("mistralai/Voxtral-Mini-3B-2507", f"{_UNCONFIRMED}; removed from the serverless catalog"),
            _unknown("deepgram/nova-3-en", _DEDICATED),
            _unknown("deepgram/nova-3-multi", _DEDICATED),
            _unknown("deepgram/flux", _DEDICATED),
        )
    }
)


class PriceTable:
    """Prices by model id, and the cost of a call from its billed quantities."""

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices: Mapping[str, Price] = MappingProxyType(dict(prices))

    def price(self, model: str) -> Price | None:
        """The model's price entry, or None for a model the table does not know."""
        return self._prices.get(model)

    def cost_usd(
        self, model: str, *, input_chars: int | None = None, audio_seconds: float | None = None
    ) -> float | None:
        """The call's cost in USD, or None when it cannot be known.

        Each rate the model has contributes (chars x per-million / 1e6, seconds / 60 x per-minute); a rate whose
        quantity was not given, an unknown model, or a model without any known rate gives None, never 0.0.
        Quantities for rates the model does not have are ignored (a speech call's ``audio_seconds``).
        """
        if input_chars is not None and input_chars < 0:
            raise ValueError(f"input_chars must be >= 0, got {input_chars}")
        if audio_seconds is not None and audio_seconds < 0:
            raise ValueError(f"audio_seconds must be >= 0, got {audio_seconds}")
        price = self._prices.get(model)
        if price is None or (price.usd_per_million_chars is None and price.usd_per_audio_minute is None):
            return None
        total = 0.0
        if price.usd_per_million_chars is not None:
            if input_chars is None:
                return None
            total += input_chars * price.usd_per_million_chars / CHARS_PER_MILLION
        if price.usd_per_audio_minute is not None:
            if audio_seconds is None:
                return None
            total += audio_seconds / SECONDS_PER_MINUTE * price.usd_per_audio_minute
        return total

    def models(self) -> list[str]:
        """Every model id in the table, sorted."""
        return sorted(self._prices)

    def __contains__(self, model: object) -> bool:
        return model in self._prices

    def __iter__(self) -> Iterator[Price]:
        return iter(self._prices.values())

    def __len__(self) -> int:
        return len(self._prices)


def default_price_table() -> PriceTable:
    """The table of :data:`DEFAULT_PRICES`, without overrides."""
    return PriceTable(DEFAULT_PRICES)


def load_price_table(path: Path | None = None) -> PriceTable:
    """The default prices with the overrides of ``path`` applied (or of ``$VOXBATCH_PRICES_FILE`` when ``path``
    is None; neither means the defaults). Overridden figures become confirmed, with source ``override: <path>``.

    Raises ValueError naming the file (and the model and field) for a file that is not valid TOML, has unknown
    keys, or holds a price that is not a finite number >= 0; FileNotFoundError for a missing file.
    """
    if path is None:
        env_value = os.environ.get(PRICES_FILE_ENV, "").strip()
        if not env_value:
            return default_price_table()
        path = Path(env_value)
    prices = dict(DEFAULT_PRICES)
    for model, figures in _read_overrides(Path(path)).items():
        base = prices.get(model) or Price(model, None, None, confirmed=False, source="")
        prices[model] = replace(
            base,
            usd_per_million_chars=figures.get("usd_per_million_chars", base.usd_per_million_chars),
            usd_per_audio_minute=figures.get("usd_per_audio_minute", base.usd_per_audio_minute),
            confirmed=True,
            source=f"override: {path}",
        )
    return PriceTable(prices)


def _read_overrides(path: Path) -> dict[str, dict[str, float]]:
    """The validated ``{model: {field: usd}}`` overrides of a price file."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"price file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"price file {path}: not valid TOML: {exc}") from exc
    unknown_top = sorted(set(data) - {"models"})
    if unknown_top:
        raise ValueError(f'price file {path}: unknown top-level key(s) {unknown_top}; expected only [models."<id>"]')
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise ValueError(f"price file {path}: 'models' must be a table of [models.\"<model id>\"] tables")
    overrides: dict[str, dict[str, float]] = {}
    for model, entry in models.items():
        where = f"price file {path}: model {model!r}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a table with {' and/or '.join(PRICE_FIELDS)}, got {entry!r}")
        if not entry:
            raise ValueError(f"{where}: no price given; set {' and/or '.join(PRICE_FIELDS)}")
        figures: dict[str, float] = {}
        for field, value in entry.items():
            if field not in PRICE_FIELDS:
                raise ValueError(f"{where}: unknown field {field!r}; allowed: {', '.join(PRICE_FIELDS)}")
            # bool is an int in Python, but `true` is no price.
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{where}: field {field!r} must be a number, got {type(value).__name__} {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{where}: field {field!r} must be a finite number >= 0, got {value!r}")
            figures[field] = float(value)
        overrides[model] = figures
    return overrides

"""How a catalog is shown by ``voxbatch voices``: a table of every model, one model's voices, or JSON."""

from __future__ import annotations

import json
from typing import Any

from voxbatch.run.catalog import Catalog, TtsEntry, choices

VOICES_SHOWN = 8  # voices per model in the table of every model (``--model`` lists them all)
MIX_EXAMPLE = "af_bella(2)+af_heart(1)"


class UnknownModel(LookupError):
    """The model asked for is not in the catalog (the message names the ones that are)."""


def _voices_cell(entry: TtsEntry) -> str:
    listed = f"{len(entry.voices)}: {choices(entry.voices, VOICES_SHOWN)}" if entry.voices else "none listed"
    return listed + (" (and any voice id)" if entry.any_voice else "")


def _check_model(catalog: Catalog, model: str) -> None:
    known = [*(catalog.tts or {}), *(catalog.stt or ())]
    if model not in known:
        raise UnknownModel(f"{model!r} is not a model {catalog.source} serves; choose one of: {choices(known)}")


def catalog_table(catalog: Catalog, model: str | None = None) -> str:
    """Every model (speech models with their rate, default voice and first voices), or ``model``'s voices."""
    if model is not None:
        _check_model(catalog, model)
        return _one_model(catalog, model)
    rows: list[tuple[str, ...]] = [("model", "kind", "rate (Hz)", "default voice", "voices")]
    for entry in (catalog.tts or {}).values():
        rate = str(entry.native_rate_hz)
        rows.append((entry.model, "tts", rate, entry.default_voice or "", _voices_cell(entry)))
    rows += [(m, "stt", "", "", "") for m in catalog.stt or ()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [f"models and voices of {catalog.source}"]
    lines += ["  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip() for r in rows]
    if catalog.tts is None:
        lines.append("(the server lists no voices: GET /v1/voices did not answer)")
    if catalog.stt is None:
        lines.append("(the server does not say which models transcribe)")
    return "\n".join(lines) + "\n"


def _one_model(catalog: Catalog, model: str) -> str:
    entry = (catalog.tts or {}).get(model)
    if entry is None:
        return f"{model}: a speech-to-text model of {catalog.source}\n"
    rates = "may be asked for " + ", ".join(str(r) for r in entry.sample_rates_hz)
    lines = [f"{model}: a text-to-speech model of {catalog.source}; speaks at {entry.native_rate_hz} Hz ({rates})"]
    if entry.any_voice:
        lines.append("takes any voice id besides those listed")
    if entry.voice_mixes:
        lines.append(f"takes mixes of its voices, e.g. {MIX_EXAMPLE}")
    lines += [f"{v}  (default)" if v == entry.default_voice else v for v in entry.voices]
    return "\n".join(lines) + "\n"


def catalog_json(catalog: Catalog, model: str | None = None) -> str:
    """The catalog (or ``model``'s part of it) as JSON."""
    data: dict[str, Any] = catalog.to_json()
    if model is not None:
        _check_model(catalog, model)
        data["tts"] = {m: e for m, e in (data["tts"] or {}).items() if m == model}
        data["stt"] = [m for m in data["stt"] or () if m == model]
    return json.dumps(data, indent=2) + "\n"

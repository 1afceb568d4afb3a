"""Which spoken languages a speech-to-text model takes, so a wrong ``language`` is a row error, not a paid 400.

Whisper's languages are the codes of its tokenizer (ISO 639-1 where one exists, plus ``haw`` and ``yue``);
Parakeet v3 knows 25 European languages. ``auto`` asks the provider to detect the language. For a model
not listed here only the shape of the code is checked (2 or 3 lowercase letters).
"""

from __future__ import annotations

import re

AUTO = "auto"
WHISPER_LANGUAGES = frozenset(
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la "
    "mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be "
    "tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su yue".split()
)
PARAKEET_V3_LANGUAGES = frozenset("bg hr cs da nl en et fi fr de el hu it lv lt mt pl pt ro sk sl es sv ru uk".split())
MODEL_LANGUAGES: dict[str, frozenset[str]] = {
    "openai/whisper-large-v3": WHISPER_LANGUAGES,
    "nvidia/parakeet-tdt-0.6b-v3": PARAKEET_V3_LANGUAGES,
}
_COMMON = ("en", "de", "fr", "es", "it", "pt", "ja")
_CODE = re.compile(r"^[a-z]{2,3}$")
_REGION = re.compile(r"^([a-z]{2,3})[-_][a-z0-9]{2,8}$")


def normalize_language(value: str) -> str:
    """The code as providers expect it: lowercase, without spaces."""
    return value.strip().lower()


def language_problem(model: str, value: str) -> str | None:
    """Why ``value`` (normalized) is not a language ``model`` transcribes, or None when it is."""
    if value == AUTO:
        return None
    known = MODEL_LANGUAGES.get(model)
    region = _REGION.match(value)
    if region is not None:
        return f"{value!r} names a region too; give the language code alone ({region.group(1)!r})"
    if known is None:
        return None if _CODE.match(value) else f"must be a language code such as en, de or fr, or auto; got {value!r}"
    if value not in known:
        sample = ", ".join(c for c in _COMMON if c in known)
        return (
            f"{value!r} is not a language {model} knows; give an ISO 639-1 code it knows "
            f"({len(known)} of them, e.g. {sample}) or auto"
        )
    return None

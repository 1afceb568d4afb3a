"""Where a manifest may point: inside its own folder, or inside a folder the user allowed with ``--allow-path``.

A manifest is data, often written by someone else; it must not make voxbatch read (and send to a paid API,
and write into outputs) files the user never meant to share, such as ``/etc/passwd`` or ``../../secret.txt``.
Every local path in a manifest (``text_path``, ``cover_path``, ``audio_path``) and every file of an input
folder is resolved (symlinks followed, ``..`` removed) and must land inside the manifest's folder (the input
folder) or inside one of the explicitly allowed folders. Otherwise it is refused before anything reads it;
the reason never says whether the file exists. http(s) URLs are not paths and are not affected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ALLOW_OPTION = "--allow-path"


class PathRefused(ValueError):
    """The path may not be used; the message says why (one line)."""


@dataclass(frozen=True)
class PathPolicy:
    """The folder a manifest's paths are relative to, and the folders they may resolve into."""

    base: Path
    allowed: tuple[Path, ...] = ()
    label: str = "the manifest's folder"

    @classmethod
    def for_folder(
        cls, base: Path, allowed: Iterable[str | Path] = (), label: str = "the manifest's folder"
    ) -> PathPolicy:
        """Paths relative to ``base``, allowed inside it and inside each of ``allowed`` (all resolved)."""
        return cls(base.resolve(), tuple(Path(a).expanduser().resolve() for a in allowed), label)

    def resolve(self, value: str) -> Path:
        """The real path ``value`` (relative to the base, or absolute) names; raises :class:`PathRefused`."""
        if "\x00" in value:
            raise PathRefused("contains a NUL character")
        try:
            path = (self.base / value).resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a name too long
            raise PathRefused(f"cannot be resolved: {exc}") from exc
        self.check(path, shown=value)
        return path

    def check(self, path: Path, *, shown: str | None = None) -> None:
        """Raise :class:`PathRefused` unless the resolved ``path`` is inside the base or an allowed folder."""
        if path.is_relative_to(self.base) or any(path.is_relative_to(a) for a in self.allowed):
            return
        seen = shown if shown is not None else str(path)
        via = f" (it resolves to {path})" if shown is not None and Path(shown) != path else ""
        raise PathRefused(f"{seen}{via} is outside {self.label} {self.base}; pass {ALLOW_OPTION} DIR to allow it")

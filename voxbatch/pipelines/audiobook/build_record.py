"""Where a book's build record lives: the one file every finished book has, named from its id alone.

Its absence is the cheap answer "this book has work", which the command can give before it reads any manuscript or
starts anything (:mod:`flows.in_process`). Its presence is not "finished":
:func:`~voxbatch.pipelines.audiobook.assemble.already_built` compares the build key inside with the book's inputs.
Kept free of audio imports so that asking costs nothing.
"""

from __future__ import annotations

from pathlib import Path

BUILD_RECORD_SUFFIX = ".build.json"


def build_record_path(out_dir: Path, item_id: str) -> Path:
    """``<out>/<id>.build.json``: :class:`~voxbatch.pipelines.audiobook.assemble.BookOutputs`'s ``build`` is this."""
    return out_dir / f"{item_id}{BUILD_RECORD_SUFFIX}"

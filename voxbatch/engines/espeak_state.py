"""Making espeak-ng deterministic: resetting the synthesis state it carries from one call to the next.

espeak-ng keeps a pitch-flutter phase, an automatic gain, glottal/noise filter memories and two random
generators across calls, so the same input can sound slightly different depending on what was spoken
before. :class:`SynthStateReset` puts that state back to its post-initialisation values before every
call, found through the library's ELF symbol table.
"""

from __future__ import annotations

import ctypes
import logging
import re
import struct
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

NOISE_SEED = 1  # fixed seed for espeak's noise generators, so results are reproducible

# Function-local statics (compiled as "name.NNNN") that carry synthesis state across calls. All are
# plain numbers: wavegen.c's flutter phase, cycle counter and gain; klatt.c's source/noise memories.
_STATE_STATICS = (
    "Flutter_ix",
    "cycle_count",
    "agc",
    "skew",
    "vwave",
    "nlast",
    "time_count",
    "glotlast",
    "vlast",
    "voice",
    "noise",
)
_STATIC_LOCAL = re.compile(r"^(?P<base>[A-Za-z_]\w*)\.\d+$")
_STT_OBJECT = 1
_STT_FUNC = 2
_SHT_SYMTAB = 2


def _elf_symbols(path: Path) -> dict[str, tuple[int, int, int]]:
    """name -> (value, size, type) from the .symtab of a 64-bit little-endian ELF; {} if there is none."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:  # ELFCLASS64, ELFDATA2LSB
        return {}
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    # Elf64_Shdr: name, type, flags, addr, offset, size, link, info, addralign, entsize
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    symbols: dict[str, tuple[int, int, int]] = {}
    for section in sections:
        if section[1] != _SHT_SYMTAB:
            continue
        strtab_offset = sections[section[6]][4]
        for offset in range(section[4], section[4] + section[5], 24):
            # Elf64_Sym: name, info, other, shndx, value, size
            name_offset, info, _, _, value, size = struct.unpack_from("<IBBHQQ", data, offset)
            end = data.index(b"\0", strtab_offset + name_offset)
            name = data[strtab_offset + name_offset : end].decode("ascii", "replace")
            if name and value:
                symbols[name] = (value, size, info & 0xF)
    return symbols


class SynthStateReset:
    """Puts espeak-ng's cross-call synthesis state back to how it was right after initialisation.

    None of this state is reachable through the API, so it is located through the library's (unstripped)
    symbol table: a snapshot of the statics listed in ``_STATE_STATICS`` taken after espeak_Initialize is
    copied back before every synthesis, the library's own InitBreath()/KlattReset(2) clear the breath and
    Klatt filter memories, and both random generators (espeak's own and libc's) are reseeded.
    """

    def __init__(self, lib: ctypes.CDLL, library_path: Path) -> None:
        self._lib = lib
        self._libc = ctypes.CDLL(None)
        self._snapshots: list[tuple[int, bytes]] = []
        self._functions: list[Any] = []
        symbols = _elf_symbols(library_path)
        anchor = symbols.get("espeak_Synth")
        synth_address = ctypes.cast(lib.espeak_Synth, ctypes.c_void_p).value
        if anchor is None or synth_address is None:
            logger.warning("libespeak-ng has no symbol table: synthesis will not be exactly reproducible")
            return
        load_base = synth_address - anchor[0]
        for name, (value, size, kind) in symbols.items():
            match = _STATIC_LOCAL.match(name)
            # Scalars only (<= 8 bytes): never risk restoring a stale pointer or a config struct.
            if kind == _STT_OBJECT and 0 < size <= 8 and match and match["base"] in _STATE_STATICS:
                self._snapshots.append((load_base + value, ctypes.string_at(load_base + value, size)))
        init_breath = symbols.get("InitBreath")
        klatt_reset = symbols.get("KlattReset")
        if init_breath and init_breath[2] == _STT_FUNC:
            self._functions.append(ctypes.CFUNCTYPE(None)(load_base + init_breath[0]))
        if klatt_reset and klatt_reset[2] == _STT_FUNC:
            klatt_reset_fn = ctypes.CFUNCTYPE(None, ctypes.c_int)(load_base + klatt_reset[0])
            self._functions.append(lambda: klatt_reset_fn(2))  # 2 = full reset, as at initialisation

    def __call__(self) -> None:
        for address, snapshot in self._snapshots:
            ctypes.memmove(address, snapshot, len(snapshot))
        for function in self._functions:
            function()
        self._lib.espeak_ng_SetRandSeed(ctypes.c_long(NOISE_SEED))
        self._libc.srand(ctypes.c_uint(NOISE_SEED))

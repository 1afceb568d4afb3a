"""Making espeak-ng deterministic: every call starts from the library's state right after initialisation.

espeak-ng keeps its whole synthesis state in static variables that outlive a call: the wave-command
queue and its resume flags, the Klatt synthesizer's filters, fades and frame interpolation, the
wavegen's echo, pitch and amplitude envelopes, ``DoSpect2``'s "a wave file was playing" flag
(``wave_flag``), the translator's clause state, two random generators. What one call leaves there
changes the next call's audio: after "Hello world" (ending in a stop burst), a Klatt voice speaks
"One sentence, and a short one." 64 samples (2.9 ms) longer. A hand-picked list of such variables
always misses some, so :class:`SynthStateReset` snapshots ALL of them - the library's ``.data`` and
``.bss`` sections, found through its ELF section headers - right after initialisation, and copies
that snapshot back before every call.

A few variables own heap memory the library frees or replaces later; restoring their post-init values
would leave dangling pointers, so they are kept as they are (:data:`_KEPT`, audited against the
espeak-ng 1.52 sources: every global whose memory the library frees, reallocates or deletes after
initialisation) and put in order through the library's own functions instead: ``WcmdqStop`` empties
the command queue (and drops the sonic speed-up stream), ``KlattReset(2)`` re-creates the speechPlayer
synthesizer (the ``klatt6`` variant) and the helper translators a previous call may have made for
foreign words are deleted. The voice's own translator is replaced by every voice selection.
"""

from __future__ import annotations

import ctypes
import logging
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

NOISE_SEED = 1  # fixed seed for espeak's and speechPlayer's noise generators, so results are reproducible
AUDITED_VERSION_PREFIX = "1.52."  # the espeak-ng release whose sources :data:`_KEPT` was audited against

# Globals (and static locals, "name.NNNN") that own heap memory freed or replaced after initialisation,
# or describe such memory; restoring them would free or use memory twice. Everything else is restored.
_KEPT = frozenset(
    {
        "translator",  # the voice's translator: replaced (and the old one freed) by every voice selection
        "p_decoder",  # the text decoder, made on first use and reset by every synthesis
        "phon_out_buf",  # phoneme-string buffer, grown on demand, and its size
        "phon_out_size",
        "namedata",  # SSML name buffer (freed by every synthesis) and its size
        "n_namedata",
        "soundicon_tab",  # sound icons, loaded on demand, and their count
        "n_soundicon_tab",
        "voices_list",  # the voice index built by espeak_ListVoices (and its own array "voices")
        "n_voices_list",
        "voices",
        "speechPlayerHandle",  # the klatt6 synthesizer (C++, on the heap): re-created by KlattReset(2)
        "sonicSpeedupStream",  # speed-up stream (rates above 450 wpm): dropped by WcmdqStop
        "wcmdq",  # pending commands own heap copies of voices: emptied by WcmdqStop
        "wcmdq_head",
        "wcmdq_tail",
    }
)
# Made on demand for words in another language; deleted before every call (their post-init value is NULL).
_HELPER_TRANSLATORS = ("translator2", "translator3")
_RESTORED_SECTIONS = (".data", ".bss")  # the library's mutable static storage (.data.rel.ro and .got are not)
_STATIC_LOCAL = re.compile(r"^(?P<base>[A-Za-z_]\w*)\.\d+$")
_STT_OBJECT = 1
_SHT_SYMTAB = 2
_KLATT_FULL_RESET = 2  # KlattReset's control value for a full reset, as at initialisation


@dataclass(frozen=True)
class ElfLayout:
    """What the library's ELF file says about where things are (addresses relative to its load base)."""

    symbols: dict[str, tuple[int, int, int]]  # name -> (address, size, type)
    sections: dict[str, tuple[int, int]]  # name -> (address, size)


def read_elf_layout(path: Path) -> ElfLayout:
    """Symbols (.symtab) and sections of a 64-bit little-endian ELF; empty if it is not one or is stripped."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:  # ELFCLASS64, ELFDATA2LSB
        return ElfLayout({}, {})
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    # Elf64_Shdr: name, type, flags, addr, offset, size, link, info, addralign, entsize
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]

    def c_string(offset: int) -> str:
        return data[offset : data.index(b"\0", offset)].decode("ascii", "replace")

    names_offset = headers[shstrndx][4]
    sections = {c_string(names_offset + h[0]): (h[3], h[5]) for h in headers}
    symbols: dict[str, tuple[int, int, int]] = {}
    for header in headers:
        if header[1] != _SHT_SYMTAB:
            continue
        strtab_offset = headers[header[6]][4]
        for offset in range(header[4], header[4] + header[5], 24):
            # Elf64_Sym: name, info, other, shndx, value, size
            name_offset, info, _, _, value, size = struct.unpack_from("<IBBHQQ", data, offset)
            name = c_string(strtab_offset + name_offset)
            if name and value:
                symbols[name] = (value, size, info & 0xF)
    return ElfLayout(symbols, sections)


def _base_name(symbol: str) -> str:
    match = _STATIC_LOCAL.match(symbol)
    return match["base"] if match else symbol


def restorable_ranges(layout: ElfLayout) -> list[tuple[int, int]]:
    """(address, size) runs of ``.data`` and ``.bss`` outside every kept or helper-translator variable."""
    kept = _KEPT | set(_HELPER_TRANSLATORS)
    holes = sorted(
        (address, address + size)
        for name, (address, size, kind) in layout.symbols.items()
        if kind == _STT_OBJECT and _base_name(name) in kept
    )
    ranges: list[tuple[int, int]] = []
    for section in _RESTORED_SECTIONS:
        start, size = layout.sections.get(section, (0, 0))
        cursor, end = start, start + size
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                ranges.append((cursor, hole_start - cursor))
            cursor = max(cursor, hole_end)
        if end > cursor:
            ranges.append((cursor, end - cursor))
    return ranges


class SynthStateReset:
    """Puts all of espeak-ng's static state back to how it was when this object was made (right after init).

    Without a symbol table, or for an espeak-ng release whose sources were not audited for :data:`_KEPT`,
    only the random generators are reseeded (and a warning says results may depend on earlier calls).
    """

    def __init__(self, lib: ctypes.CDLL, library_path: Path, version: str) -> None:
        self._lib = lib
        self._libc = ctypes.CDLL(None)
        self._snapshot: list[tuple[int, bytes]] = []
        self._helper_translators: list[int] = []
        layout = read_elf_layout(library_path)
        anchor = layout.symbols.get("espeak_Synth")
        synth_address = ctypes.cast(lib.espeak_Synth, ctypes.c_void_p).value
        needed = ("WcmdqStop", "KlattReset", "DeleteTranslator", *_HELPER_TRANSLATORS)
        if anchor is None or synth_address is None or not all(name in layout.symbols for name in needed):
            logger.warning("libespeak-ng has no usable symbol table: synthesis will not be exactly reproducible")
            return
        if not version.startswith(AUDITED_VERSION_PREFIX):
            logger.warning(
                "libespeak-ng %s is not the audited %sx: its state is not reset, synthesis may depend on earlier calls",
                version,
                AUDITED_VERSION_PREFIX,
            )
            return
        load_base = synth_address - anchor[0]

        def function(name: str, *argtypes: Any) -> Any:
            return ctypes.CFUNCTYPE(None, *argtypes)(load_base + layout.symbols[name][0])

        self._delete_translator = function("DeleteTranslator", ctypes.c_void_p)
        self._wcmdq_stop = function("WcmdqStop")
        self._klatt_reset = function("KlattReset", ctypes.c_int)
        helpers = [load_base + layout.symbols[name][0] for name in _HELPER_TRANSLATORS]
        if any(ctypes.c_void_p.from_address(address).value for address in helpers):
            logger.warning("espeak-ng made a helper translator before its state was snapshotted: state not reset")
            return
        ranges = restorable_ranges(layout)
        if not ranges:
            logger.warning("libespeak-ng has no .data/.bss sections: synthesis will not be exactly reproducible")
            return
        self._helper_translators = helpers
        self._snapshot = [(load_base + start, ctypes.string_at(load_base + start, size)) for start, size in ranges]

    @property
    def restores_everything(self) -> bool:
        """Whether calls really start from the snapshot (False: only the random generators are reseeded)."""
        return bool(self._snapshot)

    def __call__(self) -> None:
        for address in self._helper_translators:
            pointer = ctypes.c_void_p.from_address(address)
            if pointer.value:
                self._delete_translator(pointer.value)
                pointer.value = None  # as after initialisation; the restore clears its language name
        for address, snapshot in self._snapshot:
            ctypes.memmove(address, snapshot, len(snapshot))
        if self._snapshot:
            self._wcmdq_stop()
            self._klatt_reset(_KLATT_FULL_RESET)
        self._lib.espeak_ng_SetRandSeed(ctypes.c_long(NOISE_SEED))
        self._libc.srand(ctypes.c_uint(NOISE_SEED))  # speechPlayer's noise uses libc's rand()

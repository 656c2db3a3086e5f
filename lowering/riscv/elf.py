"""The loadable segments, code ranges and entry point of a static ELF64 little-endian file."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

PT_LOAD = 1
PF_X = 1
SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4


@dataclass(frozen=True)
class Segment:
    vaddr: int
    data: bytes          # the file part; the rest of ``memsz`` is zeros
    memsz: int
    executable: bool


@dataclass(frozen=True)
class Image:
    entry: int
    segments: tuple[Segment, ...]
    code: tuple[tuple[int, int], ...]    # (address, size) of every executable section


def read_elf(path: Path | str) -> Image:
    """Entry point and PT_LOAD segments of the ELF64 file at ``path``."""
    d = Path(path).read_bytes()
    if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
        raise ValueError(f"{path}: not a little-endian ELF64 file")
    entry, phoff = struct.unpack_from("<QQ", d, 24)
    phentsize, phnum = struct.unpack_from("<HH", d, 54)
    segments = []
    for i in range(phnum):
        p_type, flags, off, vaddr, _paddr, filesz, memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", d, phoff + i * phentsize)
        if p_type == PT_LOAD and memsz:
            segments.append(Segment(vaddr, d[off:off + filesz], memsz, bool(flags & PF_X)))
    shoff = struct.unpack_from("<Q", d, 40)[0]
    shentsize, shnum = struct.unpack_from("<HH", d, 58)
    code = []
    for i in range(shnum):
        _name, _type, flags, addr, _off, size = struct.unpack_from(
            "<IIQQQQ", d, shoff + i * shentsize)
        if flags & SHF_ALLOC and flags & SHF_EXECINSTR and size:
            code.append((addr, size))
    return Image(entry, tuple(segments), tuple(code))

"""Static simulation of Exo 1.0.0's on-chip allocators.

Exo's C calls ``gemm_malloc(bytes)`` (scratchpad) and ``gemm_acc_malloc(bytes)``
(accumulator) at run time. Both are deterministic, so the parser resolves every
call to the row address it returns, walking the program in order. The policies
follow exo 1.0.0's ``exo/libs/gemm_malloc.c`` and ``gemm_acc_malloc.c``:

* scratchpad: a list of blocks (size in rows of ``ROW_BYTES`` bytes, location,
  in-use flag); first fit over the list, blocks never split or merge; a request
  larger than every free block appends a new block at the end of the heap;
* accumulator (1.0.0): a stack of blocks whose location is always 0, so every
  allocation returns ``0 | 0x80000000``; freeing the top block pops it together
  with the unused blocks under it.

A size of 0 returns ``0xFFFFFFFF`` in both (``(uint32_t)-1``).

What the scratchpad allocator had handed out before the kernel (`HeapState`) is a
workload setting: the measured binaries did not start from an empty heap
(docs/hardware.md, "Placement").
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Software constants of exo's allocator library (GEMM_DIM, GEMM_HEAP_SIZE and the
# packed block record of gemm_malloc.c), not hardware parameters.
ROW_BYTES = 16
HEAP_BYTES = 100_000
BLOCK_RECORD_BYTES = 9
MAX_BLOCKS = HEAP_BYTES // BLOCK_RECORD_BYTES
ACC_FLAG = 0x80000000
FAILED = 0xFFFFFFFF


class AllocError(Exception):
    """The allocator ran out of block records, or a free does not match an allocation."""


@dataclass
class _Block:
    size: int
    loc: int
    used: bool


@dataclass
class ScratchpadAllocator:
    """``gemm_malloc`` / ``gemm_free`` of exo 1.0.0."""
    blocks: list[_Block] = field(default_factory=list)
    last: int = 0

    def malloc(self, nbytes: int) -> int:
        if nbytes == 0:
            return FAILED
        rows = (nbytes + ROW_BYTES - 1) // ROW_BYTES
        for b in self.blocks:
            if not b.used and b.size >= rows:
                b.used = True
                return b.loc
        if len(self.blocks) >= MAX_BLOCKS:
            raise AllocError("gemm_malloc ran out of block records")
        self.blocks.append(_Block(rows, self.last, True))
        self.last += rows
        return self.blocks[-1].loc

    def free(self, addr: int) -> None:
        for b in self.blocks:
            if b.used and b.loc == addr:
                b.used = False
                return

    def in_use(self) -> tuple:
        return tuple((b.loc, b.size) for b in self.blocks if b.used)


@dataclass
class AccumulatorAllocator:
    """``gemm_acc_malloc`` / ``gemm_acc_free`` of exo 1.0.0 (every block at row 0)."""
    blocks: list[_Block] = field(default_factory=list)
    top: int = 0

    def malloc(self, nbytes: int) -> int:
        if nbytes == 0 or self.top >= MAX_BLOCKS:
            return FAILED
        rows = (nbytes + ROW_BYTES - 1) // ROW_BYTES
        block = _Block(rows, 0, True)
        if self.top < len(self.blocks):
            self.blocks[self.top] = block
        else:
            self.blocks.append(block)
        self.top += 1
        return block.loc | ACC_FLAG

    def free(self, addr: int) -> None:
        if self.top == 0:
            return
        addr &= 0x7FFFFFFF
        if self.blocks[self.top - 1].loc == addr:
            self.blocks[self.top - 1].used = False
            for i in range(self.top - 1, -1, -1):
                if self.blocks[i].used:
                    break
                self.top = i
        else:
            for i in range(self.top - 1, -1, -1):
                if self.blocks[i].loc == addr:
                    self.blocks[i].used = False
                    break

    def in_use(self) -> tuple:
        return tuple((b.loc, b.size) for b in self.blocks[:self.top] if b.used)


@dataclass
class Allocators:
    """Both allocators plus an event log, so a loop body can be checked for balance."""
    sp: ScratchpadAllocator = field(default_factory=ScratchpadAllocator)
    acc: AccumulatorAllocator = field(default_factory=AccumulatorAllocator)
    log: list = field(default_factory=list)

    def malloc(self, kind: str, nbytes: int) -> int:
        addr = (self.acc if kind == "acc" else self.sp).malloc(nbytes)
        self.log.append(("malloc", kind, nbytes, addr))
        return addr

    def free(self, kind: str, addr: int) -> None:
        (self.acc if kind == "acc" else self.sp).free(addr)
        self.log.append(("free", kind, addr, None))

    def state(self) -> tuple:
        return self.sp.in_use(), self.acc.in_use()

    def mark(self) -> int:
        return len(self.log)

    def check_loop_body(self, start: int, before: tuple) -> str | None:
        """After one simulated pass of a loop body (events since ``start``), check that
        the body frees what it allocates and that a second pass would get the same
        addresses. Returns a problem description, or None."""
        if self.state() != before:
            return "allocations inside the loop body are not all freed in it"
        events = self.log[start:]
        for ev, kind, value, addr in events:
            alloc = self.acc if kind == "acc" else self.sp
            if ev == "malloc":
                if alloc.malloc(value) != addr:
                    return "allocation addresses change between loop iterations"
            else:
                alloc.free(value)
        if self.state() != before:
            return "allocations inside the loop body are not all freed in it"
        return None


@dataclass(frozen=True)
class HeapState:
    """The scratchpad heap before the kernel's first ``gemm_malloc``.

    ``blocks``: gemm_malloc's block list, in order and laid out from row 0, as
    (rows, still in use) pairs. A freed block is reused first fit and never split,
    so a freed block of ``n`` rows at row 0 gives the kernel's first buffer row 0 and
    puts the next one at row ``n`` or later.
    """
    blocks: tuple[tuple[int, bool], ...] = ()

    @classmethod
    def freed(cls, rows: int) -> "HeapState":
        """One freed block of ``rows`` rows at row 0 (0: the empty heap)."""
        return cls(((rows, False),)) if rows > 0 else cls()

    def allocators(self) -> Allocators:
        """Fresh allocators in this state (the accumulator always starts empty)."""
        sp = ScratchpadAllocator()
        for rows, used in self.blocks:
            if rows <= 0:
                raise AllocError(f"heap block of {rows} rows; sizes must be positive")
            sp.blocks.append(_Block(rows, sp.last, used))
            sp.last += rows
        return Allocators(sp=sp)


EMPTY_HEAP = HeapState()

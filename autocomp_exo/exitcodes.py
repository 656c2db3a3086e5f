"""The command line's exit codes (documented in docs/cli.md); every error path maps to one."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    KERNEL_WRONG = 1      # evaluate: the program ran but is wrong or breaks a hardware rule
    USAGE = 2             # the command line itself: unknown flag, missing or malformed value
    INPUT = 3             # an input was rejected: file, settings, workload, proc, run directory
    OUTPUT = 4            # a file could not be written (disk full, permissions)
    INTERNAL = 5          # a bug in autocomp-exo (rerun with --verbose and report it)
    ENDPOINT = 6          # the LLM endpoint kept failing; the results so far are saved
    INTERRUPTED = 130     # Ctrl-C (SIGINT) or SIGTERM; the best so far is saved

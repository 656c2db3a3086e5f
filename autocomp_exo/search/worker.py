"""Entry point of an evaluation worker process (started by `search.engine.ProcessEngine`).

Usage: ``python -m autocomp_exo.search.worker FD PARENT_PID``, where FD is the
worker's end of a socket pair inherited from the parent.
"""

import signal
import sys
from multiprocessing.connection import Connection

from autocomp_exo.search.engine import worker_main

if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    worker_main(Connection(int(sys.argv[1])), int(sys.argv[2]))

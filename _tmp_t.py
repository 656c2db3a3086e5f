import time, sys
from tests.data.user_procs import algorithms as A
from lowering.mapping import map_to_gemmini
for name in sys.argv[1:]:
    for p in (getattr(A, name), getattr(A, "broken_" + name, None)):
        if p is None: continue
        t=time.time()
        try:
            m = map_to_gemmini(p); print(name, p.name(), "mapped", round(time.time()-t,1), flush=True)
        except Exception as e:
            print(name, p.name(), "FAIL", type(e).__name__, e, round(time.time()-t,1), flush=True)

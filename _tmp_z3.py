import time, traceback
from lowering import suite, mapping
orig = mapping._map
def wrapped(*a):
    try:
        return orig(*a)
    except Exception as e:
        traceback.print_exc(limit=-8)
        raise
mapping._map = wrapped
for shape in [(100,70,50),(20,20,20),(17,33,50)]:
    t=time.time()
    try:
        p = mapping.map_to_gemmini(suite.gemm_algorithm(*shape))
        print(shape,"ok", time.time()-t, flush=True)
    except Exception as e:
        print(shape,"fail", e, time.time()-t, flush=True)

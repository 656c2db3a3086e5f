"""Programs the Gemmini software stack would issue for a workload, built as IR.

``fsm``: the on-chip loop FSM (``loop_ws``) with the best tiling; ``vendor_lib``: the
software library's tiling heuristic. The search and the baselines both use them.
"""

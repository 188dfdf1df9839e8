"""How much device memory the Higgs fast path may give its slot cache.

Thread contract: pure functions; call from any thread.
"""

from __future__ import annotations

from typing import Any

GIB = 1 << 30
HEADROOM_BYTES = 2 * GIB  # activations of a packed prefill, the codec's decode, allocator slack
CACHE_SHARE = 0.8  # of the free memory after the headroom


def slot_memory_budget(model: Any) -> int | None:
    """Bytes the slot cache may take on ``model``'s device: a share of what is free; None off CUDA."""
    device = getattr(model, "device", None)
    if device is None or device.type != "cuda":
        return None
    import torch

    free, _total = torch.cuda.mem_get_info(device)
    return max(0, int((free - HEADROOM_BYTES) * CACHE_SHARE))

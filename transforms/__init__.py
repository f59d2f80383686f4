"""dockopt.transforms: one module per transform; ``REGISTRY`` lists them in execution order.

Structural changes come first (stage split), then reordering, then merging, then
flags and cleanups, then USER; findings without fixes last.
"""

from __future__ import annotations

from dockopt.transforms.base import Transform

REGISTRY: tuple[type[Transform], ...] = ()

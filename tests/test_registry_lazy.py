"""The transforms package loads its registry on first use (transforms/registry.py):
the names it promises are exactly the registry's, each resolves to the registry's
object, and importing the package or ``transforms.base`` loads no rule module."""

from __future__ import annotations

import subprocess
import sys

import dockopt.transforms as package
from dockopt.transforms import registry


def test_the_package_promises_exactly_the_registrys_names() -> None:
    assert set(registry.__all__) == package._REGISTRY_NAMES
    for name in registry.__all__:
        assert getattr(package, name) is getattr(registry, name)


def test_importing_the_package_or_base_loads_no_rule() -> None:
    code = ("import sys; import dockopt.transforms, dockopt.transforms.base; "
            "print(sorted(m for m in sys.modules if m.startswith('dockopt.transforms')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "['dockopt.transforms', 'dockopt.transforms.base']"

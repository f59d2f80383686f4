"""dockopt.transforms: one folder per family; ``REGISTRY`` lists them in execution order.

    packages/      apt (DO201-DO204), apk, rpm (yum/dnf/zypper), pip, pinning findings
    instructions/  RUN merges and cd (runs), exec form, ADD -> COPY, MAINTAINER, findings
    context/       manifests first (DO601), lockfiles, .dockerignore, install order,
                   slimmer base images, the non-root user
    split/         DO101, the builder/runtime split: family table, shared planning,
                   one module per family

Order: manifests first (the split then leaves the source copy out of the builder:
``context.manifests.rule._claim_stage``), the stage split, OS packages above the
source copy, merges, flags and cleanups, instruction rewrites, context files, the
base image and USER (they see the result); findings without fixes last.  A test
fails if a module defines a transform that is missing from ``REGISTRY``, which
lives in registry.py and is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockopt.transforms.registry import *  # noqa: F403 (its __all__)

# The registry's names, loaded on first use (PEP 562): see transforms/registry.py.
_REGISTRY_NAMES = frozenset({
    "AddForLocalFile",
    "ApkCache",
    "ApkUnpinned",
    "AptInstallRecommends",
    "AptListsNotCleaned",
    "AptMissingYes",
    "AptUnpinned",
    "AptUpdateSeparate",
    "CONTEXT_FIXES",
    "CONTEXT_MANIFESTS",
    "CONTEXT_REORDERS",
    "CONTEXT_STRUCTURE",
    "CdInsteadOfWorkdir",
    "ConsecutiveRun",
    "CurlPipeShell",
    "DnfClean",
    "DockerignoreMissing",
    "FullBaseImage",
    "IMAGE_FIXES",
    "INSTRUCTION_FINDINGS",
    "INSTRUCTION_FIXES",
    "INSTRUCTION_MERGES",
    "LatestBaseImage",
    "LockfileIgnored",
    "MaintainerDeprecated",
    "ManifestsAfterSource",
    "MissingHealthcheck",
    "PACKAGE_FINDINGS",
    "PACKAGE_FIXES",
    "PACKAGE_MERGES",
    "PackagesAfterSource",
    "Pid1WithoutInit",
    "PipNoCacheDir",
    "PipUnpinned",
    "REGISTRY",
    "RootUser",
    "SUPPRESSION_FINDINGS",
    "SecretInEnv",
    "ShellFormCmd",
    "SingleStageBuild",
    "Sudo",
    "USER_FIXES",
    "UnknownSuppression",
    "UntrustedRegistry",
    "UnusedSuppression",
    "VersionLabelMissing",
    "YumClean",
    "ZypperClean",
})


def __getattr__(name: str) -> Any:
    if name not in _REGISTRY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dockopt.transforms import registry

    value = getattr(registry, name)
    globals()[name] = value  # once: later lookups are plain module attributes
    return value

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
    from dockopt.transforms.registry import (
        CONTEXT_FIXES as CONTEXT_FIXES,
    )
    from dockopt.transforms.registry import (
        CONTEXT_MANIFESTS as CONTEXT_MANIFESTS,
    )
    from dockopt.transforms.registry import (
        CONTEXT_REORDERS as CONTEXT_REORDERS,
    )
    from dockopt.transforms.registry import (
        CONTEXT_STRUCTURE as CONTEXT_STRUCTURE,
    )
    from dockopt.transforms.registry import (
        IMAGE_FIXES as IMAGE_FIXES,
    )
    from dockopt.transforms.registry import (
        INSTRUCTION_FINDINGS as INSTRUCTION_FINDINGS,
    )
    from dockopt.transforms.registry import (
        INSTRUCTION_FIXES as INSTRUCTION_FIXES,
    )
    from dockopt.transforms.registry import (
        INSTRUCTION_MERGES as INSTRUCTION_MERGES,
    )
    from dockopt.transforms.registry import (
        PACKAGE_FINDINGS as PACKAGE_FINDINGS,
    )
    from dockopt.transforms.registry import (
        PACKAGE_FIXES as PACKAGE_FIXES,
    )
    from dockopt.transforms.registry import (
        PACKAGE_MERGES as PACKAGE_MERGES,
    )
    from dockopt.transforms.registry import (
        REGISTRY as REGISTRY,
    )
    from dockopt.transforms.registry import (
        SUPPRESSION_FINDINGS as SUPPRESSION_FINDINGS,
    )
    from dockopt.transforms.registry import (
        USER_FIXES as USER_FIXES,
    )
    from dockopt.transforms.registry import (
        AddForLocalFile as AddForLocalFile,
    )
    from dockopt.transforms.registry import (
        ApkCache as ApkCache,
    )
    from dockopt.transforms.registry import (
        ApkUnpinned as ApkUnpinned,
    )
    from dockopt.transforms.registry import (
        AptInstallRecommends as AptInstallRecommends,
    )
    from dockopt.transforms.registry import (
        AptListsNotCleaned as AptListsNotCleaned,
    )
    from dockopt.transforms.registry import (
        AptMissingYes as AptMissingYes,
    )
    from dockopt.transforms.registry import (
        AptUnpinned as AptUnpinned,
    )
    from dockopt.transforms.registry import (
        AptUpdateSeparate as AptUpdateSeparate,
    )
    from dockopt.transforms.registry import (
        CdInsteadOfWorkdir as CdInsteadOfWorkdir,
    )
    from dockopt.transforms.registry import (
        ConsecutiveRun as ConsecutiveRun,
    )
    from dockopt.transforms.registry import (
        CurlPipeShell as CurlPipeShell,
    )
    from dockopt.transforms.registry import (
        DnfClean as DnfClean,
    )
    from dockopt.transforms.registry import (
        DockerignoreMissing as DockerignoreMissing,
    )
    from dockopt.transforms.registry import (
        FullBaseImage as FullBaseImage,
    )
    from dockopt.transforms.registry import (
        LatestBaseImage as LatestBaseImage,
    )
    from dockopt.transforms.registry import (
        LockfileIgnored as LockfileIgnored,
    )
    from dockopt.transforms.registry import (
        MaintainerDeprecated as MaintainerDeprecated,
    )
    from dockopt.transforms.registry import (
        ManifestsAfterSource as ManifestsAfterSource,
    )
    from dockopt.transforms.registry import (
        MissingHealthcheck as MissingHealthcheck,
    )
    from dockopt.transforms.registry import (
        PackagesAfterSource as PackagesAfterSource,
    )
    from dockopt.transforms.registry import (
        Pid1WithoutInit as Pid1WithoutInit,
    )
    from dockopt.transforms.registry import (
        PipNoCacheDir as PipNoCacheDir,
    )
    from dockopt.transforms.registry import (
        PipUnpinned as PipUnpinned,
    )
    from dockopt.transforms.registry import (
        RootUser as RootUser,
    )
    from dockopt.transforms.registry import (
        SecretInEnv as SecretInEnv,
    )
    from dockopt.transforms.registry import (
        ShellFormCmd as ShellFormCmd,
    )
    from dockopt.transforms.registry import (
        SingleStageBuild as SingleStageBuild,
    )
    from dockopt.transforms.registry import (
        Sudo as Sudo,
    )
    from dockopt.transforms.registry import (
        UnknownSuppression as UnknownSuppression,
    )
    from dockopt.transforms.registry import (
        UntrustedRegistry as UntrustedRegistry,
    )
    from dockopt.transforms.registry import (
        UnusedSuppression as UnusedSuppression,
    )
    from dockopt.transforms.registry import (
        VersionLabelMissing as VersionLabelMissing,
    )
    from dockopt.transforms.registry import (
        YumClean as YumClean,
    )
    from dockopt.transforms.registry import (
        ZypperClean as ZypperClean,
    )

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

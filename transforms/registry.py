"""The registry: every transform, in execution order (see the package's docstring).

Imported on first use of ``dockopt.transforms.REGISTRY`` (or of a name below), not
with the package: a run answered from the results cache, `dockopt --version` or a
renderer that needs only ``transforms.base`` does not load every rule's module.
"""


from __future__ import annotations

__all__ = [
    "CONTEXT_FIXES",
    "CONTEXT_MANIFESTS",
    "CONTEXT_REORDERS",
    "CONTEXT_STRUCTURE",
    "IMAGE_FIXES",
    "INSTRUCTION_FINDINGS",
    "INSTRUCTION_FIXES",
    "INSTRUCTION_MERGES",
    "PACKAGE_FINDINGS",
    "PACKAGE_FIXES",
    "PACKAGE_MERGES",
    "REGISTRY",
    "SUPPRESSION_FINDINGS",
    "USER_FIXES",
    "AddForLocalFile",
    "ApkCache",
    "ApkUnpinned",
    "AptInstallRecommends",
    "AptListsNotCleaned",
    "AptMissingYes",
    "AptUnpinned",
    "AptUpdateSeparate",
    "CdInsteadOfWorkdir",
    "ConsecutiveRun",
    "CurlPipeShell",
    "DnfClean",
    "DockerignoreMissing",
    "FullBaseImage",
    "LatestBaseImage",
    "LockfileIgnored",
    "MaintainerDeprecated",
    "ManifestsAfterSource",
    "MissingHealthcheck",
    "PackagesAfterSource",
    "Pid1WithoutInit",
    "PipNoCacheDir",
    "PipUnpinned",
    "RootUser",
    "SecretInEnv",
    "ShellFormCmd",
    "SingleStageBuild",
    "Sudo",
    "UnknownSuppression",
    "UntrustedRegistry",
    "UnusedSuppression",
    "VersionLabelMissing",
    "YumClean",
    "ZypperClean",
]

from dockopt.transforms.base import Transform
from dockopt.transforms.context.base_image import FullBaseImage
from dockopt.transforms.context.dockerignore import DockerignoreMissing
from dockopt.transforms.context.install_order import PackagesAfterSource
from dockopt.transforms.context.lockfiles import LockfileIgnored
from dockopt.transforms.context.manifests.rule import ManifestsAfterSource
from dockopt.transforms.context.user import RootUser
from dockopt.transforms.instructions.add_copy import AddForLocalFile
from dockopt.transforms.instructions.exec_form import ShellFormCmd
from dockopt.transforms.instructions.findings import (
    CurlPipeShell,
    LatestBaseImage,
    MissingHealthcheck,
    SecretInEnv,
    Sudo,
    UntrustedRegistry,
)
from dockopt.transforms.instructions.maintainer import MaintainerDeprecated
from dockopt.transforms.instructions.runs import CdInsteadOfWorkdir, ConsecutiveRun
from dockopt.transforms.instructions.runtime_details import Pid1WithoutInit, VersionLabelMissing
from dockopt.transforms.instructions.suppressions import UnknownSuppression, UnusedSuppression
from dockopt.transforms.packages.apk import ApkCache
from dockopt.transforms.packages.apt import AptMissingYes, AptUpdateSeparate
from dockopt.transforms.packages.apt_cleanup import AptListsNotCleaned
from dockopt.transforms.packages.apt_recommends import AptInstallRecommends
from dockopt.transforms.packages.pinning import ApkUnpinned, AptUnpinned, PipUnpinned
from dockopt.transforms.packages.pip import PipNoCacheDir
from dockopt.transforms.packages.rpm import DnfClean, YumClean, ZypperClean
from dockopt.transforms.split.single_stage import SingleStageBuild

# --- package managers (packages/) ---
PACKAGE_MERGES: tuple[type[Transform], ...] = (AptUpdateSeparate,)
PACKAGE_FIXES: tuple[type[Transform], ...] = (
    AptInstallRecommends, AptMissingYes, AptListsNotCleaned, ApkCache, YumClean, DnfClean,
    ZypperClean, PipNoCacheDir,
)
PACKAGE_FINDINGS: tuple[type[Transform], ...] = (AptUnpinned, ApkUnpinned, PipUnpinned)

# --- instructions (instructions/) ---
INSTRUCTION_MERGES: tuple[type[Transform], ...] = (ConsecutiveRun,)
INSTRUCTION_FIXES: tuple[type[Transform], ...] = (
    CdInsteadOfWorkdir,
    ShellFormCmd,
    AddForLocalFile,
    MaintainerDeprecated,
    VersionLabelMissing,
)
INSTRUCTION_FINDINGS: tuple[type[Transform], ...] = (
    MissingHealthcheck,
    LatestBaseImage,
    Sudo,
    CurlPipeShell,
    SecretInEnv,
    UntrustedRegistry,
    UnknownSuppression,
    Pid1WithoutInit,
)

# --- build context and stages (context/, split/) ---
CONTEXT_MANIFESTS: tuple[type[Transform], ...] = (ManifestsAfterSource,)
CONTEXT_STRUCTURE: tuple[type[Transform], ...] = (SingleStageBuild,)  # the stage split
# OS packages above the source copy: needs no context; after the split, which moves
# the stage whole.
CONTEXT_REORDERS: tuple[type[Transform], ...] = (PackagesAfterSource,)
CONTEXT_FIXES: tuple[type[Transform], ...] = (
    LockfileIgnored,
    DockerignoreMissing,
)  # lockfile installs, .dockerignore

# --- base image and user (context/): last, they see the result ---
IMAGE_FIXES: tuple[type[Transform], ...] = (FullBaseImage,)  # slimmer bases
USER_FIXES: tuple[type[Transform], ...] = (RootUser,)  # non-root USER

# --- about the other rules' findings: last, after every rule it judges ran ---
SUPPRESSION_FINDINGS: tuple[type[Transform], ...] = (UnusedSuppression,)

REGISTRY: tuple[type[Transform], ...] = (
    *CONTEXT_MANIFESTS,
    *CONTEXT_STRUCTURE,
    *CONTEXT_REORDERS,
    *PACKAGE_MERGES,
    *INSTRUCTION_MERGES,
    *PACKAGE_FIXES,
    *INSTRUCTION_FIXES,
    *CONTEXT_FIXES,
    *IMAGE_FIXES,
    *USER_FIXES,
    *PACKAGE_FINDINGS,
    *INSTRUCTION_FINDINGS,
    *SUPPRESSION_FINDINGS,
)

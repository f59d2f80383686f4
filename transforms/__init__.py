"""dockopt.transforms: one module per family; ``REGISTRY`` lists them in execution order.

Structural changes come first (stage split), then reordering, then merging, then
flags and cleanups, then instruction rewrites, then USER; findings without fixes last.
A test fails if a module defines a transform that is missing here.
"""

from __future__ import annotations

from dockopt.transforms.base import Transform

# --- package managers (transforms/packages/apt.py, packages.py) ---
# isort: split
from dockopt.transforms.packages.apt import (
    AptInstallRecommends,
    AptListsNotCleaned,
    AptMissingYes,
    AptUpdateSeparate,
)
from dockopt.transforms.packages.pip import (
    ApkCache,
    ApkUnpinned,
    AptUnpinned,
    DnfClean,
    PipNoCacheDir,
    PipUnpinned,
    YumClean,
    ZypperClean,
)

PACKAGE_MERGES: tuple[type[Transform], ...] = (AptUpdateSeparate,)
PACKAGE_FIXES: tuple[type[Transform], ...] = (
    AptInstallRecommends, AptMissingYes, AptListsNotCleaned, ApkCache, YumClean, DnfClean,
    ZypperClean, PipNoCacheDir,
)
PACKAGE_FINDINGS: tuple[type[Transform], ...] = (AptUnpinned, ApkUnpinned, PipUnpinned)
# --- instructions (transforms/instructions/runs.py, instructions.py, findings.py) ---
from dockopt.transforms.instructions.exec_form import (  # noqa: E402
    AddForLocalFile,
    MaintainerDeprecated,
    ShellFormCmd,
)
from dockopt.transforms.instructions.findings import (  # noqa: E402
    CurlPipeShell,
    LatestBaseImage,
    MissingHealthcheck,
    SecretInEnv,
    Sudo,
)
from dockopt.transforms.instructions.runs import CdInsteadOfWorkdir, ConsecutiveRun  # noqa: E402

INSTRUCTION_MERGES: tuple[type[Transform], ...] = (ConsecutiveRun,)
INSTRUCTION_FIXES: tuple[type[Transform], ...] = (
    CdInsteadOfWorkdir,
    ShellFormCmd,
    AddForLocalFile,
    MaintainerDeprecated,
)
INSTRUCTION_FINDINGS: tuple[type[Transform], ...] = (
    MissingHealthcheck,
    LatestBaseImage,
    Sudo,
    CurlPipeShell,
    SecretInEnv,
)

# --- build-context aware (transforms/context/manifests/rule.py, lockfiles.py, dockerignore.py) ---
from dockopt.transforms.split.single_stage import SingleStageBuild  # noqa: E402

CONTEXT_STRUCTURE: tuple[type[Transform], ...] = (SingleStageBuild,)  # stage split (issue 6)
from dockopt.transforms.context.install_order import PackagesAfterSource  # noqa: E402
from dockopt.transforms.context.manifests.rule import ManifestsAfterSource  # noqa: E402

# Manifests first (before the split, which then leaves the source copy out of the
# builder: manifests._claim_stage), then OS packages above the source copy (DO606
# needs no context; after the split, which moves the stage whole).
CONTEXT_MANIFESTS: tuple[type[Transform], ...] = (ManifestsAfterSource,)
CONTEXT_REORDERS: tuple[type[Transform], ...] = (PackagesAfterSource,)
from dockopt.transforms.context.dockerignore import DockerignoreMissing  # noqa: E402
from dockopt.transforms.context.lockfiles import LockfileIgnored  # noqa: E402

CONTEXT_FIXES: tuple[type[Transform], ...] = (
    LockfileIgnored,
    DockerignoreMissing,
)  # lockfile installs, .dockerignore
# --- base image and user (transforms/context/base_image.py, user.py): last, they see the result ---
from dockopt.transforms.context.base_image import FullBaseImage  # noqa: E402
from dockopt.transforms.context.user import RootUser  # noqa: E402

IMAGE_FIXES: tuple[type[Transform], ...] = (FullBaseImage,)  # slimmer bases
USER_FIXES: tuple[type[Transform], ...] = (RootUser,)  # non-root USER

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
)

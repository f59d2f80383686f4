"""DO101 for .NET: `dotnet publish` in the SDK image; the publish folder alone on the
ASP.NET Core or .NET runtime image of the project's target framework.

Image facts (github.com/dotnet/dotnet-docker): ``mcr.microsoft.com/dotnet/sdk:<v>`` has
the SDK, ``aspnet:<v>`` the ASP.NET Core and .NET runtimes, ``runtime:<v>`` the .NET
runtime only; the same OS variants exist for all three (``-bookworm-slim``,
``-alpine``, ``-jammy``, ``-noble``, ``-azurelinux3.0``...; no suffix is each
version's default OS). 8.0 and later ship the non-root user ``app`` (uid 1654). The
images of 3.1 and later live under ``mcr.microsoft.com/dotnet/``; the older
``dotnet/core/...`` repositories are no longer updated. A framework-dependent app
runs on the runtime of its target framework's major.minor version (it does not roll
forward to another major version by default), so the runtime tag comes from the
project's ``TargetFramework``, not from the SDK tag.

No .NET SDK can be fetched where dockopt is developed, so this family is covered by
golden cases and unit tests, not by an e2e build.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import FULL_ONLY_TOOLS
from dockopt.transforms.images import ImageRef, parse_image_ref
from dockopt.transforms.shellfix import RunShell
from dockopt.transforms.split.common import (
    PLAIN_WORD,
    Blocked,
    Plan,
    block,
    builder_name,
    cmd_words,
    image_command,
    last,
    render,
    settings_lines,
    walk_stage,
)
from dockopt.transforms.split.native import context_path

MCR = "mcr.microsoft.com/dotnet/"
_PROJECT_EXT = (".csproj", ".fsproj", ".vbproj")
# SDK -> runtime image. Other SDKs (Razor class libraries, Blazor WebAssembly: static
# files, no server) are not runnable with `dotnet app.dll`.
_SDK_IMAGES = {"Microsoft.NET.Sdk.Web": "aspnet", "Microsoft.NET.Sdk": "runtime",
               "Microsoft.NET.Sdk.Worker": "runtime"}
# MSBuild properties that make the output something else than a framework-dependent
# app run with `dotnet <dll>`.
_OTHER_OUTPUTS = ("SelfContained", "PublishSingleFile", "PublishAot", "PublishTrimmed",
                  "RuntimeIdentifier", "RuntimeIdentifiers", "PublishReadyToRun")
# `dotnet publish` options that take a value.
_VALUE_FLAGS = frozenset({"-c", "--configuration", "-o", "--output", "-f", "--framework",
                          "-r", "--runtime", "-a", "--arch", "--os", "-v", "--verbosity",
                          "-s", "--source", "--version-suffix", "--property"})
# Commands a RUN before the build may run.
_PREP_COMMANDS = frozenset({"dotnet", "mkdir", "cd", "echo", "true", "ls", "rm", "cp",
                            "set", "export"})
_DOTNET_SUBCOMMANDS = frozenset({"restore", "build", "test", "tool", "--info",
                                 "--version", "nuget", "dev-certs", "workload"})
_AFTER_BUILD_OK = frozenset({"rm", "echo", "ls", "true"})
# Build-only environment: stays in the builder.
_BUILD_ENV = lazy(r"NUGET_\w*|DOTNET_CLI_\w*|DOTNET_NOLOGO|"
                        r"DOTNET_SKIP_FIRST_TIME_EXPERIENCE|DOTNET_GENERATE_ASPNET_CERTIFICATE|"
                        r"MSBUILD\w*")


def dotnet_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """``FROM mcr.microsoft.com/dotnet/sdk`` with a `dotnet publish`."""
    return any(w.startswith(".NET:") for w in what)


def _is_publish(run: RunShell) -> bool:
    return any(cmd_words(c)[:2] == ["dotnet", "publish"] for c in run.script.commands)


def runtime_tag(ref: ImageRef, version: str) -> str:
    """The runtime images' tag for the target framework ``version`` with the SDK tag's
    OS variant (``8.0.100-bookworm-slim`` -> ``<version>-bookworm-slim``)."""
    tag = (ref.tag or "latest").lower()
    if ref.digest:
        raise Blocked(f"{ref.text} pins a digest: its OS variant cannot be read")
    m = re.fullmatch(r"\d+\.\d+(?:\.\d+)?(?:-(preview|rc)[\w.]*)?(-[a-z][\w.-]*)?", tag)
    if m is None:
        raise Blocked(f"the tag of {ref.text} does not say which SDK version it is")
    if m.group(1):
        raise Blocked(f"{ref.text} is a preview SDK")
    variant = m.group(2) or ""
    if "nanoserver" in variant or "windowsservercore" in variant:
        raise Blocked(f"{ref.text} is a Windows image")
    return version + variant


def dotnet_plan(ctx: Context, final: Stage) -> Plan:
    tree, style = ctx.tree, ctx.style
    ref = parse_image_ref(final.base)
    assert ref is not None
    if ref.repository != MCR + "sdk":
        raise Blocked(f"{ref.repository} is not the .NET SDK image of "
                      "mcr.microsoft.com/dotnet/sdk (the dotnet/core repositories are no "
                      "longer updated)")
    walk = walk_stage(ctx, final, _is_publish, "/")
    copies: list[tuple[Instruction, str]] = []
    here = "/"
    for ins in final.body:
        if ins.start >= walk.build.ins.start:
            break
        if ins.keyword == "WORKDIR" and ins.value:
            here = posixpath.normpath(posixpath.join(here, ins.value[0]))
        if ins.keyword in ("COPY", "ADD"):
            copies.append((ins, here))
    for run in walk.runs_before:
        _check_prep(run)
    cwd = _build_cwd(walk.build, here)  # WORKDIR at the build (walk.workdir: the last)
    words = next(cmd_words(c) for c in walk.build.script.commands
                 if cmd_words(c)[:2] == ["dotnet", "publish"])
    project_arg, config, output, framework, props = _publish_args(words)
    if ctx.build is None:
        raise Blocked("without the build context the project file cannot be read (its SDK "
                      "decides between the aspnet and runtime images)")
    project_path, text = _project_file(ctx, copies, cwd, project_arg)
    sdk, tfm, assembly = _read_project(text, project_path, framework, props)
    version = _framework_version(tfm)
    image = f"{MCR}{_SDK_IMAGES[sdk]}:{runtime_tag(ref, version)}"
    project_dir = posixpath.dirname(project_path)
    if output is not None:
        publish = posixpath.normpath(posixpath.join(cwd, output))
    else:
        if config is None:
            # `dotnet publish` builds Release by default for .NET 8+ projects, Debug before.
            config = "Release" if int(version.split(".")[0]) >= 8 else "Debug"
        publish = posixpath.join(project_dir, "bin", config, tfm, "publish")
    dll = posixpath.join(publish, f"{assembly}.dll")
    head, argv = image_command(walk.keep, "no CMD or ENTRYPOINT runs the app")
    workdir = walk.workdir or "/"
    if len(argv) < 2 or argv[0] not in ("dotnet", "/usr/bin/dotnet", "/usr/share/dotnet/dotnet"):
        raise Blocked(f"line {head.start_line}: {head.keyword} does not run `dotnet <dll>`")
    if not PLAIN_WORD.fullmatch(argv[1]) or posixpath.normpath(
            posixpath.join(workdir, argv[1])) != dll:
        raise Blocked(f"line {head.start_line}: {head.keyword} runs {argv[1]}, but the "
                      f"publish output is {dll}")
    if workdir != publish:
        _check_content_root(ctx, copies, workdir, project_dir)
    env_lines, keep_lines, dropped = _settings(ctx, walk.keep, version)
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("dotnet", builder, from_edit)
    plan.protected = [publish]
    kind = "ASP.NET Core" if _SDK_IMAGES[sdk] == "aspnet" else ".NET"
    plan.moved = [f"the publish folder {publish} (`dotnet publish` of {project_path}, "
                  f"{assembly}.dll), at the same path",
                  f"base {image} (the {kind} runtime of the project's target framework "
                  f"{tfm}: {sdk} project; no SDK, sources or NuGet cache)"]
    kept = [next(ln for ln in line.split("\n") if not ln.lstrip().startswith("#"))
            .split(None, 1)[0].upper() for line in env_lines + keep_lines]
    if kept:
        plan.moved.append("the image settings " + ", ".join(dict.fromkeys(kept)))
    if dropped:
        plan.notes.append(f"Left in the builder: {', '.join(dropped)} (SDK and NuGet "
                          "settings).")
    plan.notes.append("A non-root USER is left to DO604 (root-user).")
    lines = keep_lines + env_lines
    args = [block(tree, a) for a in walk.args] if any("$" in x for x in lines) else []
    plan.runtime = render("dotnet", style, {
        "image": image, "builder": builder, "workdir": walk.workdir, "env": env_lines,
        "publish": publish, "args": args, "keep": keep_lines})
    return plan


def _check_prep(run: RunShell) -> None:
    for cmd in run.script.commands:
        words = cmd_words(cmd)
        if not words:
            if cmd.words:
                raise Blocked(f"line {run.ins.start_line}: a command name comes from a "
                              "variable")
            continue
        if words[0] == "dotnet" and (len(words) < 2 or words[1] not in _DOTNET_SUBCOMMANDS):
            raise Blocked(f"line {run.ins.start_line}: `{' '.join(words[:2])}` may make "
                          "something the app needs at run time")
        if words[:3] == ["dotnet", "tool", "install"] and ("-g" in words
                                                           or "--global" in words):
            raise Blocked(f"line {run.ins.start_line}: a global dotnet tool would not be in "
                          "the runtime image")
        if words[0] not in _PREP_COMMANDS:
            raise Blocked(f"line {run.ins.start_line}: `{' '.join(words[:3])}` may make "
                          "something the app needs at run time")


def _build_cwd(run: RunShell, workdir: str) -> str:
    """The folder `dotnet publish` runs in (a plain `cd` before it is followed); raises
    on other commands around it."""
    cwd = workdir
    seen = False
    line = run.ins.start_line
    for cmd in run.script.commands:
        words = cmd_words(cmd)
        if not words:
            continue
        if words[:2] == ["dotnet", "publish"]:
            if seen:
                raise Blocked(f"line {line}: the RUN publishes twice")
            seen = True
            continue
        if seen:
            if words[0] not in _AFTER_BUILD_OK:
                raise Blocked(f"line {line}: `{words[0]}` runs after the publish and may "
                              "make something the app needs at run time")
            continue
        if words[0] == "cd":
            if len(words) != 2 or "$" in words[1]:
                raise Blocked(f"line {line}: `cd` without a plain folder")
            cwd = posixpath.normpath(posixpath.join(cwd, words[1]))
        elif words[0] == "dotnet" and len(words) > 1 and words[1] in ("restore", "build",
                                                                    "test"):
            continue
        elif words[0] not in ("echo", "true", "ls"):
            raise Blocked(f"line {line}: `{words[0]}` before the publish may make something "
                          "the app needs at run time")
    return cwd


def _publish_args(words: list[str]
                  ) -> tuple[str | None, str | None, str | None, str | None, dict[str, str]]:
    """(project argument, configuration, output, framework, -p properties)."""
    project: str | None = None
    config: str | None = None
    output: str | None = None
    framework: str | None = None
    props: dict[str, str] = {}
    i = 2
    while i < len(words):
        w = words[i]
        flag, eq, value = w.partition("=") if w.startswith("--") else (w, "", "")
        if w.startswith(("-p:", "/p:", "-property:", "--property:")):
            for part in w.split(":", 1)[1].split(";"):
                key, _, val = part.partition("=")
                props[key.strip()] = val.strip()
            i += 1
            continue
        if flag in _VALUE_FLAGS and w.startswith("-"):
            if not eq:
                if i + 1 >= len(words):
                    raise Blocked(f"dotnet publish {flag} has no value")
                value = words[i + 1]
                i += 1
            if "$" in value:
                raise Blocked(f"dotnet publish {flag} comes from a variable")
            if flag in ("-c", "--configuration"):
                config = value
            elif flag in ("-o", "--output"):
                output = value
            elif flag in ("-f", "--framework"):
                framework = value
            elif flag in ("-r", "--runtime", "-a", "--arch", "--os"):
                raise Blocked(f"dotnet publish {flag} publishes for a runtime identifier "
                              "(the output may be self-contained, for runtime-deps)")
        elif flag in ("--self-contained", "--sc"):
            raise Blocked("a self-contained publish runs on runtime-deps, not on a .NET "
                          "runtime image")
        elif not w.startswith("-"):
            if project is not None:
                raise Blocked("dotnet publish names more than one project")
            project = w
        i += 1
    for key in _OTHER_OUTPUTS:
        if props.get(key, "").lower() not in ("", "false"):
            raise Blocked(f"-p:{key} makes another kind of output")
    return project, config, output, framework, props


def _project_file(ctx: Context, copies: list[tuple[Instruction, str]], cwd: str,
                  arg: str | None) -> tuple[str, str]:
    """The project file `dotnet publish` builds (image path) and its text."""
    build = ctx.build
    assert build is not None
    if arg is not None and arg.endswith(_PROJECT_EXT):
        path = posixpath.normpath(posixpath.join(cwd, arg))
    else:
        if arg is not None and arg.endswith((".sln", ".slnx")):
            raise Blocked("dotnet publish of a solution publishes every project in it")
        folder = posixpath.normpath(posixpath.join(cwd, arg or "."))
        rel = context_path(copies, folder, ctx)
        if rel is None:
            raise Blocked(f"{folder} does not come from the build context")
        names = [n for n in build.listdir(rel) if n.endswith(_PROJECT_EXT)]
        if len(names) != 1:
            sln = [n for n in build.listdir(rel) if n.endswith(".sln")]
            raise Blocked(f"{folder} has {len(names)} project files"
                          + (" and a solution" if sln else "") + ": which one publishes "
                          "is not certain")
        path = posixpath.join(folder, names[0])
    rel = context_path(copies, path, ctx)
    text = ctx.read_context_file(rel) if rel is not None else None
    if text is None:
        raise Blocked(f"{path} does not come from the build context")
    return path, text


def _read_project(text: str, where: str, framework: str | None, props: dict[str, str]
                  ) -> tuple[str, str, str]:
    """(SDK, target framework, assembly name) of a project file."""
    if re.search(r"<!(DOCTYPE|ENTITY)", text):
        raise Blocked(f"{where} declares a DOCTYPE/entities")
    try:
        root = ET.fromstring(text.lstrip("\ufeff"))
    except ET.ParseError as exc:
        raise Blocked(f"{where} does not parse") from exc
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    sdk = root.get("Sdk", "").split("/", 1)[0].strip()
    if root.find("Sdk") is not None or root.find("Import") is not None:
        raise Blocked(f"{where} imports other SDKs or targets")
    if sdk not in _SDK_IMAGES:
        raise Blocked(f"{where} uses the SDK {sdk or '(none)'}, which has no mapped runtime "
                      "image")
    values: dict[str, str] = {}
    for group in root.findall("PropertyGroup"):
        if group.get("Condition"):
            continue
        for el in group:
            if isinstance(el.tag, str):
                values[el.tag] = (el.text or "").strip()
    values.update(props)
    for key in _OTHER_OUTPUTS:
        if values.get(key, "").lower() not in ("", "false"):
            raise Blocked(f"{where} sets {key}, which makes another kind of output")
    if values.get("OutputType", "Exe").lower() not in ("exe", "winexe"):
        raise Blocked(f"{where} builds a {values['OutputType']}, not an app")
    if any(ref.get("Include") == "Microsoft.AspNetCore.App"
           for ref in root.iter("FrameworkReference")):
        sdk = "Microsoft.NET.Sdk.Web"  # the shared ASP.NET Core framework: aspnet
    tfm = framework or values.get("TargetFramework")
    if not tfm:
        if values.get("TargetFrameworks"):
            raise Blocked(f"{where} targets several frameworks and dotnet publish names "
                          "none (-f)")
        raise Blocked(f"{where} sets no TargetFramework (Directory.Build.props may)")
    assembly = values.get("AssemblyName") or posixpath.splitext(posixpath.basename(where))[0]
    if "$" in tfm or "$" in assembly or not PLAIN_WORD.fullmatch(assembly):
        raise Blocked(f"{where}: the target framework or assembly name is computed")
    return sdk, tfm, assembly


def _framework_version(tfm: str) -> str:
    m = re.fullmatch(r"(?:net|netcoreapp)(\d+)\.(\d+)(-[\w.]+)?", tfm)
    if m is None:
        raise Blocked(f"the target framework {tfm} has no .NET runtime image (.NET "
                      "Framework and netstandard do not run on Linux images)")
    if m.group(3):
        raise Blocked(f"the target framework {tfm} is platform specific")
    major, minor = int(m.group(1)), int(m.group(2))
    if (major, minor) < (3, 1) or major == 4:
        raise Blocked(f"{tfm} has no image under mcr.microsoft.com/dotnet/")
    return f"{major}.{minor}"


def _check_content_root(ctx: Context, copies: list[tuple[Instruction, str]], workdir: str,
                        project_dir: str) -> None:
    """ASP.NET Core's and the generic host's content root is the working directory:
    when the app does not run from its publish folder, files such as appsettings.json
    are read from WORKDIR, where the builder has the project's copies and the runtime
    would have nothing."""
    build = ctx.build
    assert build is not None
    rel = context_path(copies, workdir, ctx)
    if rel is None:
        return
    for name in build.listdir(rel):
        if name in ("wwwroot", "Views", "Pages") or re.fullmatch(
                r"appsettings(\.[\w-]+)?\.json|.*\.(json|xml|config)", name):
            if name.endswith(_PROJECT_EXT) or name in ("global.json",
                                                       "packages.lock.json"):
                continue
            raise Blocked(f"the app runs from {workdir}, not its publish folder, and reads "
                          f"files such as {name} from its working directory (the content "
                          "root), which the runtime would not have there")


def _settings(ctx: Context, keep: list[Instruction], version: str
              ) -> tuple[list[str], list[str], list[str]]:
    dropped: list[str] = []
    kept: list[Instruction] = []
    for ins in keep:
        kw = ins.keyword
        if kw == "ENV":
            keys = [ins.value[i] for i in range(0, len(ins.value), 2)]
            build_keys = [k for k in keys if _BUILD_ENV.fullmatch(k)]
            if build_keys and len(build_keys) == len(keys):
                dropped.append(f"ENV {' '.join(keys)}")
                continue
            # Mixed with app variables: kept whole (harmless in the runtime).
            if any(k in ("PATH", "DOTNET_ROOT", "LD_LIBRARY_PATH") for k in keys):
                raise Blocked(f"line {ins.start_line}: ENV sets a path that differs in the "
                              "runtime image")
        if kw == "USER" and ins.value:
            user = ins.value[0].split(":")[0]
            known = {"root"} | ({"app"} if int(version.split(".")[0]) >= 8 else set())
            if not user.isdigit() and user not in known:
                raise Blocked(f"USER {user} is not a user of the runtime image")
        if kw == "HEALTHCHECK":
            words = set(re.findall(r"[\w.+-]+", ins.args.text))
            missing = sorted(words & set(FULL_ONLY_TOOLS))
            if missing:
                raise Blocked(f"HEALTHCHECK uses {missing[0]}, which the .NET runtime "
                              "images lack")
        kept.append(ins)
    env_lines, keep_lines = settings_lines(ctx.tree, kept)
    if last(kept, "ENTRYPOINT") is None and last(kept, "CMD") is None:
        raise Blocked("no CMD or ENTRYPOINT")
    return env_lines, keep_lines, dropped

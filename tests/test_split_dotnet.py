"""DO101 for .NET (transforms/split/dotnet.py): `dotnet publish` in the SDK image; the
publish folder on `mcr.microsoft.com/dotnet/aspnet:N` (Web SDK) or `runtime:N`, N from
the project's TargetFramework. No SDK can be fetched here: no e2e build."""

from __future__ import annotations

from pathlib import Path

import pytest
from splitcase import checked_output
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context as _context

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Safety
from dockopt.transforms.images import parse_image_ref
from dockopt.transforms.split.common import Blocked
from dockopt.transforms.split.dotnet import runtime_tag

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "single-stage-build"

DOTNET = """\
FROM mcr.microsoft.com/dotnet/sdk:8.0
WORKDIR /src
COPY . .
RUN dotnet publish -c Release -o /app
WORKDIR /app
EXPOSE 8080
ENTRYPOINT ["dotnet", "Api.dll"]
"""


def _proj(sdk: str = "Microsoft.NET.Sdk.Web", tfm: str = "net8.0", extra: str = "") -> str:
    return (f'<Project Sdk="{sdk}">\n  <PropertyGroup>\n    <TargetFramework>{tfm}'
            f"</TargetFramework>\n{extra}  </PropertyGroup>\n</Project>\n")


def _ctx(tmp_path: Path, files: dict[str, str] | None = None) -> BuildContext:
    base = {"Api.csproj": _proj(), "Program.cs": "app.Run();\n"}
    base.update(files or {})
    return _context(tmp_path, {k: v for k, v in base.items() if v})


def _blocked(text: str, build: BuildContext | None) -> str:
    f = _only(text, build)
    assert f.fix is None, f.fix
    assert ".NET toolchain" in f.message and "Suggestion only" in f.message
    return f.message


def test_web_project_goes_to_aspnet(tmp_path: Path) -> None:
    build = _ctx(tmp_path)
    f = _only(DOTNET, build)
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    out = checked_output(DOTNET, f, build)
    runtime = parse(out).stages[1]
    assert runtime.base == "mcr.microsoft.com/dotnet/aspnet:8.0"
    assert [i.keyword for i in runtime.body] == ["WORKDIR", "COPY", "EXPOSE", "ENTRYPOINT"]
    assert list(runtime.body[1].value) == ["/app", "/app"]
    assert "Microsoft.NET.Sdk.Web project" in f.fix.message


@pytest.mark.parametrize(("sdk", "tfm", "image"), [
    ("Microsoft.NET.Sdk", "net8.0", "mcr.microsoft.com/dotnet/runtime:8.0"),
    ("Microsoft.NET.Sdk.Worker", "net9.0", "mcr.microsoft.com/dotnet/runtime:9.0"),
    ("Microsoft.NET.Sdk.Web", "net6.0", "mcr.microsoft.com/dotnet/aspnet:6.0"),
    ("Microsoft.NET.Sdk.Web", "netcoreapp3.1", "mcr.microsoft.com/dotnet/aspnet:3.1"),
])
def test_sdk_type_and_target_framework_decide_the_image(tmp_path: Path, sdk: str, tfm: str,
                                                         image: str) -> None:
    out = _split(DOTNET, _ctx(tmp_path, {"Api.csproj": _proj(sdk, tfm)}))
    assert f"FROM {image}\n" in out


def test_framework_reference_to_aspnetcore_means_aspnet(tmp_path: Path) -> None:
    proj = ('<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n    <TargetFramework>'
            'net8.0</TargetFramework>\n  </PropertyGroup>\n  <ItemGroup>\n'
            '    <FrameworkReference Include="Microsoft.AspNetCore.App" />\n  </ItemGroup>\n'
            '</Project>\n')
    out = _split(DOTNET, _ctx(tmp_path, {"Api.csproj": proj}))
    assert "FROM mcr.microsoft.com/dotnet/aspnet:8.0\n" in out


def test_default_publish_folder_and_assembly_name(tmp_path: Path) -> None:
    text = DOTNET.replace(" -c Release -o /app", "").replace("WORKDIR /app\n", "") \
        .replace('"Api.dll"', '"bin/Release/net8.0/publish/Gateway.dll"')
    build = _ctx(tmp_path, {"Api.csproj": _proj(extra="    <AssemblyName>Gateway"
                                                "</AssemblyName>\n")})
    out = _split(text, build)
    assert "COPY --from=build /src/bin/Release/net8.0/publish /src/bin/Release/net8.0/" \
           "publish" in out


def test_project_argument_and_os_variant(tmp_path: Path) -> None:
    text = DOTNET.replace("sdk:8.0", "sdk:8.0.404-alpine3.20") \
        .replace("-o /app", "src/Api/Api.csproj -o /app")
    out = _split(text, _context(tmp_path, {"src/Api/Api.csproj": _proj()}))
    assert "FROM mcr.microsoft.com/dotnet/aspnet:8.0-alpine3.20\n" in out


@pytest.mark.parametrize(("tag", "version", "expected"), [
    ("8.0", "8.0", "8.0"), ("8.0-bookworm-slim", "8.0", "8.0-bookworm-slim"),
    ("9.0.100-noble", "6.0", "6.0-noble"), ("8.0-azurelinux3.0", "8.0", "8.0-azurelinux3.0"),
])
def test_runtime_tag(tag: str, version: str, expected: str) -> None:
    ref = parse_image_ref(f"mcr.microsoft.com/dotnet/sdk:{tag}")
    assert ref is not None
    assert runtime_tag(ref, version) == expected


@pytest.mark.parametrize(("tag", "reason"), [
    ("latest", "does not say"), ("9.0-preview", "preview"),
    ("8.0-nanoserver-ltsc2022", "Windows"),
])
def test_runtime_tag_refusals(tag: str, reason: str) -> None:
    ref = parse_image_ref(f"mcr.microsoft.com/dotnet/sdk:{tag}")
    assert ref is not None
    with pytest.raises(Blocked, match=reason):
        runtime_tag(ref, "8.0")


def test_build_only_env_stays_in_the_builder(tmp_path: Path) -> None:
    text = DOTNET.replace("EXPOSE", "ENV NUGET_XMLDOC_MODE=skip\nENV ASPNETCORE_URLS=http://+:8080"
                          "\nEXPOSE")
    f = _only(text, _ctx(tmp_path))
    assert f.fix is not None and "Left in the builder: ENV NUGET_XMLDOC_MODE" in f.fix.message
    runtime = parse(checked_output(text, f, _ctx(tmp_path))).stages[1]
    assert [i.original for i in runtime.body if i.keyword == "ENV"] == \
        ["ENV ASPNETCORE_URLS=http://+:8080"]


def test_full_pipeline(tmp_path: Path) -> None:
    result = fix(DOTNET, path="Dockerfile", context=_ctx(tmp_path),
                 settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert not result.errors
    tree = parse(result.text)
    assert len(tree.stages) == 2
    assert tree.stages[-1].base == "mcr.microsoft.com/dotnet/aspnet:8.0"
    again = fix(result.text, path="Dockerfile", context=_ctx(tmp_path / "again"),
                settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert again.text == result.text


@pytest.mark.parametrize(("change", "files", "reason"), [
    (("-o /app", "-r linux-x64 -o /app"), {}, "runtime identifier"),
    (("-o /app", "--self-contained -o /app"), {}, "self-contained"),
    (("-o /app", "-p:PublishSingleFile=true -o /app"), {}, "PublishSingleFile"),
    (("-o /app", "-o /app"), {"Api.csproj": _proj(extra="    <PublishAot>true</PublishAot>\n")},
     "PublishAot"),
    (("-o /app", "-o /app"), {"Api.csproj": _proj(tfm="net48")}, "no .NET runtime image"),
    (("-o /app", "-o /app"), {"Api.csproj": _proj(tfm="net8.0-windows")},
     "platform specific"),
    (("-o /app", "-o /app"), {"Api.csproj": _proj("Microsoft.NET.Sdk.BlazorWebAssembly")},
     "no mapped runtime image"),
    (("-o /app", "-o /app"), {"Api.csproj": '<Project Sdk="Microsoft.NET.Sdk.Web">'
                              '<PropertyGroup><TargetFrameworks>net8.0;net6.0'
                              '</TargetFrameworks></PropertyGroup></Project>'},
     "several frameworks"),
    (("-o /app", "-o /app"), {"Other.csproj": _proj()}, "2 project files"),
    (("-o /app", "App.sln -o /app"), {}, "solution"),
    (('"Api.dll"', '"Other.dll"'), {}, "but the publish output is /app/Api.dll"),
    (('["dotnet", "Api.dll"]', '["./Api"]'), {}, "does not run `dotnet <dll>`"),
    (('WORKDIR /app\nEXPOSE 8080\nENTRYPOINT ["dotnet", "Api.dll"]',
      'EXPOSE 8080\nENTRYPOINT ["dotnet", "/app/Api.dll"]'), {"appsettings.json": "{}"},
     "content root"),
    (("EXPOSE", "RUN ./migrate.sh\nEXPOSE"), {}, "a RUN after the build"),
    (("COPY . .", "COPY . .\nRUN npm ci"), {}, "`npm ci` may make"),
    (("EXPOSE", "HEALTHCHECK CMD curl -f http://localhost:8080/\nEXPOSE"), {},
     "HEALTHCHECK uses curl"),
    (("EXPOSE", "USER web\nEXPOSE"), {}, "USER web"),
    (("sdk:8.0", "sdk:latest"), {}, "does not say which SDK version"),
    (("mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com/dotnet/core/sdk:3.1"), {},
     "no longer updated"),
])
def test_blockers(tmp_path: Path, change: tuple[str, str], files: dict[str, str],
                  reason: str) -> None:
    text = DOTNET.replace(*change)
    msg = _blocked(text, _ctx(tmp_path, files))
    assert reason in msg, msg


def test_user_app_exists_from_8(tmp_path: Path) -> None:
    text = DOTNET.replace("EXPOSE", "USER app\nEXPOSE")
    _split(text, _ctx(tmp_path))
    msg = _blocked(text, _ctx(tmp_path / "b", {"Api.csproj": _proj(tfm="net6.0")}))
    assert "USER app" in msg


def test_no_context_is_a_suggestion() -> None:
    msg = _blocked(DOTNET, None)
    assert "without the build context the project file cannot be read" in msg


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("dotnet-*")))
def test_golden_dotnet_cases_are_checked_splits(case: str) -> None:
    folder = GOLDEN / case
    text = (folder / "Dockerfile").read_text()
    build = BuildContext(folder / "context", dockerfile=str(folder / "Dockerfile")) \
        if (folder / "context").is_dir() else None
    f = _only(text, build)
    if (folder / "expected.Dockerfile").is_file():
        assert f.fix is not None
        assert checked_output(text, f, build) == (folder / "expected.Dockerfile").read_text()
    else:
        assert f.fix is None and "Suggestion only" in f.message

"""Which files count as Windows builds (shellfix.windows_file), where shell rules hold back.

`# escape=`` alone is not a Windows signal (issue 14): Linux Dockerfiles use it to keep
backslashes literal. The base image, a cmd/powershell SHELL, or the escape together
with drive-letter paths are.
"""

from __future__ import annotations

import dockerfile
import pytest

from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import check, fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Context
from dockopt.transforms.shellfix import windows_file


def _windows(text: str) -> bool:
    return windows_file(Context(tree=parse(text), settings=Settings()))


@pytest.mark.parametrize("text", [
    "# escape=`\nFROM debian:12\nRUN echo hi\n",
    "FROM debian:12\nRUN echo hi\n",
    "# escape=`\nFROM ${BASE}\nRUN apt-get install -y curl\n",
    # PowerShell Core runs on Linux: pwsh is not a Windows signal.
    'FROM debian:12\nSHELL ["pwsh", "-Command"]\nRUN Write-Host hi\n',
    # A drive path without the escape directive: a hint only, not enough alone.
    "FROM debian:12\nWORKDIR C:/app\n",
])
def test_not_windows(text: str) -> None:
    assert not _windows(text)


@pytest.mark.parametrize("text", [
    "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir\n",
    "FROM microsoft/nanoserver\nRUN dir\n",
    "FROM mcr.microsoft.com/dotnet/framework/sdk:4.8-windowsservercore-ltsc2019\n",
    'FROM ${BASE}\nSHELL ["powershell", "-Command"]\nRUN Write-Host hi\n',
    'FROM ${BASE}\nSHELL ["cmd", "/S", "/C"]\nRUN dir\n',
    "# escape=`\nFROM ${BASE}\nWORKDIR C:\\app\nRUN apt-get install -y curl\n",
    "# escape=`\nFROM ${BASE}\nCOPY app c:/tools/app\n",
])
def test_windows(text: str) -> None:
    assert _windows(text)


def test_backtick_escape_on_debian_gets_the_shell_rules_with_its_own_continuations() -> None:
    text = ("# escape=`\nFROM debian:12\nRUN apt-get update && apt-get install -y curl `\n"
            "    jq\nCMD [\"jq\", \"--version\"]\n")
    findings, _ = check(text)
    codes = {f.code for f in findings}
    assert {"DO204", "DO201"} <= codes
    assert not any("Windows" in f.message for f in findings)
    result = fix(text, settings=Settings())
    assert not result.errors
    assert "rm -rf /var/lib/apt/lists/*" in result.text
    # The continuation the fix adds uses the file's escape character, not a backslash.
    assert "jq && `\n    rm -rf /var/lib/apt/lists/*" in result.text
    assert "\\\n" not in result.text
    dockerfile.parse_string(result.text)
    assert fix(result.text, settings=Settings()).text == result.text


def test_windows_build_keeps_the_shell_rules_quiet() -> None:
    text = ("# escape=`\nFROM ${BASE}\nWORKDIR C:\\app\n"
            "RUN apt-get update && apt-get install -y curl\n")
    findings, _ = check(text)
    assert not {"DO201", "DO204"} & {f.code for f in findings}
    assert fix(text, settings=Settings()).text == text

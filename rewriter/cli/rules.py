"""`dockopt rules` and `dockopt rule`: the rules and their documentation."""

from __future__ import annotations

import json
import sys

import click

from dockopt.rewriter.cli.common import fail, print_line, write_to

# --- rules -------------------------------------------------------------------------


@click.command("rules")
@click.option("--output-format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
def rules_command(output_format: str) -> None:
    """List every rule: code, name, fix safety (`-`: reported only) and summary."""
    from dockopt.rewriter.rules_doc import all_rules, rule_record, rules_table

    rules = all_rules()
    if output_format == "json":
        print_line(json.dumps([rule_record(cls) for cls in rules], indent=2, ensure_ascii=False))
    else:
        write_to(sys.stdout, rules_table(rules))


@click.command("rule")
@click.argument("code")
@click.option("--output-format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
def rule_command(code: str, output_format: str) -> None:
    """Explain one rule (by code or name): its documentation."""
    from dockopt.rewriter.rules_doc import docstring, find_rule, rule_record, rule_text

    cls = find_rule(code)
    if cls is None:
        from dockopt.rewriter.cli.options import is_hadolint_code

        if is_hadolint_code(code.upper()):
            fail(f"`{code}` is a hadolint rule with no dockopt equivalent (`dockopt rules "
                 "--output-format json` lists the hadolint codes each rule covers)")
        fail(f"unknown rule `{code}` (see `dockopt rules`)")
    if code.upper() not in (cls.code, cls.name.upper()) and code != cls.name:
        write_to(sys.stderr, f"{code.upper()} (hadolint) is covered by {cls.code} "
                             f"{cls.name}\n")
    if output_format == "json":
        print_line(json.dumps({**rule_record(cls), "explanation": docstring(cls)}, indent=2,
                        ensure_ascii=False))
    else:
        write_to(sys.stdout, rule_text(cls))



"""The wordstat command line."""

import collections
import sys

import click

from wordstat import __version__


@click.command()
@click.version_option(__version__, prog_name="wordstat")
@click.option("--top", default=3, show_default=True, help="How many frequent words to show.")
@click.argument("files", nargs=-1, type=click.File("r"))
def main(top: int, files: tuple) -> None:
    """Count lines, words and characters of FILES (or stdin)."""
    streams = files or (sys.stdin,)
    lines = words = chars = 0
    counter: collections.Counter = collections.Counter()
    for stream in streams:
        for line in stream:
            lines += 1
            chars += len(line)
            tokens = line.split()
            words += len(tokens)
            counter.update(t.lower().strip(".,;:!?") for t in tokens)
    click.echo(f"{lines} lines, {words} words, {chars} chars")
    for word, count in counter.most_common(top):
        click.echo(f"  {word}: {count}")

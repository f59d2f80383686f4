"""The wordstat command line."""

import collections
import sys

import click

from wordstat import __version__


@click.command()
@click.version_option(__version__, prog_name="wordstat")
@click.option("--top", default=3, show_default=True, help="How many frequent words to show.")
@click.option("--table", is_flag=True, help="Print the frequent words as a table.")
@click.argument("files", nargs=-1, type=click.File("r"))
def main(top: int, table: bool, files: tuple) -> None:
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
    if table:
        # Imported here: rich is only needed for the table output.
        from rich.console import Console
        from rich.table import Table

        grid = Table("word", "count")
        for word, count in counter.most_common(top):
            grid.add_row(word, str(count))
        Console().print(grid)
        return
    for word, count in counter.most_common(top):
        click.echo(f"  {word}: {count}")

"""BuildKit's reading of one logical instruction line, re-implemented in Python.

The lossless tree (``syntax.py``) owns bytes; this module answers "what does
BuildKit think this instruction means?".  It mirrors the behaviour of BuildKit's
``frontend/dockerfile/parser`` (``splitCommand``, ``extractBuilderFlags``, the
per-instruction line parsers and heredoc detection), quirks included, because the
tests hold our semantic view equal to BuildKit's own parser (the ``dockerfile``
package) on every corpus file.  Where BuildKit works on bytes rather than runes
(flag parsing), we reproduce that too, so non-ASCII flags compare equal.

Everything here is pure and works on ``str``; offsets are ``str`` indices.
"""

from __future__ import annotations

import json

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass

# Go's unicode.IsSpace: the Latin-1 spaces plus Unicode White_Space.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_GO_SPACE_SET = frozenset(GO_SPACE)
# BuildKit's tokenWhitespace / reWhitespace: `[\t\v\f\r ]+`.
_TOKEN_WS = lazy(r"[\t\v\f\r ]+")
# Flag parsing converts single bytes to runes, so only these bytes count as space.
_BYTE_SPACE = frozenset("\t\n\v\f\r \x85\xa0")

# The instructions BuildKit knows, mapped to the line parser it dispatches to.
_DISPATCH = {
    "add": "list",
    "copy": "list",
    "volume": "list",
    "arg": "name_or_nameval",
    "cmd": "maybe_json",
    "entrypoint": "maybe_json",
    "run": "maybe_json",
    "shell": "maybe_json",
    "env": "env",
    "label": "label",
    "expose": "whitespace",
    "from": "whitespace",
    "healthcheck": "health",
    "maintainer": "string",
    "stopsignal": "string",
    "user": "string",
    "workdir": "string",
    "onbuild": "subcommand",
}
KNOWN_INSTRUCTIONS = frozenset(k.upper() for k in _DISPATCH)
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})


class BuildKitError(Exception):
    """BuildKit rejects the instruction; the message is BuildKit's wording."""


class _NotStringArray(BuildKitError):
    pass


@dataclass(frozen=True, slots=True)
class Meaning:
    """What BuildKit's parser makes of one logical line."""

    raw_keyword: str
    flags: tuple[str, ...]
    value: tuple[str, ...]
    is_json: bool
    sub_keyword: str | None
    # Offsets into the logical line: the keyword, each flag word, and the arguments
    # after the flags (whitespace-trimmed, as BuildKit passes them on).
    keyword_span: tuple[int, int]
    flag_spans: tuple[tuple[int, int], ...]
    args_span: tuple[int, int]
    # ONBUILD's inner instruction, for heredoc eligibility and the tree's view.
    sub: Meaning | None = None


def go_trim_space(s: str) -> tuple[str, int]:
    """strings.TrimSpace; also returns how many characters were cut on the left."""
    left = s.lstrip(GO_SPACE)
    return left.rstrip(GO_SPACE), len(s) - len(left)


def _bytes_as_runes(s: str) -> str:
    """Each UTF-8 byte as one rune, as BuildKit's byte-wise flag parser sees it."""
    return s.encode("utf-8", "surrogateescape").decode("latin-1")


def _runes_as_text(s: str) -> str:
    return s.encode("latin-1").decode("utf-8", "surrogateescape")


def extract_flags(line: str) -> tuple[int, list[str], list[tuple[int, int]]]:
    """BuildKit's extractBuilderFlags.

    Returns the offset where the remaining arguments start, the flag words (quotes
    removed, backslashes resolved, exactly as BuildKit reports them) and each flag's
    span.  BuildKit walks bytes, so non-ASCII input is walked as Latin-1 runes.
    """
    ascii_only = line.isascii()
    work = line if ascii_only else _bytes_as_runes(line)
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    n = len(work)
    pos = 0
    word: list[str] = []
    word_start = 0
    blank_ok = False
    quote = ""
    phase = 0  # 0 = between words, 1 = in word, 2 = in quote
    rest = n
    while pos <= n:
        ch = work[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if ch in _BYTE_SPACE:
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or work[pos + 1] != "-":
                rest = pos
                break
            phase = 1
            word_start = pos
        if pos == n:
            text = "".join(word)
            if text != "--" and (blank_ok or text):
                words.append(text)
                spans.append((word_start, pos))
            break
        if phase == 1:
            if ch in _BYTE_SPACE:
                phase = 0
                text = "".join(word)
                if text == "--":
                    rest = pos
                    break
                if blank_ok or text:
                    words.append(text)
                    spans.append((word_start, pos))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = 2
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = work[pos]
            word.append(ch)
            pos += 1
            continue
        # phase == 2: inside quotes
        if ch == quote:
            phase = 1
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            pos += 1
            ch = work[pos]
        word.append(ch)
        pos += 1
    if not ascii_only:
        # Map byte offsets back to str offsets; flag text stays as BuildKit's runes.
        back = _runes_as_text
        rest = len(back(work[:rest]))
        spans = [(len(back(work[:a])), len(back(work[:b]))) for a, b in spans]
    return rest, words, spans


def split_command(line: str) -> tuple[str, tuple[int, int], list[str], list[tuple[int, int]],
                                      tuple[int, int]]:
    """BuildKit's splitCommand: keyword, flags and the trimmed argument text."""
    trimmed, left = go_trim_space(line)
    m = _TOKEN_WS.search(trimmed)
    if m is None:
        kw = trimmed
        kw_span = (left, left + len(kw))
        return kw, kw_span, [], [], (kw_span[1], kw_span[1])
    kw = trimmed[: m.start()]
    kw_span = (left, left + m.start())
    after = left + m.end()
    tail = trimmed[m.end():]
    rest, flags, fspans = extract_flags(tail)
    args_raw = tail[rest:]
    args, args_left = go_trim_space(args_raw)
    a0 = after + rest + args_left
    return (kw, kw_span, flags, [(after + a, after + b) for a, b in fspans],
            (a0, a0 + len(args)))


def parse_words(rest: str, escape: str) -> list[str]:
    """BuildKit's parseWords: split on spaces, keeping quotes and escapes."""
    words: list[str] = []
    word: list[str] = []
    phase = 0
    quote = ""
    blank_ok = False
    n = len(rest)
    pos = 0
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if ch in _GO_SPACE_SET:
                pos += 1
                continue
            phase = 1
        if pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == 1:
            if ch in _GO_SPACE_SET:
                phase = 0
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = 2
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        if ch == quote:
            phase = 1
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


def _reject_constant(name: str) -> object:
    # Go's encoding/json has no NaN/Infinity; make Python agree.
    raise ValueError(name)


_JSON = json.JSONDecoder(parse_constant=_reject_constant)


def parse_json(rest: str) -> tuple[str, ...] | None:
    """BuildKit's parseJSON: a JSON array of strings, decoded like Go's json.Decoder.

    Returns None when the text is not a JSON array (BuildKit then uses shell form).
    Raises when it is an array with a non-string element (BuildKit rejects that).
    Like Go's streaming decoder, text after the closing bracket is ignored.
    """
    rest = rest.lstrip(GO_SPACE)
    if not rest.startswith("["):
        return None
    try:
        value, _ = _JSON.raw_decode(rest)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list):  # pragma: no cover - starts with "["
        return None
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise _NotStringArray(
                "when using JSON array syntax, arrays must be comprised of strings only")
        out.append(item)
    return tuple(out)


def _maybe_json(rest: str) -> tuple[tuple[str, ...], bool]:
    if rest == "":
        return (), False
    parsed = parse_json(rest)
    if parsed is not None:
        return parsed, True
    return (rest,), False


def _whitespace_list(rest: str) -> tuple[str, ...]:
    if rest == "":
        return ()
    return tuple(_TOKEN_WS.split(rest))


def _name_val(rest: str, key: str, escape: str) -> tuple[str, ...]:
    words = parse_words(rest, escape)
    if not words:
        return ()
    if "=" not in words[0]:
        parts = _TOKEN_WS.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise BuildKitError(f"{key} must have two arguments")
        return parts[0], parts[1]
    out: list[str] = []
    for word in words:
        if "=" not in word:
            raise BuildKitError(
                f"Syntax error - can't find = in {json.dumps(word, ensure_ascii=False)}. "
                "Must be of the form: name=value")
        k, _, v = word.partition("=")
        out += (k, v)
    return tuple(out)


def _health(rest: str) -> tuple[tuple[str, ...], bool]:
    sep = 0
    n = len(rest)
    while sep < n and rest[sep] not in _BYTE_SPACE:
        sep += 1
    nxt = sep
    while nxt < n and rest[nxt] in _BYTE_SPACE:
        nxt += 1
    if sep == 0:
        return (), False
    cmd, is_json = _maybe_json(rest[nxt:])
    return (rest[:sep], *cmd), is_json


def interpret(line: str, escape: str) -> Meaning:
    """newNodeFromLine: the meaning of one logical line. Raises BuildKitError."""
    kw, kw_span, flags, fspans, args_span = split_command(line)
    rest = line[args_span[0]:args_span[1]]
    kind = _DISPATCH.get(kw.lower())
    value: tuple[str, ...]
    is_json = False
    sub: Meaning | None = None
    if kind is None:
        value = ("",)  # parseIgnore yields one empty node
    elif kind in ("maybe_json",):
        value, is_json = _maybe_json(rest)
    elif kind == "list":
        parsed = parse_json(rest)
        if parsed is not None:
            value, is_json = parsed, True
        else:
            value = _whitespace_list(rest)
    elif kind == "whitespace":
        value = _whitespace_list(rest)
    elif kind == "string":
        value = (rest,) if rest else ()
    elif kind == "env":
        value = _name_val(rest, "ENV", escape)
    elif kind == "label":
        value = _name_val(rest, "LABEL", escape)
    elif kind == "name_or_nameval":
        value = tuple(parse_words(rest, escape))
    elif kind == "health":
        value, is_json = _health(rest)
    else:  # onbuild
        if rest == "":
            value = ()
        else:
            inner = interpret(rest, escape)
            sub = _shift(inner, args_span[0])
            if inner.raw_keyword.lower() == "onbuild":
                # BuildKit reports a nested ONBUILD's own node, whose value is empty.
                value, is_json = (("",) if inner.sub is not None else ()), False
            else:
                value, is_json = inner.value, inner.is_json
    return Meaning(
        raw_keyword=kw,
        flags=tuple(flags),
        value=value,
        is_json=is_json,
        sub_keyword=sub.raw_keyword.upper() if sub is not None else None,
        keyword_span=kw_span,
        flag_spans=tuple(fspans),
        args_span=args_span,
        sub=sub,
    )


def _shift(m: Meaning, off: int) -> Meaning:
    def sh(span: tuple[int, int]) -> tuple[int, int]:
        return span[0] + off, span[1] + off

    return Meaning(m.raw_keyword, m.flags, m.value, m.is_json, m.sub_keyword,
                   sh(m.keyword_span), tuple(sh(s) for s in m.flag_spans), sh(m.args_span),
                   _shift(m.sub, off) if m.sub is not None else None)


# --- heredocs -----------------------------------------------------------------

_HEREDOC_WORD = lazy(r"([0-9]*)<<(-?)([^<]*)")


@dataclass(frozen=True, slots=True)
class HeredocMarker:
    name: str
    fd: int
    chomp: bool
    expand: bool


class _LexError(Exception):
    pass


def shell_words(src: str, *, raw: bool) -> list[str]:
    """A port of the parts of BuildKit's shell lexer that heredoc detection uses.

    Splits on whitespace honouring quotes and backslash escapes, with variables
    left unexpanded (BuildKit runs it with no environment and SkipUnsetEnv).
    ``raw`` keeps quotes and escapes in the words (RawQuotes/RawEscapes).
    Raises _LexError where BuildKit's lexer errors (unterminated quote or ${).
    """
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i = 0
    n = len(src)
    while i < n:
        ch = src[i]
        if ch == "'":
            j = src.find("'", i + 1)
            if j < 0:
                raise _LexError("unterminated single quote")
            word.append(src[i:j + 1] if raw else src[i + 1:j])
            in_word = True
            i = j + 1
        elif ch == '"':
            i, text = _double_quoted(src, i, raw)
            word.append(text)
            in_word = True
        elif ch == "$":
            i, text = _dollar(src, i)
            # An unexpanded variable is re-split on spaces, as an expansion would be.
            for c in text:
                if c in _GO_SPACE_SET:
                    if in_word and "".join(word):
                        words.append("".join(word))
                        word = []
                        in_word = False
                else:
                    word.append(c)
                    in_word = True
        elif ch == "\\":
            if i + 1 >= n:
                break
            word.append(src[i:i + 2] if raw else src[i + 1])
            in_word = True
            i += 2
        else:
            if ch in _GO_SPACE_SET:
                if in_word and "".join(word):  # an empty quoted word is no word
                    words.append("".join(word))
                    word = []
                    in_word = False
            else:
                word.append(ch)
                in_word = True
            i += 1
    if "".join(word):
        words.append("".join(word))
    return words


def _double_quoted(src: str, i: int, raw: bool) -> tuple[int, str]:
    out = ['"'] if raw else []
    i += 1
    n = len(src)
    while True:
        if i >= n:
            raise _LexError("unterminated double quote")
        ch = src[i]
        if ch == '"':
            if raw:
                out.append('"')
            return i + 1, "".join(out)
        if ch == "$":
            i, text = _dollar(src, i)
            out.append(text)
            continue
        if ch == "\\":
            if i + 1 >= n:
                i += 1
                continue
            nxt = src[i + 1]
            if nxt in '"$\\':
                out.append(src[i:i + 2] if raw else nxt)
                i += 2
                continue
        out.append(ch)
        i += 1


def _dollar(src: str, i: int) -> tuple[int, str]:
    """Skip a `$name` or `${...}` reference, returning it unexpanded."""
    n = len(src)
    j = i + 1
    if j < n and src[j] == "{":
        depth = 1
        k = j + 1
        while k < n:
            c = src[k]
            if c == "\\":
                k += 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return k + 1, src[i:k + 1]
            k += 1
        raise _LexError("missing '}'")
    return j, "$"


def heredoc_markers(line: str) -> list[HeredocMarker]:
    """BuildKit's heredocsFromLine: the heredocs a RUN/COPY/ADD line opens, in order."""
    if "<<" not in line:
        return []
    try:
        words = shell_words(line, raw=True)
    except _LexError:
        return []  # BuildKit ignores the lexer's error and finds no heredocs
    out: list[HeredocMarker] = []
    for word in words:
        m = _HEREDOC_WORD.fullmatch(word)
        if m is None or not m.group(3):
            continue
        rest = m.group(3)
        try:
            cooked = shell_words(rest, raw=False)
            rawest = shell_words(rest, raw=True)
        except _LexError as exc:
            raise BuildKitError(f"failed to process {rest!r}: {exc}") from None
        if len(cooked) != 1 or len(rawest) != 1:
            continue
        name = cooked[0]
        quotes = name.count("'") + name.count('"')
        raw_quotes = rawest[0].count("'") + rawest[0].count('"')
        out.append(HeredocMarker(name=name, fd=int(m.group(1) or 0),
                                 chomp=m.group(2) == "-", expand=quotes == raw_quotes))
    return out

"""The label map: ``'id: name'`` per line (mmaction2's format; ids are the score
columns of the action model and the labels of the ground truth)."""
from __future__ import annotations

import os
from typing import Iterable

from stad.errors import StadError
from stad.io.atomic import atomic_write_text


def label_map_text(labels: Iterable[str]) -> str:
    """``'id: name'`` per line, ids = label indices as in the CSV."""
    return ''.join(f'{i}: {name}\n' for i, name in enumerate(labels))


def write_label_map(path: str, labels: Iterable[str]) -> None:
    """Write :func:`label_map_text` to ``path`` atomically."""
    atomic_write_text(path, label_map_text(labels))


def read_label_map(path: str) -> dict[int, str]:
    """Read an ``'id: name'`` per line label map (``stad convert``'s and mmaction2's format).

    Blank lines are skipped.

    Raises:
        StadError: missing or empty file, a malformed line or an id given twice (named
            with its line number).
    """
    if not os.path.isfile(path):
        raise StadError(f'label map not found: {path}')
    out: dict[int, str] = {}
    lines: dict[int, int] = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            key, sep, name = line.strip().partition(':')
            key, name = key.strip(), name.strip()
            if not sep or not (key.isascii() and key.isdigit()) or not name:
                raise StadError(f'{path}:{n}: expected "id: name", got {line.strip()!r}')
            i = int(key)
            if i in out:
                raise StadError(f'{path}:{n}: id {i} given twice (line {lines[i]}: '
                                f'{out[i]!r}, line {n}: {name!r})')
            out[i], lines[i] = name, n
    if not out:
        raise StadError(f'{path}: empty label map (expected "id: name" lines)')
    return out


# ------------------------------------------------------------------ AVA's pbtxt label maps
#
# AVA ships its classes as protobuf text: ``ava_action_list_v2.2.pbtxt`` has blocks
# ``label { name: "bend/bow (at the waist)" label_id: 1 label_type: PERSON_MOVEMENT }``,
# mmaction2's and the TensorFlow object detection API's label maps
# ``item { name: "..." id: 1 }`` (optionally ``display_name: "..."``, the human-readable
# name when ``name`` is a machine id). protobuf's own text parser needs the message's
# schema, which these files do not carry (and their schemas differ), so the blocks are
# read by the small tokenizer below.

_PBTXT_BLOCKS = ('item', 'label')
_PBTXT_IDS = ('id', 'label_id')
_PBTXT_NAMES = ('display_name', 'name')  # the first one present names the class
_ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', '"': '"', "'": "'", '\\': '\\'}


def _pbtxt_tokens(text: str, path: str) -> list[tuple[str, object, int]]:
    """``(kind, value, line)`` tokens: ``'word'``, ``'str'``, ``'num'`` or the
    punctuation ``{ } : , ;`` (kind = value); ``#`` comments skipped."""
    out: list[tuple[str, object, int]] = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == '\n':
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == '#':
            while i < n and text[i] != '\n':
                i += 1
        elif c in '{}:,;':
            out.append((c, c, line))
            i += 1
        elif c in '"\'':
            start, i, buf = line, i + 1, []
            while True:
                if i >= n or text[i] == '\n':
                    raise StadError(f'{path}:{start}: unterminated string')
                if text[i] == c:
                    i += 1
                    break
                if text[i] == '\\' and i + 1 < n:
                    buf.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                    i += 2
                else:
                    buf.append(text[i])
                    i += 1
            out.append(('str', ''.join(buf), start))
        else:
            j = i
            while j < n and (text[j].isalnum() or text[j] in '_-+.'):
                j += 1
            if j == i:
                raise StadError(f'{path}:{line}: unexpected character {c!r}')
            word = text[i:j]
            kind = 'num' if word.lstrip('+-')[:1].isdigit() else 'word'
            out.append((kind, word, line))
            i = j
    return out


def read_pbtxt_label_map(path: str) -> dict[int, str]:
    """Read a protobuf-text label map: AVA's ``label { name: "..." label_id: N }``
    blocks or ``item { name: "..." id: N }`` ones (``display_name``, when present, is
    the class name); other fields (``label_type``, nested blocks) are ignored.

    Raises:
        StadError: missing or empty file, a syntax error, a block without an integer id
            or a name, or an id given twice (file and line named).
    """
    if not os.path.isfile(path):
        raise StadError(f'label map not found: {path}')
    with open(path, encoding='utf-8') as f:
        toks = _pbtxt_tokens(f.read(), path)
    out: dict[int, str] = {}
    lines: dict[int, int] = {}
    k = 0

    def expect(kind: str, what: str):
        nonlocal k
        if k >= len(toks):
            last = toks[-1][2] if toks else 1
            raise StadError(f'{path}:{last}: expected {what}, got the end of the file')
        tok = toks[k]
        if tok[0] != kind:
            raise StadError(f'{path}:{tok[2]}: expected {what}, got {tok[1]!r}')
        k += 1
        return tok

    def skip_block() -> None:  # after '{': up to the matching '}'
        nonlocal k
        depth = 1
        while depth:
            if k >= len(toks):
                raise StadError(f'{path}: a block is not closed (missing "}}")')
            depth += {'{': 1, '}': -1}.get(toks[k][0], 0)
            k += 1

    while k < len(toks):
        kind, block, start = toks[k]
        if kind != 'word' or block not in _PBTXT_BLOCKS:
            raise StadError(f'{path}:{start}: expected a label block "item {{" or '
                            f'"label {{", got {block!r}')
        k += 1
        if k < len(toks) and toks[k][0] == ':':
            k += 1
        expect('{', '"{"')
        fields: dict[str, tuple[str, str, int]] = {}  # field -> (kind, value, line)
        while True:
            if k < len(toks) and toks[k][0] == '}':
                k += 1
                break
            key = expect('word', f'a field name or "}}" closing the {block} block of line {start}')
            if k < len(toks) and toks[k][0] == ':':
                k += 1
            if k < len(toks) and toks[k][0] == '{':
                k += 1
                skip_block()
            else:
                if k >= len(toks) or toks[k][0] not in ('str', 'num', 'word'):
                    expect('str', f'a value for {key[1]!r}')
                tok = toks[k]
                k += 1
                if key[1] in fields:
                    raise StadError(f'{path}:{key[2]}: field {key[1]!r} given twice in the '
                                    f'{block} block of line {start}')
                fields[str(key[1])] = (tok[0], str(tok[1]), tok[2])
            if k < len(toks) and toks[k][0] in ',;':
                k += 1
        id_key = next((f for f in _PBTXT_IDS if f in fields), None)
        name_key = next((f for f in _PBTXT_NAMES if f in fields), None)
        if id_key is None:
            raise StadError(f'{path}:{start}: {block} block has no id '
                            f'({" or ".join(_PBTXT_IDS)})')
        if name_key is None:
            raise StadError(f'{path}:{start}: {block} block has no name '
                            f'({" or ".join(_PBTXT_NAMES)})')
        id_kind, raw_id, id_line = fields[id_key]
        if not (id_kind == 'num' and raw_id.isascii() and raw_id.isdigit()):
            raise StadError(f'{path}:{id_line}: {id_key} must be an integer >= 0, got {raw_id!r}')
        name_kind, name, name_line = fields[name_key]
        name = name.strip() if name_kind == 'str' else ''
        if not name:
            raise StadError(f'{path}:{name_line}: {name_key} must be a non-empty quoted string')
        i = int(raw_id)
        if i in out:
            raise StadError(f'{path}:{id_line}: id {i} given twice (line {lines[i]}: '
                            f'{out[i]!r}, line {id_line}: {name!r})')
        out[i], lines[i] = name, id_line
    if not out:
        raise StadError(f'{path}: empty label map (expected "item {{ name: ... id: ... }}" '
                        'blocks)')
    return out


def is_pbtxt_label_map(path: str) -> bool:
    """Whether ``path`` holds protobuf-text blocks (a ``{`` outside comments and quoted
    strings) rather than ``'id: name'`` lines."""
    with open(path, encoding='utf-8') as f:
        for line in f:
            if '{' in line.split('#', 1)[0].split('"', 1)[0]:
                return True
    return False


def read_any_label_map(path: str) -> dict[int, str]:
    """``{id: name}`` of a pbtxt label map (:func:`read_pbtxt_label_map`: a ``.pbtxt``
    file, or one with ``{`` blocks) or an ``'id: name'`` per line one
    (:func:`read_label_map`)."""
    if not os.path.isfile(path):
        raise StadError(f'label map not found: {path}')
    if path.lower().endswith('.pbtxt') or is_pbtxt_label_map(path):
        return read_pbtxt_label_map(path)
    return read_label_map(path)


def _pbtxt_quote(text: str) -> str:
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n') + '"'


def pbtxt_label_map_text(items: dict[int, str]) -> str:
    """``item { name: "..." id: N }`` blocks of ``{id: name}`` (mmaction2's and the
    TensorFlow object detection API's label map), in id order."""
    return ''.join(f'item {{\n  name: {_pbtxt_quote(name)}\n  id: {int(i)}\n}}\n'
                   for i, name in sorted(items.items()))


def write_pbtxt_label_map(path: str, items: dict[int, str]) -> None:
    """Write :func:`pbtxt_label_map_text` to ``path`` atomically."""
    atomic_write_text(path, pbtxt_label_map_text(items))

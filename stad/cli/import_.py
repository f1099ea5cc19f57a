"""``stad import cvat|ava|createml SRC --out ROOT``: annotations people have -> the
MultiSports layout ``stad run --data-root ROOT`` trains on (``import`` is a Python
keyword, hence the module name)."""
from __future__ import annotations

import importlib

from stad.cli import sub_parser

# one module per source format, each with register(import_subparsers)
FORMATS = ('import_cvat', 'import_ava', 'import_createml')


def register(sub) -> None:
    p = sub_parser(sub, 'import', help='import annotations (CVAT, AVA CSV, Create ML) into a '
                                       'dataset root',
                   description='Convert a CVAT for video 1.1 XML export, an AVA-style CSV, or '
                               'Create ML action classifier data (labelled folders or one '
                               'annotation file; stad labels the people itself) into the '
                               'MultiSports layout (videos + multisports_GT.pkl) under ROOT, '
                               'validated as `stad check` does; nothing is written if it fails.')
    fmts = p.add_subparsers(dest='format', metavar='FORMAT', required=True,
                            help='the annotation format to read')
    for name in FORMATS:
        importlib.import_module(f'stad.cli.{name}').register(fmts)


def print_summary(summary) -> int:
    """What every ``stad import`` prints: the importer's lines, then one line of totals."""
    for line in summary.lines:
        print(line)
    print(f'wrote {summary.videos} videos, {summary.tubes} tubes, {len(summary.labels)} labels '
          f'({", ".join(summary.labels)}) to {summary.layout.root}')
    return 0

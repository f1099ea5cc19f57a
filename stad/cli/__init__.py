"""The ``stad`` command line.

Each subcommand lives in its own module under ``stad.cli`` exposing
``register(subparsers)`` (adds its parser and sets ``func``) and is listed in
:data:`SUBCOMMANDS`. A subcommand's ``func(args) -> int`` parses nothing itself: it
calls library code with explicit arguments.

User errors (bad input files, missing videos, ...) raise :class:`StadError`; the CLI
prints its one-line message and exits with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import StadError

SUBCOMMANDS = [
    # module names under stad.cli, in the order `stad --help` lists them
    'run',
    'check',
    'synth',
    'convert',
    'frames',
    'train',
    'eval',
    'propose',
    'proposal_report',
    'demo',
]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    parser = argparse.ArgumentParser(
        prog='stad',
        description='Spatio-temporal action detection: MultiSports data, person '
                    'detector, SlowOnly action model, frame/video mAP, demo.')
    parser.add_argument('--version', action='version', version=f'stad {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name in SUBCOMMANDS:
        importlib.import_module(f'{__name__}.{name}').register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, 'func', None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except StadError as e:
        print(f'stad {args.command}: error: {e}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'stad {args.command}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())

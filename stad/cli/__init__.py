"""The ``stad`` command line.

Each subcommand lives in its own module under ``stad.cli`` exposing
``register(subparsers)`` (adds its parser and sets ``func``) and is listed in
:data:`SUBCOMMANDS`. A subcommand's ``func(args) -> int`` parses nothing itself: it
calls one library function (:mod:`stad.tasks`, or :mod:`stad.data` for the data verbs)
with explicit arguments.

One vocabulary (:func:`add_data_root`, :func:`add_models`): ``--data-root`` for a dataset
root, ``--det-config/--det-checkpoint`` for the person detector, ``--config/--checkpoint``
for the action model, ``--work-dir`` for what a command keeps between runs. Old spellings
still work and print one deprecation line.

User errors (bad input files, missing videos, ...) raise :class:`StadError`; the CLI
prints its one-line message and exits with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from stad.errors import StadError

SUBCOMMANDS = [
    # module names under stad.cli, in the order `stad --help` lists them
    'run',
    'check',
    'synth',
    'import_',
    'export',
    'convert',
    'frames',
    'train',
    'propose',
    'proposal_report',
    'predict',
    'eval',
    'eval_videos',
    'demo',
    'predict_videos',
]

# the command a module of SUBCOMMANDS registers where it is not the module's name with '-'
# for '_' (tests/test_cli_help.py checks every one)
_COMMAND_OF = {'import_': 'import', 'frames': 'extract-frames'}


def command_name(module: str) -> str:
    """The ``stad`` command that ``stad.cli.<module>`` registers."""
    return _COMMAND_OF.get(module, module.replace('_', '-'))


# pkg_resources' deprecation warning (mim, mmcv and the data loader workers import it):
# once, not once per process
_QUIET_WARNINGS = 'ignore:pkg_resources is deprecated:UserWarning'


class Formatter(argparse.ArgumentDefaultsHelpFormatter,
                argparse.RawDescriptionHelpFormatter):
    """Help that shows every option's default (not that of on/off flags)."""

    def _get_help_string(self, action):
        if action.nargs == 0 or action.default is None:  # flags; nothing to show
            return action.help
        return super()._get_help_string(action)


class OldSpelling(argparse._StoreAction):
    """Stores the value; if given under an option string listed in ``old`` (a dict
    ``{old: new}`` set by :func:`with_old_spellings`), prints one deprecation line."""

    old: dict = {}

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string in self.old:
            print(f'{parser.prog}: {option_string} is deprecated, use '
                  f'{self.old[option_string]}', file=sys.stderr)
        setattr(namespace, self.dest, values)


def with_old_spellings(**old: str):
    """An :class:`OldSpelling` action class for ``{'--old': '--new'}`` (pass as
    ``**{'--root': '--data-root'}``)."""
    return type('OldSpelling', (OldSpelling,), {'old': dict(old)})


def add_data_root(p, *, required: bool = True, default: str | None = None) -> None:
    """``--data-root ROOT`` (old spelling ``--root``)."""
    p.add_argument('--data-root', '--root', dest='data_root', metavar='ROOT',
                   required=required and default is None, default=default,
                   action=with_old_spellings(**{'--root': '--data-root'}),
                   help='dataset root in the MultiSports layout (old spelling: --root)')


def add_models(p, *, det: bool = False, action: bool = False, required: bool = True) -> None:
    """The model options every command spells the same way."""
    if det:
        p.add_argument('--det-config', required=required, help='mmdet person detector config')
        p.add_argument('--det-checkpoint', required=required,
                       help="the detector's weights (.pth)")
    if action:
        p.add_argument('--config', required=required, help='mmaction2 action model config')
        p.add_argument('--checkpoint', required=required,
                       help="the action model's weights (.pth)")


def sub_parser(sub, name: str, **kwargs):
    """``sub.add_parser`` with the help formatter that shows defaults."""
    return sub.add_parser(name, formatter_class=Formatter, **kwargs)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``stad`` parser with every subcommand, or only ``command``'s: ``stad
    <command>`` imports that one verb's module, not all of them (start-up: ``stad
    check`` imports no torch, whatever the other verbs' modules import)."""
    from stad import __version__
    parser = argparse.ArgumentParser(
        prog='stad', formatter_class=Formatter,
        description='Spatio-temporal action detection: MultiSports data, person '
                    'detector, SlowOnly action model, frame/video mAP, demo.')
    parser.add_argument('--version', action='version', version=f'stad {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name in SUBCOMMANDS:
        if command is None or command_name(name) == command:
            importlib.import_module(f'{__name__}.{name}').register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)
    if _QUIET_WARNINGS not in os.environ.get('PYTHONWARNINGS', ''):  # child processes
        os.environ['PYTHONWARNINGS'] = ','.join(
            w for w in (os.environ.get('PYTHONWARNINGS'), _QUIET_WARNINGS) if w)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and argv[0] in map(command_name, SUBCOMMANDS) else None
    parser = build_parser(command)
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

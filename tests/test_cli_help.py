"""Every `stad` subcommand documents every option and shows its default."""
import argparse

import pytest

from stad.cli import SUBCOMMANDS, build_parser


def _subparsers():
    sub = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)][0]
    return sub.choices


def test_every_module_is_a_subcommand():
    assert len(_subparsers()) == len(SUBCOMMANDS)


@pytest.mark.parametrize('name', sorted(_subparsers()))
def test_every_option_has_help_and_shows_its_default(name):
    parser = _subparsers()[name]
    undocumented = [a.option_strings or [a.dest] for a in parser._actions
                    if a.help is None and not isinstance(a, argparse._HelpAction)]
    assert not undocumented, f'stad {name}: options without help: {undocumented}'
    text = ''.join(parser.format_help().split())  # argparse wraps long paths at hyphens
    for a in parser._actions:
        if a.help != argparse.SUPPRESS and a.option_strings and a.nargs != 0 and \
                a.default not in (None, argparse.SUPPRESS, []):
            assert f'(default:{a.default})'.replace(' ', '') in text, (name, a.dest)


def test_each_command_builds_from_its_own_module_alone():
    """``stad <command>`` registers only that command's module (start-up): the command
    name of every module must be what it registers."""
    from stad.cli import command_name
    for module in SUBCOMMANDS:
        sub = [a for a in build_parser(command_name(module))._actions
               if isinstance(a, argparse._SubParsersAction)][0]
        assert list(sub.choices) == [command_name(module)], module


# what the data verbs and `stad --help` must not import (seconds of start-up)
HEAVY = ('torch', 'mmcv', 'mmengine', 'mmaction', 'mmdet', 'scipy', 'matplotlib')
_CHILD = '''
import sys
import stad.cli
try:
    code = stad.cli.main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print('imported:', *(m for m in {heavy!r} if m in sys.modules))
sys.exit(code)
'''


def _imports_of(*argv):
    import subprocess
    import sys
    p = subprocess.run([sys.executable, '-c', _CHILD.format(heavy=HEAVY), *argv],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout.strip().splitlines()[-1]


def test_stad_check_imports_none_of_the_stack(tmp_path):
    import pickle

    import numpy as np
    gt = tmp_path / 'gt.pkl'
    tube = np.array([[1, 10, 10, 50, 90], [2, 11, 10, 51, 90]], dtype=np.float32)
    with open(gt, 'wb') as f:
        pickle.dump(dict(labels=['a'], train_videos=[['s/v1']], test_videos=[['s/v1']],
                         nframes={'s/v1': 2}, resolution={'s/v1': (120, 160)},
                         gttubes={'s/v1': {0: [tube]}}), f)
    assert _imports_of('check', str(gt)) == (0, 'imported:')
    assert _imports_of('check', '--help') == (0, 'imported:')
    assert _imports_of('demo', '--help') == (0, 'imported:')


def test_stad_help_imports_none_of_the_stack():
    assert _imports_of('--help') == (0, 'imported:')

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

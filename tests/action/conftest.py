"""Fixtures of the action model tests (helpers in action_helpers.py)."""
import os

import pytest
from action_helpers import write_jittered_proposals


@pytest.fixture(scope='session')
def action_data(tiny_dataset, tmp_path_factory):
    """(data_root, {split: proposal pickle}) for the tiny dataset with jittered proposals."""
    root = str(tiny_dataset if isinstance(tiny_dataset, (str, os.PathLike))
               else tiny_dataset.root)
    out = str(tmp_path_factory.mktemp('action_proposals'))
    return root, write_jittered_proposals(root, out)

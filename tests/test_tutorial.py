"""The tutorial notebook runs end to end (small settings: tiny data, a few iterations)."""
import os
import sys

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, 'demo', 'stad_tutorial.ipynb')


@pytest.mark.slow
def test_tutorial_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.setenv('STAD_TUTORIAL_SMALL', '1')
    monkeypatch.setenv('STAD_TUTORIAL_WORK', str(tmp_path))
    # the notebook's shell commands call `stad` of this environment
    monkeypatch.setenv('PATH', os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name='python3',
                   resources={'metadata': {'path': ROOT}}).execute()
    assert (tmp_path / 'demo.mp4').stat().st_size > 0
    assert (tmp_path / 'eval' / 'results.json').exists()
    outputs = '\n'.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code'
                        for o in c.get('outputs', []))
    assert 'frame' in outputs and 'recall' in outputs.lower()

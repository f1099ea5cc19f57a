"""Every script under tools/ and demo/ starts and prints its usage (a script that no
longer parses or imports is caught here, not by its first user). Modules whose name starts
with an underscore are helpers imported by the scripts, not scripts."""
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = sorted(os.path.relpath(p, ROOT) for pattern in
                 ('tools/*.py', 'tools/*/*.py', 'demo/*.py')
                 for p in glob.glob(os.path.join(ROOT, pattern))
                 if not os.path.basename(p).startswith('_'))


@pytest.mark.parametrize('script', SCRIPTS)
def test_script_prints_usage(script):
    r = subprocess.run([sys.executable, script, '--help'], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.lstrip().startswith('usage:'), r.stdout[:500]

import subprocess
import sys

import stad


def test_version_and_help():
    r = subprocess.run([sys.executable, '-m', 'stad.cli', '--version'], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f'stad {stad.__version__}'
    r = subprocess.run([sys.executable, '-m', 'stad.cli', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and 'train' in r.stdout


def test_missing_config_is_a_one_line_error(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'stad.cli', 'train', str(tmp_path / 'nope.py')],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == f'stad train: error: config file not found: {tmp_path / "nope.py"}'

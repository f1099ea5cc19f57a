"""``atomic_path``: temps carry the writer's PID; temps of dead writers are removed."""
import os
import subprocess
from pathlib import Path

import pytest

from stad.errors import StadError
from stad.io.atomic import atomic_path, atomic_write_text


def _dead_pid() -> int:
    p = subprocess.Popen(['true'])
    p.wait()
    return p.pid


def test_temp_name_carries_the_pid_and_is_gone_after_the_write(tmp_path):
    out = tmp_path / 'demo.mp4'
    with atomic_path(str(out)) as tmp:
        name = os.path.basename(tmp)
        assert os.path.dirname(tmp) == str(tmp_path)
        assert name.startswith(f'.demo.{os.getpid()}.') and name.endswith('.tmp.mp4')
        open(tmp, 'w').write('x')
    assert os.listdir(tmp_path) == ['demo.mp4']


def test_stale_temps_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    dead = _dead_pid()
    stale = f'.demo.{dead}.abcd1234.tmp.mp4'  # a killed demo's
    live = f'.demo.{os.getpid()}.abcd1234.tmp.mp4'  # a writer still running
    other = f'.demo.x.{dead}.abcd1234.tmp.mp4'  # a temp of demo.x.mp4, not of demo.mp4
    old_style = '.demo.abcd1234.tmp.mp4'  # no PID: cannot tell, kept
    for name in (stale, live, other, old_style):
        (tmp_path / name).write_text('partial')
    atomic_write_text(str(tmp_path / 'demo.mp4'), 'done')
    assert sorted(os.listdir(tmp_path)) == sorted([live, other, old_style, 'demo.mp4'])
    assert (tmp_path / 'demo.mp4').read_text() == 'done'


def test_atomic_folder_is_all_or_nothing(tmp_path):
    from stad.io.atomic import atomic_folder
    out = tmp_path / 'export'
    with pytest.raises(RuntimeError):
        with atomic_folder(str(out)) as tmp:
            (Path(tmp) / 'half.txt').write_text('x')
            raise RuntimeError('killed half way')
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no out, no temp folder
    with atomic_folder(str(out)) as tmp:
        (Path(tmp) / 'a.txt').write_text('a')
    assert sorted(p.name for p in out.iterdir()) == ['a.txt']
    with pytest.raises(StadError, match='exists and is not empty .pass --overwrite'):
        with atomic_folder(str(out)):
            pass
    with atomic_folder(str(out), overwrite=True) as tmp:
        (Path(tmp) / 'b.txt').write_text('b')
    assert sorted(p.name for p in out.iterdir()) == ['b.txt']

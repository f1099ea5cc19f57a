"""``write_mp4`` checks ffmpeg's exit status: a failed encode is an error, not a file."""
import os
import subprocess
import sys

import numpy as np
import pytest

from stad.errors import StadError
from stad.io.video import write_mp4

# A child process: imports first, then a 20 kB file size limit, then 60 frames of noise
# (~140 kB of H.264), so ffmpeg (a grandchild, which inherits the limit) fails mid-way.
_CHILD = r'''
import functools, resource, signal, subprocess, sys
import numpy as np
from stad.errors import StadError
from stad.io.video import write_mp4
out, ffmpeg_ignores_sigxfsz = sys.argv[1], sys.argv[2] == '1'
if ffmpeg_ignores_sigxfsz:
    # Python's subprocess gives ffmpeg SIGXFSZ's default action (killed at the limit);
    # keep it ignored instead, so ffmpeg sees EFBIG like a full disk's ENOSPC
    subprocess.Popen = functools.partial(subprocess.Popen, restore_signals=False)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
rng = np.random.default_rng(0)
frames = (rng.integers(0, 256, (64, 64, 3), np.uint8) for _ in range(60))
try:
    write_mp4(frames, out, fps=10, size=(64, 64))
except StadError as e:
    print(e, file=sys.stderr)
    sys.exit(2)
'''


@pytest.mark.parametrize('ffmpeg_ignores_sigxfsz, reason', [
    (False, '(killed by SIGXFSZ)'),
    (True, 'File too large)'),
])
def test_write_mp4_over_a_file_size_limit_is_an_error_and_no_file(
        tmp_path, ffmpeg_ignores_sigxfsz, reason):
    out = tmp_path / 'out' / 'v.mp4'
    p = subprocess.run([sys.executable, '-c', _CHILD, str(out), str(int(ffmpeg_ignores_sigxfsz))],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    msg = p.stderr.strip().splitlines()[-1]
    assert msg.startswith(f'{out}: ffmpeg failed writing the video (') and msg.endswith(reason)
    assert os.listdir(out.parent) == []  # no truncated video under the final name, no temp


def test_write_mp4_ffmpeg_refusing_its_arguments_is_a_one_line_error(tmp_path):
    # the rate is written as '%.02f' (as moviepy did): 0.001 fps reaches ffmpeg as '-r 0.00'
    out = tmp_path / 'v.mp4'
    with pytest.raises(StadError) as e:
        write_mp4((np.zeros((8, 8, 3), np.uint8) for _ in range(5)), str(out), fps=0.001,
                  size=(8, 8))
    assert str(e.value).startswith(f'{out}: ffmpeg failed writing the video (')
    assert '\n' not in str(e.value)
    assert list(tmp_path.iterdir()) == []

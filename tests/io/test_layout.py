"""DataLayout and key formats: video ids that would leave the dataset root are refused."""
import os

import pytest

from stad.errors import StadError
from stad.io.layout import DataLayout, frame_relpath, img_key, parse_img_key

ABS = "absolute path; video ids are relative '<sport>/<video>' paths"
DOTDOT = "has a '..' component; video ids are relative '<sport>/<video>' paths"
COMMA = "holds a comma, which breaks the 'video,frame' img key and CSV rows"


@pytest.mark.parametrize('video, problem', [
    ('../../escaped', DOTDOT),
    ('gym/../../../escaped', DOTDOT),
    ('gym\\..\\..\\escaped', DOTDOT),
    ('/tmp/escaped', ABS),
    ('gym/a,b', COMMA),
    ('gym/a\nb', 'holds a control character (newline, tab, ...)'),
    ('', 'a video id must be a non-empty string, got str'),
])
def test_every_per_video_path_refuses_an_unsafe_id(tmp_path, video, problem):
    layout = DataLayout(str(tmp_path / 'root'))
    calls = [lambda: layout.video_path(video), lambda: layout.frames_of(video),
             lambda: layout.frame_path(video, 1), lambda: layout.frames_done(video),
             lambda: img_key(video, 1), lambda: frame_relpath(video, 1)]
    for call in calls:
        with pytest.raises(StadError) as e:
            call()
        assert str(e.value) == f'video {video!r}: {problem}'
    assert not os.path.exists(tmp_path / 'root')


def test_safe_ids_stay_under_the_root(tmp_path):
    root = str(tmp_path / 'root')
    layout = DataLayout(root)
    for path in (layout.video_path('gym/gym_000'), layout.frame_path('gym/gym_000', 7),
                 layout.frames_done('gym/gym_000'), layout.frames_of('gym/gym_000')):
        assert os.path.commonpath([root, os.path.abspath(path)]) == root
    assert layout.frame_path('gym/gym_000', 7) == os.path.join(root, 'rawframes', 'gym',
                                                               'gym_000', '00007.jpg')
    assert img_key('gym/gym_000', 7) == 'gym/gym_000.mp4,0007'
    assert parse_img_key(img_key('gym/gym_000', 7)) == ('gym/gym_000', 7)

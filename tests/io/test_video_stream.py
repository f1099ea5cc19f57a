"""``VideoFrames.stream``: one sequential pass that gives exactly the frames of random access."""
import numpy as np
import pytest

from stad.errors import StadError
from stad.io.video import VideoFrames, write_mp4


def _video(path, n, w, h):
    """``n`` frames of noise over a moving gradient (every frame differs), ``w`` x ``h``."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, w, dtype=np.float32)[None, :, None]

    def frames():
        for i in range(n):
            f = np.broadcast_to(ramp + 2 * i, (h, w, 3)).astype(np.uint8)
            yield np.clip(f + rng.integers(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
    write_mp4(frames(), str(path), fps=10, size=(w, h))
    return str(path)


@pytest.mark.parametrize('w, h', [(96, 72), (33, 25)])
def test_stream_gives_the_frames_of_random_access(tmp_path, w, h):
    src = VideoFrames(_video(tmp_path / 'v.mp4', 30, w, h))
    want = src.frames(range(src.num_frames))  # decord, RGB
    got = list(src.stream())
    assert [i for i, _ in got] == list(range(30))
    assert np.array_equal(np.stack([f for _, f in got]), want[..., ::-1])  # BGR
    rgb = list(src.stream(lambda i: i % 4 == 1, rgb=True))
    assert [i for i, _ in rgb] == list(range(1, 30, 4))
    assert np.array_equal(np.stack([f for _, f in rgb]), want[1::4])
    assert [i for i, _ in src.iter_frames(7)] == [0, 7, 14, 21, 28]
    assert all(np.array_equal(f, want[i]) for i, f in src.iter_frames(7))
    assert np.array_equal(src.to_rgb([f for _, f in got[3:6]]), want[3:6])


def test_stream_holds_one_frame_at_a_time(tmp_path):
    src = VideoFrames(_video(tmp_path / 'v.mp4', 20, 32, 24))
    for _, frame in src.stream():
        assert src.live_frames == 1
    # the loop variable held the previous frame while the next one was decoded
    assert src.peak_live_frames == 2 and src.live_frames == 1
    del frame
    assert src.live_frames == 0


class _ShortCapture:
    """An OpenCV capture that ends after ``stop`` frames (a container OpenCV reads short)."""

    def __init__(self, real, stop):
        self.real, self.left = real, stop

    def __getattr__(self, name):
        return getattr(self.real, name)

    def _count(self, ok):
        self.left -= 1
        return ok and self.left >= 0

    def read(self):
        ok, f = self.real.read()
        return (self._count(ok), f)

    def grab(self):
        return self._count(self.real.grab())


def test_what_opencv_does_not_give_comes_from_decord(tmp_path, monkeypatch):
    import cv2
    src = VideoFrames(_video(tmp_path / 'v.mp4', 24, 32, 24))
    want = src.frames(range(24))
    real = cv2.VideoCapture
    monkeypatch.setattr(cv2, 'VideoCapture', lambda *a: _ShortCapture(real(*a), 9))
    got = list(src.stream(lambda i: i != 12, rgb=True))
    assert [i for i, _ in got] == [i for i in range(24) if i != 12]
    assert all(np.array_equal(f, want[i]) for i, f in got)
    # OpenCV sees another frame size (e.g. it would rotate): decord gives every frame
    src.height += 2
    monkeypatch.setattr(cv2, 'VideoCapture', real)
    bgr = list(src.stream())
    assert len(bgr) == 24 and all(np.array_equal(f, want[i][..., ::-1]) for i, f in bgr)


def test_write_mp4_without_ffmpeg_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv('FFMPEG_BINARY', str(tmp_path / 'no-ffmpeg'))
    out = tmp_path / 'v.mp4'
    with pytest.raises(StadError) as e:
        write_mp4((np.zeros((8, 8, 3), np.uint8) for _ in range(2)), str(out), fps=5,
                  size=(8, 8))
    assert str(e.value).startswith(f'{out}: cannot run ffmpeg ({tmp_path}/no-ffmpeg: ')
    assert '\n' not in str(e.value) and list(tmp_path.iterdir()) == []

"""The one home of opening, probing, reading and writing videos.

* :func:`open_video`: a ``decord.VideoReader`` (RGB, random access) with one error
  message for a missing or undecodable file; :class:`VideoFrames` wraps it for the
  demo, counts decoded frames alive and also streams the video in one sequential pass
  (:meth:`VideoFrames.stream`, OpenCV: the same pixels as decord's, several times
  faster than random reads); :func:`read_batch` reads a batch without letting decord's
  read-ahead grow memory.
* :func:`iter_frame_batches`, :func:`count_frames`, :func:`video_size`: streaming
  decode and header reads with OpenCV (BGR, as mmdet's ``LoadImageFromFile`` gives).
* :func:`write_mp4`: H.264 mp4 through ffmpeg (the binary moviepy uses), atomically.
"""
from __future__ import annotations

import os
import weakref
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from stad.errors import StadError
from stad.io.atomic import atomic_path


def open_video(path: str):
    """``decord.VideoReader(path)`` (RGB frames, random access).

    Raises:
        StadError: the file is missing or cannot be decoded.
    """
    if not os.path.isfile(path):
        raise StadError(f'{path}: video not found')
    import decord
    try:
        return decord.VideoReader(path, num_threads=1)
    except Exception as e:  # decord raises its own DECORDError
        raise StadError(f'{path}: cannot decode video ({e})') from e


def read_batch(reader, inds: Sequence[int]) -> np.ndarray:
    """``reader.get_batch(inds).asnumpy()``, then ``reader.seek(0)`` if it can seek.

    decord's decoder keeps decoding ahead of the last frame read and buffers what it
    decodes, so between reads (while the models run) memory grows with the video's
    length (dmlc/decord#197, #208; measured: demo peak RSS +264 MiB from a 400- to a
    1600-frame video); seeking back to the start stops it.
    """
    frames = reader.get_batch([int(i) for i in inds]).asnumpy()
    if hasattr(reader, 'seek'):
        reader.seek(0)
    return frames


class _Batch:
    """What ``get_batch`` returns: decord's NDArray interface (``asnumpy()``)."""

    def __init__(self, array: np.ndarray):
        self._array = array

    def asnumpy(self) -> np.ndarray:
        return self._array


class VideoFrames:
    """A video's frames (uint8): random access (decord, RGB: :meth:`frames`) and one
    sequential pass (OpenCV, BGR or RGB: :meth:`stream`, :meth:`iter_frames`), counting
    the decoded frames alive.

    Every array it hands out is registered with a finalizer, so :attr:`live_frames` is
    the number of decoded frames still referenced (views included) and
    :attr:`peak_live_frames` its maximum so far. Implements ``len()`` and
    ``get_batch(indices).asnumpy()`` like ``decord.VideoReader``, so the action API
    reads clips from it directly. The frame count, rate and size are decord's.

    Raises:
        StadError: the file is missing or cannot be decoded.
    """

    def __init__(self, path: str):
        self._reader = open_video(path)
        self.path = path
        self.num_frames = len(self._reader)
        if self.num_frames == 0:
            raise StadError(f'{path}: video has no frames')
        self.fps = float(self._reader.get_avg_fps()) or 25.0
        self.height, self.width = self._reader[0].shape[:2]
        self._reader.seek(0)  # stop decord's read-ahead (see read_batch)
        self.live_frames = 0
        self.peak_live_frames = 0

    def __len__(self) -> int:
        return self.num_frames

    def _release(self, n: int) -> None:
        self.live_frames -= n

    def _track(self, array: np.ndarray, n: int | None = None) -> np.ndarray:
        """Count ``array`` (``n`` frames, default its first axis) alive until it and every
        view of it are gone."""
        n = int(array.shape[0]) if n is None else n
        self.live_frames += n
        self.peak_live_frames = max(self.peak_live_frames, self.live_frames)
        weakref.finalize(array, self._release, n)
        return array

    def frames(self, indices: Sequence[int]) -> np.ndarray:
        """Decode frames ``indices`` (0-based) -> ``(len, H, W, 3)`` uint8 RGB."""
        inds = [int(i) for i in indices]
        if inds and not (0 <= min(inds) and max(inds) < self.num_frames):
            raise StadError(f'{self.path}: frame index out of 0..{self.num_frames - 1}')
        return self._track(read_batch(self._reader, inds))

    def get_batch(self, indices: Sequence[int]) -> _Batch:
        return _Batch(self.frames(indices))

    def iter_frames(self, stride: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, RGB frame)`` for frames 0, stride, 2 * stride, ..., one at a
        time, in one sequential pass (:meth:`stream`)."""
        return self.stream(lambda i: i % stride == 0, rgb=True)

    def stream(self, wanted: Callable[[int], bool] | None = None, *, rgb: bool = False
               ) -> Iterator[tuple[int, np.ndarray]]:
        """Decode the video once, in order; yield ``(index, frame)`` for the frames
        ``wanted(index)`` accepts (all by default), BGR uint8 (``rgb=True``: RGB).

        The frames are those :meth:`frames` returns (tests/io/test_video_stream.py), read
        with OpenCV sequentially: a frame not wanted is decoded but not converted
        (``grab``), nothing is read twice and nothing ahead is buffered. Where OpenCV's
        view of the file differs from decord's (another frame size, fewer frames), the
        rest comes from decord's random access, so exactly :attr:`num_frames` frames are
        offered either way. Each yielded frame is a new array, counted in
        :attr:`live_frames` while referenced.
        """
        import cv2
        n, i = self.num_frames, 0
        cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        try:
            if cap.isOpened():
                cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)  # decord does not rotate either
                while i < n:
                    if wanted is not None and not wanted(i):
                        if not cap.grab():
                            break
                        i += 1
                        continue
                    ok, frame = cap.read()
                    if not ok or frame.shape != (self.height, self.width, 3):
                        break
                    if rgb:
                        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                    yield i, self._track(frame, 1)
                    del frame  # before the next frame is decoded
                    i += 1
        finally:
            cap.release()
        for s in range(i, n, 8):  # what OpenCV did not give, from decord
            inds = [j for j in range(s, min(s + 8, n)) if wanted is None or wanted(j)]
            if not inds:
                continue
            batch = read_batch(self._reader, inds)
            for j, frame in zip(inds, batch):
                yield j, self._track(np.ascontiguousarray(frame if rgb else frame[..., ::-1]), 1)
            del batch

    def to_rgb(self, frames_bgr: Sequence[np.ndarray]) -> np.ndarray:
        """``(len, H, W, 3)`` uint8 RGB copy of BGR frames (from :meth:`stream`), counted
        in :attr:`live_frames` like decoded frames."""
        import cv2
        out = np.empty((len(frames_bgr), self.height, self.width, 3), np.uint8)
        for j, f in enumerate(frames_bgr):
            cv2.cvtColor(f, cv2.COLOR_BGR2RGB, dst=out[j])
        return self._track(out)


def count_frames(path: str) -> int:
    """Frame count from the container header (no decoding); 0 if unknown."""
    import cv2
    cap = cv2.VideoCapture(path)
    try:
        return max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if cap.isOpened() else 0
    finally:
        cap.release()


def iter_frame_batches(path: str, *, stride: int = 1, batch_size: int = 8
                       ) -> Iterator[tuple[list[int], list[np.ndarray]]]:
    """Decode ``path`` in one pass; yield (1-based frame numbers, BGR frames) batches.

    Frames 1, 1 + stride, ... are decoded; the others are only demuxed (``grab``).

    Raises:
        StadError: the video cannot be opened.
    """
    import cv2
    if not os.path.isfile(path):
        raise StadError(f'{path}: video not found')
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise StadError(f'{path}: cannot decode video')
    try:
        numbers, frames = [], []
        index = 0
        while True:
            if index % stride == 0:
                ok, frame = cap.read()
                if not ok:
                    break
                numbers.append(index + 1)
                frames.append(frame)
                if len(frames) == batch_size:
                    yield numbers, frames
                    numbers, frames = [], []
            elif not cap.grab():
                break
            index += 1
        if frames:
            yield numbers, frames
    finally:
        cap.release()


def video_size(path: str) -> tuple[int, int]:
    """(h, w) of a video from its header."""
    import cv2
    cap = cv2.VideoCapture(path)
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    finally:
        cap.release()


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad to even height and width (yuv420p H.264 needs both even) by repeating the edge."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode='edge')


def ffmpeg_exe() -> str:
    """The ffmpeg binary moviepy would run: ``$FFMPEG_BINARY`` if set (``auto-detect``:
    ``ffmpeg`` on the PATH), else the one of the imageio-ffmpeg wheel."""
    exe = os.environ.get('FFMPEG_BINARY', 'ffmpeg-imageio')
    if exe == 'auto-detect':
        return 'ffmpeg'
    if exe != 'ffmpeg-imageio':
        return exe
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def write_mp4(frames: Iterable[np.ndarray], path: str, *, fps: float,
              size: tuple[int, int], on_frame: Callable[[], None] | None = None) -> int:
    """Encode RGB uint8 frames (an iterable, consumed one at a time) to an H.264 mp4.

    Written atomically: a failure leaves no partial ``path``. ffmpeg's exit status and
    error output are checked (a full disk or a file size limit would otherwise give a
    truncated, unplayable file under ``path``). ffmpeg runs with the options moviepy 2's
    writer gave it (libx264, preset veryfast, yuv420p, frame rate to 2 decimals), started
    here directly: importing moviepy took 0.3 s of the demo's start-up, and its writer's
    ``write_frame`` / ``close`` ignore ffmpeg's exit status.

    Args:
        frames: RGB (h, w, 3) uint8 frames, all of ``size``.
        path: output file (``.mp4``).
        fps: frame rate written in the file.
        size: ``(width, height)`` of the frames (odd sizes are padded to even).
        on_frame: called after each frame (progress).

    Returns:
        The number of frames written.

    Raises:
        StadError: ffmpeg failed (``path`` is left as it was).
    """
    import subprocess
    w, h = size
    n = 0
    with atomic_path(path) as tmp:
        cmd = [ffmpeg_exe(), '-y', '-loglevel', 'error', '-f', 'rawvideo', '-vcodec', 'rawvideo',
               '-s', f'{w + w % 2}x{h + h % 2}', '-pix_fmt', 'rgb24', '-r', '%.02f' % fps, '-an',
               '-i', '-', '-vcodec', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
               tmp]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as e:
            raise StadError(f'{path}: cannot run ffmpeg ({cmd[0]}: {e})') from e
        try:
            for frame in frames:
                try:
                    proc.stdin.write(np.ascontiguousarray(_even(frame)).data)
                except (BrokenPipeError, ConnectionResetError):
                    break  # ffmpeg exited: its status and stderr below say why
                n += 1
                if on_frame is not None:
                    on_frame()
        except BaseException:
            proc.kill()
            _finish_ffmpeg(proc)
            raise
        returncode, stderr = _finish_ffmpeg(proc)
        problem = _ffmpeg_problem(returncode, stderr, tmp)
        if problem:
            raise StadError(f'{path}: ffmpeg failed writing the video ({problem})')
    return n


def _finish_ffmpeg(proc) -> tuple[int, str]:
    """Close ffmpeg's stdin (end of the stream), read its stderr, wait: (status, stderr)."""
    try:
        proc.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # flushing the last frame into a dead ffmpeg
    stderr = proc.stderr.read() if proc.stderr is not None else b''
    if proc.stderr is not None:
        proc.stderr.close()
    return proc.wait(), stderr.decode(errors='replace')


def _ffmpeg_problem(returncode: int, stderr: str, written: str) -> str:
    """Why ffmpeg's run failed, '' if it did not (it runs at ``-loglevel error``, so
    anything on stderr is an error)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if returncode < 0:
        import signal
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f'signal {-returncode}'
        return f'killed by {name}' + (f': {lines[-1]}' if lines else '')
    if returncode != 0:
        return lines[-1] if lines else f'exit status {returncode}'
    if lines:
        return lines[-1]
    if not os.path.isfile(written) or os.path.getsize(written) == 0:
        return 'no output written'
    return ''

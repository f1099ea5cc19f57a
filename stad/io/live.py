"""Live video sources for ``stad demo``: a camera, a network stream, raw frames on stdin.

:func:`open_source` opens a source spec and returns a :class:`LiveSource`: its frame
rate, frame size and an iterator of ``(capture_time, frame)``, frames **BGR** uint8
``(H, W, 3)`` (what OpenCV, mmdet's detector input and ffmpeg's ``bgr24`` give) and
``capture_time`` from :func:`time.perf_counter` taken the moment the frame was read.

Specs (:func:`source_kind`):

* ``'-'``: raw video on stdin, as an ffmpeg pipe writes it: ``-f rawvideo -pix_fmt
  bgr24`` frames of exactly ``W * H * 3`` bytes, no header, so the size (``input_size``)
  and the rate (``input_fps``) must be given, e.g. ``ffmpeg -re -i in.mp4 -f rawvideo
  -pix_fmt bgr24 - | stad demo - out.mp4 --input-size 320x240 --input-fps 25``.
* a camera index (``'0'``, ``'1'``: a string of digits): OpenCV ``VideoCapture``.
* a URL, ``rtsp://``, ``rtsps://``, ``rtmp://``, ``http(s)://``, ``udp://``, ``tcp://``
  (:data:`URL_SCHEMES`): FFmpeg through PyAV (open and read bounded by ``timeout``);
  if PyAV cannot read it for another reason than the network (no PyAV, a format its
  FFmpeg build lacks), OpenCV's FFmpeg backend. ``tcp://127.0.0.1:PORT?listen=1`` waits
  for a sender (an ``ffmpeg ... -f mpegts tcp://127.0.0.1:PORT``) up to ``timeout``.
* anything else: a video file, read with PyAV and released at its own frame rate
  (``realtime=True``, as ``ffmpeg -re`` would replay it), so that it behaves as a
  camera showing the file (tests, benchmarks). ``stad demo`` itself handles files
  with the whole-video path of :mod:`stad.tasks.demo`, not with this module.

Errors are one line naming the source (:class:`StadError`); a source that stalls for
longer than ``timeout`` while reading ends its stream (one line on stderr says so).
"""
from __future__ import annotations

import re
import sys
import time
from typing import BinaryIO, Iterator

import numpy as np

from stad.errors import StadError

#: URL schemes read as network streams
URL_SCHEMES = ('rtsp', 'rtsps', 'rtmp', 'http', 'https', 'udp', 'tcp', 'srt')

#: what ``--help`` says about ``-`` (one home for the wording)
STDIN_FORMAT = ('raw frames on stdin as an ffmpeg pipe writes them: -f rawvideo -pix_fmt '
                'bgr24, each exactly W*H*3 bytes, size --input-size WxH and rate '
                '--input-fps F required')


def source_kind(spec: str) -> str:
    """``'stdin'``, ``'camera'``, ``'url'`` or ``'file'`` for a source spec (no I/O)."""
    spec = str(spec)
    if spec == '-':
        return 'stdin'
    if spec.isdigit():
        return 'camera'
    m = re.match(r'^([A-Za-z][A-Za-z0-9+.-]*)://', spec)
    if m and m.group(1).lower() in URL_SCHEMES:
        return 'url'
    return 'file'


def is_live(spec: str) -> bool:
    """A camera index, a URL or ``'-'`` (what ``stad demo`` runs in live mode)."""
    return source_kind(spec) != 'file'


def parse_size(size, what: str = '--input-size') -> tuple[int, int]:
    """``'320x240'`` or ``(320, 240)`` -> ``(width, height)``, both >= 1."""
    if isinstance(size, str):
        m = re.fullmatch(r'\s*(\d+)\s*[xX]\s*(\d+)\s*', size)
        if not m:
            raise StadError(f'{what}: expected WIDTHxHEIGHT such as 320x240, got {size!r}')
        w, h = int(m.group(1)), int(m.group(2))
    else:
        try:
            w, h = (int(v) for v in size)
        except (TypeError, ValueError):
            raise StadError(f'{what}: expected (width, height), got {size!r}') from None
    if w < 1 or h < 1:
        raise StadError(f'{what}: width and height must be >= 1, got {w}x{h}')
    return w, h


def check_spec(spec: str, *, input_size=None, input_fps: float | None = None) -> None:
    """Refuse, without opening anything, a spec that cannot work: ``'-'`` without a
    size and a rate, a bad size or rate. Cheap: callers run it before loading models."""
    kind = source_kind(spec)
    if input_size is not None:
        parse_size(input_size)
    if input_fps is not None and not (np.isfinite(input_fps) and input_fps > 0):
        raise StadError(f'--input-fps must be a finite number > 0, got {input_fps}')
    if kind == 'stdin' and (input_size is None or input_fps is None):
        missing = ' and '.join(n for n, v in (('--input-size WxH', input_size),
                                               ('--input-fps F', input_fps)) if v is None)
        raise StadError(f'-: reading raw video from stdin needs {missing} (the stream has no '
                        'header: ffmpeg ... -f rawvideo -pix_fmt bgr24 -)')


class LiveSource:
    """An open source: ``fps``, ``width``, ``height``, and :meth:`frames`.

    Attributes:
        spec: the spec it was opened from.
        kind: see :func:`source_kind`.
        fps: frame rate (the stream's, or ``input_fps``; 25 if neither says).
        width, height: frame size in pixels.
        live: ``False`` for a file (its frames are paced, not captured).
    """

    spec: str
    kind: str
    fps: float
    width: int
    height: int
    live: bool = True

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """Yield ``(capture_time, BGR frame)`` until the stream ends."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __iter__(self):
        return self.frames()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class StdinSource(LiveSource):
    """Raw ``bgr24`` frames of ``width x height`` from a binary stream (stdin)."""

    kind = 'stdin'

    def __init__(self, stream: BinaryIO, width: int, height: int, fps: float,
                 spec: str = '-'):
        self.stream, self.width, self.height, self.fps = stream, width, height, float(fps)
        self.spec = spec
        self.frame_bytes = width * height * 3
        self.partial_bytes = 0  # bytes of an incomplete last frame (dropped)

    def _read_frame(self) -> bytearray | None:
        buf = bytearray(self.frame_bytes)
        view, got = memoryview(buf), 0
        while got < self.frame_bytes:
            n = self.stream.readinto(view[got:]) if hasattr(self.stream, 'readinto') else None
            if n is None:  # a stream without readinto
                chunk = self.stream.read(self.frame_bytes - got)
                n = len(chunk)
                view[got:got + n] = chunk
            if not n:
                self.partial_bytes = got
                return None
            got += n
        return buf

    def frames(self):
        while True:
            buf = self._read_frame()
            if buf is None:
                if self.partial_bytes:
                    print(f'{self.spec}: stream ended inside a frame ({self.partial_bytes} of '
                          f'{self.frame_bytes} bytes of a {self.width}x{self.height} bgr24 '
                          'frame): check --input-size; the partial frame is dropped',
                          file=sys.stderr)
                return
            t = time.perf_counter()
            yield t, np.frombuffer(buf, np.uint8).reshape(self.height, self.width, 3)


def _resize(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or (frame.shape[1], frame.shape[0]) == size:
        return frame
    import cv2
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


class CameraSource(LiveSource):
    """An OpenCV ``VideoCapture`` (a camera index, or a URL through OpenCV's FFmpeg)."""

    def __init__(self, spec: str, cap, *, kind: str, size=None, fps: float | None = None):
        import cv2
        self.spec, self.kind, self.cap, self._size = spec, kind, cap, size
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._first = None
        if size is None and (w <= 0 or h <= 0):
            ok, frame = cap.read()
            if not ok:
                raise StadError(f'{spec}: opened but gave no frame')
            self._first = (time.perf_counter(), frame)
            h, w = frame.shape[:2]
        self.width, self.height = size if size is not None else (w, h)
        reported = float(cap.get(cv2.CAP_PROP_FPS) or 0)
        self.fps = float(fps or (reported if 0 < reported < 1000 else 25.0))

    def frames(self):
        if self._first is not None:
            t, frame = self._first
            self._first = None
            yield t, _resize(frame, self._size)
        while True:
            ok, frame = self.cap.read()
            if not ok:
                return
            yield time.perf_counter(), _resize(frame, self._size)

    def close(self):
        self.cap.release()


class AvSource(LiveSource):
    """A stream or file demuxed and decoded by PyAV (FFmpeg), frames as ``bgr24``."""

    def __init__(self, spec: str, container, *, kind: str, size=None,
                 fps: float | None = None, realtime: bool = False, timeout: float):
        self.spec, self.kind, self.container, self._size = spec, kind, container, size
        self.timeout = timeout  # the read timeout ``container`` was opened with
        self.live = kind != 'file'
        self.realtime = realtime
        streams = container.streams.video
        if not streams:
            container.close()
            raise StadError(f'{spec}: no video stream')
        self.stream = streams[0]
        cc = self.stream.codec_context
        self._frames = self._decode()
        self._first = None
        w, h = int(cc.width or 0), int(cc.height or 0)
        if size is None and (w <= 0 or h <= 0):
            self._first = next(self._frames, None)
            if self._first is None:
                raise StadError(f'{spec}: opened but gave no frame')
            h, w = self._first[1].shape[:2]
        self.width, self.height = size if size is not None else (w, h)
        rate = self.stream.average_rate or self.stream.guessed_rate or self.stream.base_rate
        self.fps = float(fps or (float(rate) if rate and 0 < float(rate) < 1000 else 25.0))

    def _decode(self):
        import av
        try:
            for frame in self.container.decode(self.stream):
                yield time.perf_counter(), _resize(frame.to_ndarray(format='bgr24'), self._size)
        except (av.error.ExitError, av.error.EOFError, TimeoutError) as e:
            if self.live:  # ExitError: PyAV's read timeout interrupted FFmpeg
                why = (f'no data for {self.timeout:g} s' if isinstance(e, av.error.ExitError)
                       else f'stream stopped ({e})')
                print(f'{self.spec}: {why}: end of the stream', file=sys.stderr)
                return
            raise StadError(f'{self.spec}: cannot decode video ({e})') from e
        except av.error.FFmpegError as e:
            if self.live:
                print(f'{self.spec}: stream error ({e}): end of the stream', file=sys.stderr)
                return
            raise StadError(f'{self.spec}: cannot decode video ({e})') from e

    def frames(self):
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        if not self.realtime:
            yield from self._frames
            return
        start = None
        for i, (_, frame) in enumerate(self._frames):
            now = time.perf_counter()
            start = now if start is None else start
            wait = start + i / self.fps - now
            if wait > 0:  # released at the file's own rate, as ffmpeg -re does
                time.sleep(wait)
            yield time.perf_counter(), frame

    def close(self):
        self.container.close()


def _network_error(e: BaseException) -> bool:
    """PyAV failed for a reason OpenCV's FFmpeg would share: refused, unreachable, timed
    out (PyAV's timeout interrupts with ExitError), name resolution."""
    import errno

    import av
    if isinstance(e, (ConnectionError, TimeoutError, av.error.ExitError)):
        return True
    return getattr(e, 'errno', None) in (errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EHOSTUNREACH,
                                         errno.ENETUNREACH, errno.EIO)


def _open_av(spec: str, kind: str, *, size, fps, timeout: float, realtime: bool) -> AvSource:
    import av
    options = {'rtsp_transport': 'tcp'} if spec.lower().startswith('rtsp') else {}
    container = av.open(spec, options=options, timeout=(timeout, timeout))
    return AvSource(spec, container, kind=kind, size=size, fps=fps, realtime=realtime,
                    timeout=timeout)


def _open_cv2(spec: str, kind: str, *, size, fps, timeout: float) -> CameraSource:
    import cv2
    silent = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        if kind == 'camera':
            cap = cv2.VideoCapture(int(spec))
        else:
            ms = int(timeout * 1000)
            cap = cv2.VideoCapture(spec, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms,
                                                          cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
    finally:
        cv2.utils.logging.setLogLevel(silent)
    if not cap.isOpened():
        cap.release()
        what = f'camera {spec}' if kind == 'camera' else spec
        raise StadError(f'{what}: cannot open' + (' (no such camera, or busy)'
                                                  if kind == 'camera' else ''))
    return CameraSource(spec, cap, kind=kind, size=size, fps=fps)


def open_source(spec: str, *, input_size=None, input_fps: float | None = None,
                timeout: float = 10.0, stream: BinaryIO | None = None,
                realtime: bool = True) -> LiveSource:
    """Open a source spec (module docstring) -> :class:`LiveSource` (frames BGR).

    Args:
        spec: ``'-'``, a camera index, a URL or a video file.
        input_size: ``'WxH'`` or ``(w, h)``: the frame size of ``'-'`` (required); for
            other sources, frames are resized to it.
        input_fps: the rate of ``'-'`` (required); for other sources it replaces the
            rate the stream reports.
        timeout: seconds a URL may take to open, and to deliver data while reading.
        stream: the binary stream ``'-'`` reads (default ``sys.stdin.buffer``).
        realtime: release a file's frames at its own rate (a file only).

    Raises:
        StadError: a bad spec or option (:func:`check_spec`), a camera that does not open,
            a URL that cannot be opened within ``timeout`` or has no video stream, a file
            that is missing or undecodable.
    """
    check_spec(spec, input_size=input_size, input_fps=input_fps)
    kind = source_kind(spec)
    size = parse_size(input_size) if input_size is not None else None
    if kind == 'stdin':
        return StdinSource(stream if stream is not None else sys.stdin.buffer, *size,
                           fps=input_fps)
    if kind == 'camera':
        return _open_cv2(spec, kind, size=size, fps=input_fps, timeout=timeout)
    if kind == 'file':
        import os
        if not os.path.isfile(spec):
            raise StadError(f'{spec}: video not found')
    try:
        import av  # noqa: F401
    except ImportError:
        if kind == 'file':
            raise StadError(f'{spec}: reading a file as a live source needs PyAV (av)') from None
        return _open_cv2(spec, kind, size=size, fps=input_fps, timeout=timeout)
    try:
        return _open_av(spec, kind, size=size, fps=input_fps, timeout=timeout,
                        realtime=realtime and kind == 'file')
    except StadError:
        raise
    except Exception as e:  # PyAV's FFmpegError family, OSError
        reason = str(e).split(": '")[0] or type(e).__name__
        if kind == 'file':
            raise StadError(f'{spec}: cannot decode video ({reason})') from e
        if _network_error(e):
            raise StadError(f'{spec}: cannot open the stream within {timeout:g} s ({reason})'
                            ) from e
        try:
            return _open_cv2(spec, kind, size=size, fps=input_fps, timeout=timeout)
        except StadError:
            raise StadError(f'{spec}: cannot open the stream (PyAV: {reason}; OpenCV: '
                            'cannot open either)') from e

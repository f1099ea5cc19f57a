"""``stad demo`` on live sources (stad.io.live, stad.tasks.live), without a camera.

Streams are tiny videos (96x72) replayed at their own frame rate: through an ffmpeg pipe
(``ffmpeg -re ... -f rawvideo -pix_fmt bgr24 -``, imageio-ffmpeg's binary), as MPEG-TS
over loopback TCP, HTTP or UDP, over RTSP from GStreamer's RTSP server, or a file paced by
:func:`stad.io.live.open_source`. The models have random weights: these tests check flow,
drops, latency bounds, files and messages, not accuracy. In-process runs use a stub person
detector (one box on the moving rectangle, score 0.95) so that every keyframe has a
tracked person for the action model.
Network traffic goes to 127.0.0.1 only; every subprocess and run is bounded in time.
"""
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from stad.apis.video import DemoOptions, KeyframeResult, track_segments
from stad.errors import StadError
from stad.io.live import LiveSource, check_spec, open_source, parse_size, source_kind
from stad.io.video import write_mp4
from stad.tasks.live import DropQueue, SegmentBuilder, run_live
from stad.tasks.run import SYNTH_ACTION_CONFIG, SYNTH_DET_CONFIG

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DET_CONFIG = os.path.join(ROOT, SYNTH_DET_CONFIG)
ACTION_CONFIG = os.path.join(ROOT, SYNTH_ACTION_CONFIG)
STAD = [sys.executable, '-m', 'stad.cli']
W, H = 96, 72


def make_video(path, n, fps=20):
    """A bright rectangle moving right over a grey background, ``n`` frames of W x H."""
    def frames():
        for i in range(n):
            f = np.full((H, W, 3), 90, np.uint8)
            f[20:60, 5 + i % 60:25 + i % 60] = (200, 60, 40)
            yield f
    write_mp4(frames(), str(path), fps=fps, size=(W, H))
    return str(path)


def ffmpeg():
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def num_frames(path) -> int:
    import decord
    return len(decord.VideoReader(path))


def stub_detector(frames):
    """One person box around the bright rectangle of :func:`make_video`, score 0.95."""
    out = []
    for f in frames:
        cols = np.where(f[40, :, 2] > 150)[0]  # BGR frames: the rectangle's red is 200
        x0 = float(cols.min()) if len(cols) else 5.0
        out.append(np.array([[x0, 20, x0 + 20, 60, 0.95]], np.float32))
    return out


@pytest.fixture(scope='module')
def models(tiny_models, tmp_path_factory):
    """(stub detector, random-weight action model) for in-process runs, past torch's first
    calls: those took ~1 s in a test's own warm-up, while its network source backed up,
    so that test's keyframes could all be dropped (1 run in ~20 of the TCP case)."""
    from stad.apis.action import load_action_model
    pair = stub_detector, load_action_model(ACTION_CONFIG, tiny_models[1])
    d = tmp_path_factory.mktemp('warm')
    run_live(make_video(d / 'in.mp4', 10, fps=25), str(d / 'out.mp4'), options=OPTS,
             models=pair, progress=False)
    return pair


OPTS = DemoOptions(det_score_thr=0.0, action_score_thr=0.0, keyframe_stride=4, batch_size=2,
                   max_persons=3, track_init_thr=0.0)


def model_args(tiny_models):
    det_ckpt, act_ckpt = tiny_models
    return ['--det-config', DET_CONFIG, '--det-checkpoint', det_ckpt, '--config',
            ACTION_CONFIG, '--checkpoint', act_ckpt, '--det-score-thr', '0',
            '--action-score-thr', '0', '--keyframe-stride', '4', '--batch-size', '2']


def start_stad_on_pipe(args, *, new_session=False):
    """``stad demo - ...`` reading a pipe; returns (process, write end of the pipe)."""
    r, w = os.pipe()
    proc = subprocess.Popen(STAD + args, stdin=r, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, start_new_session=new_session)
    os.close(r)
    return proc, w


def wait_ready(proc, timeout=60.0) -> str:
    """Read stad's stderr until its 'live from' line (models loaded, reading starts)."""
    seen, end = b'', time.monotonic() + timeout
    while b'live from' not in seen:
        left = end - time.monotonic()
        assert left > 0 and proc.poll() is None, seen.decode(errors='replace')[-2000:]
        if select.select([proc.stderr], [], [], min(left, 0.5))[0]:
            chunk = os.read(proc.stderr.fileno(), 4096)
            assert chunk, seen.decode(errors='replace')[-2000:]
            seen += chunk
    return seen.decode(errors='replace')


def replay(video, w):
    """``ffmpeg -re -i video -f rawvideo -pix_fmt bgr24`` into the pipe's write end ``w``."""
    proc = subprocess.Popen([ffmpeg(), '-loglevel', 'error', '-re', '-readrate_initial_burst',
                             '0', '-i', video, '-f',
                             'rawvideo', '-pix_fmt', 'bgr24', '-'], stdout=w,
                            stdin=subprocess.DEVNULL)
    os.close(w)
    return proc


# ----------------------------------------------------------------------- sources, no model

def test_source_specs_and_one_line_errors(tmp_path):
    assert [source_kind(s) for s in ('-', '0', '12', 'rtsp://h/x', 'UDP://1.2.3.4:5',
                                     'tcp://127.0.0.1:9', 'https://x/y.m3u8', 'v.mp4',
                                     'c:/v.mp4')] == \
        ['stdin', 'camera', 'camera', 'url', 'url', 'url', 'url', 'file', 'file']
    assert parse_size('320x240') == (320, 240) == parse_size((320, 240))
    with pytest.raises(StadError, match='WIDTHxHEIGHT'):
        parse_size('320by240')
    with pytest.raises(StadError, match=r'^-: .*needs --input-size WxH and --input-fps F'):
        check_spec('-')
    with pytest.raises(StadError, match=r'needs --input-fps F \('):
        check_spec('-', input_size='96x72')
    with pytest.raises(StadError, match=r'^camera 7: cannot open'):
        open_source('7')
    port = free_port()  # nothing listens there
    for url in (f'tcp://127.0.0.1:{port}', f'udp://127.0.0.1:{port}'):
        t = time.monotonic()
        with pytest.raises(StadError) as e:
            open_source(url, timeout=1.0)
        assert str(e.value).startswith(f'{url}: cannot open') and '\n' not in str(e.value)
        assert time.monotonic() - t < 8


def test_stdin_reader_reads_exact_frames():
    import io
    frames = [np.full((3, 4, 3), i, np.uint8) for i in range(3)]
    raw = b''.join(f.tobytes() for f in frames) + b'\x01' * 5  # a partial 4th frame
    src = open_source('-', input_size='4x3', input_fps=10, stream=io.BytesIO(raw))
    got = list(src.frames())
    assert (src.width, src.height, src.fps) == (4, 3, 10.0)
    assert [int(f[0, 0, 0]) for _, f in got] == [0, 1, 2] and got[0][1].shape == (3, 4, 3)
    assert src.partial_bytes == 5
    assert all(a[0] <= b[0] for a, b in zip(got, got[1:]))  # capture times in order


def test_drop_queue_and_segments_as_track_segments():
    q = DropQueue(2, 'q', spare=lambda x: x % 4 == 0)
    assert [q.put(i) for i in range(5)] == [None, None, 1, 2, 3]  # 0 spared, then dropped
    assert q.dropped == 3 and q.peak == 2 and q.get_many(5, 0.01) == [0, 4]
    q.close()
    assert q.get_many(1, 0.01) is None
    # the incremental segments are the ones track_segments gives on the same results
    rng = np.random.default_rng(0)
    results, builder = [], SegmentBuilder(fps=25)
    for f in range(60):
        ids = np.array([t for t in (1, 2, 3) if rng.random() < 0.8 and (t < 3 or f < 30)],
                       np.int64)
        acts = tuple(((('walk', 'wave')[int(rng.random() < 0.3)], float(rng.random())),)
                     if rng.random() < 0.9 else () for _ in ids)
        results.append(KeyframeResult(frame_index=f, boxes=np.zeros((len(ids), 4)),
                                      det_scores=np.zeros(len(ids)), track_ids=ids,
                                      actions=acts))
        builder.add(f + 1, ids, acts)
        if f == 45:
            builder.close_track(3)  # track 3 ended at frame 30: its open run is closed
    got, want = builder.segments(), track_segments(results, 25)
    assert len(got) == len(want) > 10
    for g, e in zip(got, want):  # mean scores: a running sum vs np.mean, rounded
        assert {**g, 'mean_score': 0} == {**e, 'mean_score': 0}
        assert g['mean_score'] == pytest.approx(e['mean_score'], abs=1e-4)


# ------------------------------------------------------------------------ live runs

def test_ffmpeg_pipe_into_stad_demo(tmp_path, tiny_models):
    # the user's command: ffmpeg -re ... -f rawvideo -pix_fmt bgr24 - | stad demo - out.mp4
    video = make_video(tmp_path / 'in.mp4', 40, fps=20)
    out, ev, seg = tmp_path / 'out.mp4', tmp_path / 'ev.jsonl', tmp_path / 'seg.json'
    stad, w = start_stad_on_pipe(['demo', '-', str(out), '--input-size', f'{W}x{H}',
                                  '--input-fps', '20', '--events', str(ev), '--segments',
                                  str(seg), '--quiet'] + model_args(tiny_models))
    feeder = None
    try:
        err = wait_ready(stad)  # models loaded: now replay in real time
        feeder = replay(video, w)
        stdout, rest = stad.communicate(timeout=60)
    finally:
        for p in (stad, feeder):
            if p is not None and p.poll() is None:
                p.kill()
    err += rest.decode(errors='replace')
    assert stad.returncode == 0, err[-2000:]
    report = stdout.decode()
    assert f'{out}: 40 frames {W}x{H} at 20 fps from - (live; stopped by end of stream)' \
        in report
    for part in ('real-time factor', 'latency ms p50/p95: read', 'detect+track', 'action',
                 'draw+write', 'end-to-end (capture -> rendered frame)', 'keyframes:',
                 'dropped', 'detector frames:'):
        assert part in report, report
    assert num_frames(str(out)) == 40
    rtf = float(report.split('real-time factor ')[1].split()[0])
    # kept up with the source (above 1: ffmpeg's -re let the first frames through in a
    # burst while it started, on a loaded machine)
    assert rtf > 0.7, report
    assert json.loads(seg.read_text())['live'] is True
    for line in ev.read_text().splitlines():
        e = json.loads(line)
        assert 1 <= e['frame'] <= 40 and len(e['box']) == 4


def test_slow_action_stage_drops_keyframes_not_queues(tmp_path, models):
    # the action model is made 0.4 s slower per call than it is: it cannot keep up with a
    # keyframe every 4 frames at 25 fps (0.16 s), so keyframes must be dropped, the queues
    # stay within their bounds, labels stay fresh and every frame is still written
    video = make_video(tmp_path / 'in.mp4', 75, fps=25)
    out = str(tmp_path / 'out.mp4')
    s = run_live(video, out, options=OPTS, models=models, progress=False,
                 stage_delay={'action': 0.4}, action_queue=2, max_seconds=30)
    assert s.frames_captured == s.frames_written == 75 == num_frames(out)
    assert s.frames_dropped_writer == 0
    assert s.keyframes_dropped > 0 and s.keyframes_dropped_by['action queue'] > 0
    assert s.keyframes_processed >= 2
    assert s.keyframes_processed + s.keyframes_dropped + s.keyframes_unfinished == s.keyframes
    for name, q in s.queues.items():
        assert q['peak'] <= q['bound'], name
    assert s.queues['action']['bound'] == 2
    # queued, the last of ~17 keyframes would wait ~16 x 0.4 s; dropped, a keyframe waits
    # for its clip (4 frames), at most two calls and its own
    assert s.latency_ms['capture_to_labels']['max'] < 2500, s.latency_ms
    assert s.latency_ms['end_to_end']['p95'] < 1000, s.latency_ms
    assert 0.8 < s.real_time_factor < 1.2
    assert s.latency_ms['action']['p50'] >= 400


@pytest.mark.parametrize('fail_at, delay', [(4, None), (6, 0.5)])
def test_a_failing_stage_writes_nothing(tmp_path, models, fail_at, delay):
    """The detector fails early, or (0.5 s a call) after the 2.4 s stream has ended and
    every frame went to the encoder: no mp4 either way."""
    calls = []

    def broken_detector(frames):
        calls.append(len(frames))
        if len(calls) >= fail_at:
            raise StadError('detector broke')
        return stub_detector(frames)

    video = make_video(tmp_path / 'in.mp4', 60, fps=25)
    out = tmp_path / 'out' / 'out.mp4'
    with pytest.raises(StadError, match='^detector broke$'):
        run_live(video, str(out), options=OPTS, models=(broken_detector, models[1]),
                 progress=False, max_seconds=20,
                 stage_delay={'detect': delay} if delay else None)
    assert not (tmp_path / 'out').exists() or os.listdir(tmp_path / 'out') == []


def child_pids() -> list[int]:
    """This process's child processes (Linux: /proc/self/task/*/children)."""
    pids = []
    for tid in os.listdir('/proc/self/task'):
        try:
            with open(f'/proc/self/task/{tid}/children') as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return pids


class InterruptAt(LiveSource):
    """A source that, at frame ``at``, does what Ctrl-C in a terminal does: SIGINT to
    this process (its main thread runs the supervisor) and to its children (the
    encoder: the terminal signals the whole foreground process group)."""

    def __init__(self, source, at):
        self.source, self.at = source, at
        for name in ('spec', 'kind', 'fps', 'width', 'height', 'live'):
            setattr(self, name, getattr(source, name))

    def frames(self):
        for i, item in enumerate(self.source.frames()):
            if i == self.at:
                for pid in child_pids():
                    os.kill(pid, signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)
            yield item


INTERRUPTED_RUN = """
import json, sys
sys.path.insert(0, sys.argv[4])
import test_live as t
from stad.apis.action import load_action_model
from stad.io.live import open_source
from stad.tasks.live import run_live
video, out, ckpt = sys.argv[1:4]
models = (t.stub_detector, load_action_model(t.ACTION_CONFIG, ckpt))
s = run_live(t.InterruptAt(open_source(video), 30), out, options=t.OPTS, models=models,
             progress=False, max_seconds=30)
print(json.dumps(dict(stopped_by=s.stopped_by, frames_written=s.frames_written)))
"""


@pytest.mark.skipif(not os.path.exists(f'/proc/self/task/{os.getpid()}/children'),
                    reason='needs /proc/<pid>/task/<tid>/children')
def test_interrupt_writes_the_frames_so_far(tmp_path, tiny_models):
    """Ctrl-C at frame 30 of a 10 s replay: the mp4 holds the frames so far. In a process
    of its own: a real SIGINT in the test process, after ONNX Runtime and OpenVINO ran
    there (tests/apis/test_runtime.py), crashed it."""
    video = make_video(tmp_path / 'in.mp4', 250, fps=25)  # 10 s, interrupted at 1.2 s
    out = tmp_path / 'out.mp4'
    r = subprocess.run([sys.executable, '-c', INTERRUPTED_RUN, video, str(out), tiny_models[1],
                        os.path.dirname(os.path.abspath(__file__))],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s['stopped_by'] == 'interrupt'
    assert 30 <= s['frames_written'] == num_frames(str(out)) < 60  # the encoder finished it


def test_bad_sources_fail_in_one_line_and_write_nothing(tmp_path, tiny_models, capsys):
    out = tmp_path / 'out.mp4'
    r = subprocess.run(STAD + ['demo', '-', str(out)] + model_args(tiny_models),
                       capture_output=True, text=True, timeout=60, cwd=ROOT,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert r.stderr.strip().splitlines()[-1] == (
        'stad demo: error: -: reading raw video from stdin needs --input-size WxH and '
        '--input-fps F (the stream has no header: ffmpeg ... -f rawvideo -pix_fmt bgr24 -)')
    # a stream that does not open fails before any model loads (the configs do not exist)
    port = free_port()
    for url in (f'tcp://127.0.0.1:{port}', f'udp://127.0.0.1:{port}'):
        with pytest.raises(StadError, match=rf'^{url}: cannot open the stream within 1 s'):
            run_live(url, str(out), det_config='no.py', det_checkpoint='no.pth',
                     config='no.py', checkpoint='no.pth', source_timeout=1.0, progress=False)
    with pytest.raises(StadError, match='^camera 7: cannot open'):
        run_live('7', str(out), det_config='no.py', det_checkpoint='no.pth',
                 config='no.py', checkpoint='no.pth', progress=False)
    from stad.cli import main
    with pytest.raises(SystemExit):
        main(['demo', '--help'])
    help_text = ' '.join(capsys.readouterr().out.split())
    assert '- (raw frames on stdin as an ffmpeg pipe writes them: -f rawvideo -pix_fmt ' \
        'bgr24, each exactly W*H*3 bytes, size --input-size WxH and rate --input-fps F ' \
        'required)' in help_text and 'ffmpeg -re -i in.mp4 -f rawvideo' in help_text
    assert main(['demo', 'in.mp4', str(out), '--max-frames', '3'] + model_args(tiny_models)) == 2
    assert 'in.mp4: --max-frames: only for a live source' in capsys.readouterr().err
    assert os.listdir(tmp_path) == []  # no output, no temp file


def _bound(port: int, proto: str) -> bool:
    """Something on this machine listens on (tcp) or is bound to (udp) ``port``: read from
    /proc/net, since a probe connection would be taken by the one-client servers."""
    state = '0A' if proto == 'tcp' else '07'  # TCP_LISTEN; an unconnected UDP socket
    for path in (f'/proc/net/{proto}', f'/proc/net/{proto}6'):
        if os.path.exists(path):
            for line in open(path).read().splitlines()[1:]:
                f = line.split()
                if int(f[1].rsplit(':', 1)[1], 16) == port and f[3] == state:
                    return True
    return False


def _wait_bound(port: int, proto: str, stop: threading.Event) -> None:
    end = time.monotonic() + 20
    while not _bound(port, proto) and time.monotonic() < end and not stop.wait(0.02):
        pass


@pytest.mark.skipif(not os.path.exists('/proc/net/tcp'), reason='needs /proc/net (Linux)')
@pytest.mark.parametrize('proto', ['tcp', 'http', 'udp'])
def test_mpegts_over_loopback(tmp_path, models, proto, capfd):
    # tcp: stad listens (tcp://...?listen=1) and ffmpeg connects to it; http: ffmpeg serves
    # the stream (-listen 1), as an IP camera does, and stad is its client; udp: stad binds
    # the port and ffmpeg sends datagrams to it
    video = make_video(tmp_path / 'in.mp4', 50, fps=25)
    port = free_port()
    url, target = {'tcp': (f'tcp://127.0.0.1:{port}?listen=1', [f'tcp://127.0.0.1:{port}']),
                   'http': (f'http://127.0.0.1:{port}/live.ts',
                            ['-listen', '1', f'http://127.0.0.1:{port}/live.ts']),
                   'udp': (f'udp://127.0.0.1:{port}', [f'udp://127.0.0.1:{port}?pkt_size=1316'])
                   }[proto]
    senders, stop = [], threading.Event()

    def start_sender():  # tcp, udp: once stad has bound the port, so no frame is lost
        if proto != 'http':
            _wait_bound(port, proto, stop)
        if not stop.is_set():
            senders.append(subprocess.Popen(
                [ffmpeg(), '-loglevel', 'quiet', '-re', '-i', video, '-c:v', 'libx264',
                 '-preset', 'ultrafast', '-tune', 'zerolatency', '-f', 'mpegts', *target],
                stdin=subprocess.DEVNULL))

    t = threading.Thread(target=start_sender, daemon=True)
    t.start()
    if proto == 'http':  # stad connects once ffmpeg listens
        _wait_bound(port, 'tcp', stop)
    try:
        s = run_live(url, str(tmp_path / 'out.mp4'), options=OPTS, models=models,
                     progress=False, max_seconds=20, source_timeout=3)
    finally:
        stop.set()
        t.join(5)
        for p in senders:
            if p.poll() is None:
                p.kill()
    assert (s.size, s.fps) == ((W, H), 25.0)
    assert s.stopped_by == 'end of stream'
    assert s.frames_written == 50 == num_frames(str(tmp_path / 'out.mp4'))
    assert s.keyframes_processed > 0 and s.tracks >= 1
    if proto == 'udp':  # udp has no end: the read timeout ends it, and says so
        assert f'{url}: no data for 3 s: end of the stream' in capfd.readouterr().err


GST_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'gst_rtsp_server.py')
GST_PACKAGES = ('python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good '
                'gstreamer1.0-plugins-bad')


def gst_python() -> str | None:
    """The system Python, if it has GStreamer's RTSP server bindings (Debian's
    ``GST_PACKAGES``; a venv cannot see them)."""
    exe = '/usr/bin/python3'
    probe = ("import gi; gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import GstRtspServer")
    if os.path.exists(exe) and subprocess.run([exe, '-c', probe], capture_output=True,
                                              timeout=60).returncode == 0:
        return exe
    return None


def test_rtsp_from_a_camera_like_server(tmp_path, models, capfd):
    # an IP camera is an RTSP server and stad its client (RTP over TCP, as stad asks)
    py = gst_python()
    if py is None:
        pytest.skip(f'needs GStreamer RTSP server bindings: apt-get install {GST_PACKAGES}')
    video = make_video(tmp_path / 'in.mp4', 50, fps=25)
    port, out = free_port(), str(tmp_path / 'out.mp4')
    server = subprocess.Popen([py, GST_SERVER, video, str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert select.select([server.stdout], [], [], 30)[0], 'RTSP server did not start'
        line = server.stdout.readline()
        assert line == b'ready\n', f'RTSP server: {line!r}'
        s = run_live(f'rtsp://127.0.0.1:{port}/live', out, options=OPTS, models=models,
                     progress=False, max_seconds=20, source_timeout=3)
    finally:
        server.kill()
        server.communicate(timeout=5)  # reaps it, closes its pipes
    assert (s.size, s.fps) == ((W, H), 25.0)
    # ended by the server's BYE at the file's end, not by the read timeout
    assert s.stopped_by == 'end of stream' and 'no data for' not in capfd.readouterr().err
    assert s.frames_written == 50 == num_frames(out)
    assert s.keyframes_processed > 0 and s.tracks >= 1

"""``stad demo`` end to end on a tiny video, with randomly initialised models.

The detector and action model here have random weights (no trained checkpoints in a
unit test): these tests check shapes, flow, files and messages, not accuracy. The
detector's score threshold is 0 so that random boxes exist on every keyframe.
"""
import os

import numpy as np
import pytest

from stad.apis.video import DemoOptions, demo_keyframes, top_actions
from stad.errors import StadError
from stad.io.label_map import read_label_map
from stad.io.video import VideoFrames, write_mp4
from stad.tasks.run import SYNTH_ACTION_CONFIG, SYNTH_DET_CONFIG

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DET_CONFIG = os.path.join(ROOT, SYNTH_DET_CONFIG)
ACTION_CONFIG = os.path.join(ROOT, SYNTH_ACTION_CONFIG)
W, H = 96, 72


def make_video(path, n, fps=10):
    """A bright rectangle moving right over a grey background, ``n`` frames of W x H."""
    def frames():
        for i in range(n):
            f = np.full((H, W, 3), 90, np.uint8)
            f[20:60, 5 + i:25 + i] = (200, 60, 40)
            yield f
    write_mp4(frames(), str(path), fps=fps, size=(W, H))
    return str(path)


def test_keyframes_label_map_and_top_actions(tmp_path):
    # clip 8 x 2: the clip of keyframe k spans k-8 .. k+6
    assert demo_keyframes(40, clip_len=8, frame_interval=2, stride=8) == [8, 16, 24, 32]
    assert demo_keyframes(15, clip_len=8, frame_interval=2, stride=8) == [8]
    assert demo_keyframes(14, clip_len=8, frame_interval=2, stride=8) == []
    p = tmp_path / 'labels.txt'
    p.write_text('0: jumping jack\n1: squat\n\n3: walk\n')
    labels = read_label_map(str(p))
    assert labels == {0: 'jumping jack', 1: 'squat', 3: 'walk'}
    scores = np.array([[0.1, 0.6, 0.05, 0.7], [0.2, 0.2, 0.9, 0.1]])
    # column 2 has no name: skipped, as mmaction2's demo does
    assert top_actions(scores, labels, thr=0.5, topk=3) == (
        (('walk', 0.7), ('squat', 0.6)), ())
    assert top_actions(np.zeros((0, 4), np.float32), labels, thr=0.5, topk=3) == ()  # nobody
    p.write_text('zero: x\n')
    with pytest.raises(StadError, match='labels.txt:1'):
        read_label_map(str(p))


def test_frame_source_counts_live_frames(tmp_path):
    src = VideoFrames(make_video(tmp_path / 'v.mp4', 12))
    a = src.frames([0, 1, 2])
    view = a[1]
    del a
    assert src.live_frames == 3  # a view keeps its batch alive
    del view
    assert src.live_frames == 0 and src.peak_live_frames == 3
    n = sum(1 for _ in src.iter_frames(stride=5))
    assert n == 3 and src.peak_live_frames == 3  # 0, 5, 10, one at a time


class _Spy:
    """Forwards to a decord reader and records get_batch / seek calls."""

    def __init__(self, reader):
        self.reader, self.calls = reader, []

    def get_batch(self, inds):
        self.calls.append(('get_batch', list(inds)))
        return self.reader.get_batch(inds)

    def seek(self, pos):
        self.calls.append(('seek', pos))
        return self.reader.seek(pos)


def test_frames_stop_decord_read_ahead(tmp_path):
    # decord keeps decoding past the last read frame and buffers it, so memory grows with
    # the video's length unless the reader seeks back after each read (dmlc/decord#197)
    import decord
    path = make_video(tmp_path / 'v.mp4', 30)
    src = VideoFrames(path)
    spy = src._reader = _Spy(src._reader)
    got = src.frames([3, 17])
    assert spy.calls == [('get_batch', [3, 17]), ('seek', 0)]
    want = decord.VideoReader(path).get_batch([3, 17]).asnumpy()
    assert np.array_equal(got, want)
    # and the next read after the seek still returns the frames asked for
    assert np.array_equal(src.frames([17])[0], want[1])


def test_demo_writes_every_frame_with_bounded_memory(tmp_path, tiny_models):
    import decord

    from stad.tasks.demo import run_demo
    det_ckpt, act_ckpt = tiny_models
    video = make_video(tmp_path / 'in.mp4', 40)
    out = str(tmp_path / 'out' / 'demo.mp4')
    # untrained models score low: every box starts a track (else none is drawn)
    opts = DemoOptions(det_score_thr=0.0, action_score_thr=0.0, keyframe_stride=8,
                       batch_size=2, max_persons=3, track_init_thr=0.0)
    ev, seg = tmp_path / 'out' / 'events.jsonl', tmp_path / 'out' / 'segments.json'
    s = run_demo(video, out, det_config=DET_CONFIG, det_checkpoint=det_ckpt,
                 config=ACTION_CONFIG, checkpoint=act_ckpt, options=opts, progress=False,
                 events=str(ev), segments=str(seg))
    vr = decord.VideoReader(out)
    assert len(vr) == 40 == s.frames_written
    import json
    events = [json.loads(line) for line in ev.read_text().splitlines()]
    assert len(events) == s.boxes and {e['track_id'] for e in events} and \
        all(1 <= e['frame'] <= 40 for e in events)
    assert json.loads(seg.read_text())['fps'] == 10.0
    assert vr[0].shape == (H, W, 3)
    assert s.keyframes == 4 and s.tracks >= 1
    # structural memory bound: never more than one clip + one batch of decoded frames
    assert 0 < s.peak_live_frames <= 8 + opts.batch_size
    # something was drawn: output differs from the plain input
    plain = decord.VideoReader(video)
    assert max(np.abs(vr[i].asnumpy().astype(int) - plain[i].asnumpy().astype(int)).max()
               for i in range(0, 40, 4)) > 60
    assert sorted(os.listdir(tmp_path / 'out')) == ['demo.mp4', 'events.jsonl', 'segments.json']


def test_too_short_video_is_a_one_line_error(tmp_path, tiny_models, capsys):
    from stad.cli import main
    det_ckpt, act_ckpt = tiny_models
    video = make_video(tmp_path / 'short.mp4', 10)
    out = tmp_path / 'o.mp4'
    rc = main(['demo', video, str(out), '--det-config', DET_CONFIG, '--det-checkpoint',
               det_ckpt, '--config', ACTION_CONFIG, '--checkpoint', act_ckpt, '--quiet'])
    assert rc == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f'stad demo: error: {video}: 10 frames, shorter than the action model\'s clip window of '
        '13 frames (clip_len 4 x frame_interval 4)')
    assert not out.exists()


def test_mmaction2_demo_arguments_map_onto_stad_demo(monkeypatch):
    import importlib.util

    import stad.cli
    spec = importlib.util.spec_from_file_location(
        'demo_spatiotemporal_det', os.path.join(ROOT, 'demo', 'demo_spatiotemporal_det.py'))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    calls = []
    monkeypatch.setattr(stad.cli, 'main', lambda argv: calls.append(argv) or 0)
    upstream_style = ['in.mp4', 'out.mp4', '--config', 'a.py', '--checkpoint', 'a.pth',
                      '--det-config', 'd.py', '--det-checkpoint', 'd.pth',
                      '--det-score-thr', '0.8', '--det-cat-id', '0',
                      '--action-score-thr', '0.4', '--label-map', 'l.txt',
                      '--predict-stepsize', '6', '--output-stepsize', '3',
                      '--output-fps', '5', '--short-side', '256', '--device', 'cpu',
                      '--cfg-options', 'model.backbone.depth=18']
    assert script.main(upstream_style) == 0
    args = stad.cli.build_parser().parse_args(calls[0])
    assert (args.command, args.video, args.out) == ('demo', 'in.mp4', 'out.mp4')
    assert (args.keyframe_stride, args.output_stride, args.out_fps) == (6, 3, 5.0)
    assert (args.det_score_thr, args.action_score_thr, args.det_cat_id) == (0.8, 0.4, 0)
    assert (args.label_map, args.cfg_options) == ('l.txt', ['model.backbone.depth=18'])


def _demo_argv(video, out, det_ckpt, act_ckpt, *extra):
    return ['demo', str(video), str(out), '--det-config', DET_CONFIG, '--det-checkpoint',
            det_ckpt, '--config', ACTION_CONFIG, '--checkpoint', act_ckpt, '--quiet', *extra]


def _no_models(monkeypatch):
    import stad.tasks.demo

    def loaded(*a, **k):
        raise AssertionError('a model was loaded')
    monkeypatch.setattr(stad.tasks.demo, 'load_action_model', loaded)
    monkeypatch.setattr(stad.tasks.demo, 'make_detector', loaded)


@pytest.mark.parametrize('case', ['directory', 'input video', 'folder under a file'])
def test_bad_output_is_refused_before_loading_any_model(tmp_path, monkeypatch, capsys, case):
    from stad.cli import main
    _no_models(monkeypatch)
    video = make_video(tmp_path / 'in.mp4', 16)
    (tmp_path / 'notes.txt').write_text('x')
    (tmp_path / 'link.mp4').symlink_to('in.mp4')
    out, want = {
        'directory': (tmp_path, f'{tmp_path}: output is a directory'),
        'input video': (tmp_path / 'link.mp4', f'{tmp_path}/link.mp4: output is the input video'),
        'folder under a file': (
            tmp_path / 'notes.txt' / 'sub' / 'o.mp4',
            f'{tmp_path}/notes.txt/sub/o.mp4: cannot create the output folder '
            f'{tmp_path}/notes.txt/sub ({tmp_path}/notes.txt is not a folder)'),
    }[case]
    before = sorted(os.listdir(tmp_path))
    rc = main(_demo_argv(video, out, 'det.pth', 'action.pth'))
    assert rc == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f'stad demo: error: {want}'
    assert sorted(os.listdir(tmp_path)) == before  # input video untouched, nothing created


@pytest.mark.skipif(os.geteuid() == 0, reason='root may write into any folder')
def test_output_in_a_read_only_folder_is_refused_before_loading_any_model(tmp_path, monkeypatch):
    from stad.tasks.demo import run_demo
    _no_models(monkeypatch)
    video = make_video(tmp_path / 'in.mp4', 16)
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(StadError) as e:
            run_demo(video, str(ro / 'new' / 'o.mp4'), det_config=DET_CONFIG,
                     det_checkpoint='det.pth', config=ACTION_CONFIG, checkpoint='action.pth')
    finally:
        ro.chmod(0o755)
    assert str(e.value) == f'{ro}/new/o.mp4: cannot write the folder {ro} (permission denied)'


@pytest.mark.parametrize('lines, want', [
    ('0: jumping jack\n1: squat\n',
     "label map lacks ids 2, 3 of the action model's 4 classes (ids 0..3)"),
    ('0: a\n1: b\n2: c\n3: d\n4: e\n7: f\n',
     "label map has ids 4, 7 beyond the action model's 4 classes (ids 0..3)"),
])
def test_label_map_not_matching_the_model_classes_is_an_error(tmp_path, tiny_models, capsys,
                                                              lines, want):
    from stad.cli import main
    det_ckpt, act_ckpt = tiny_models
    video = make_video(tmp_path / 'in.mp4', 16)
    lm = tmp_path / 'labels.txt'
    lm.write_text(lines)
    out = tmp_path / 'o.mp4'
    rc = main(_demo_argv(video, out, det_ckpt, act_ckpt, '--label-map', str(lm)))
    assert rc == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f'stad demo: error: {lm}: {want}'
    assert not out.exists()


def test_label_map_duplicate_id_and_empty_file_are_errors(tmp_path):
    p = tmp_path / 'labels.txt'
    p.write_text('0: squat\n1: wave\n\n1: walk\n')
    with pytest.raises(StadError) as e:
        read_label_map(str(p))
    assert str(e.value) == f"{p}:4: id 1 given twice (line 2: 'wave', line 4: 'walk')"
    p.write_text('\n  \n')
    with pytest.raises(StadError) as e:
        read_label_map(str(p))
    assert str(e.value) == f'{p}: empty label map (expected "id: name" lines)'


@pytest.mark.parametrize('fps', [float('nan'), float('inf'), -1.0])
def test_run_demo_refuses_non_finite_out_fps(tmp_path, monkeypatch, fps):
    from stad.tasks.demo import run_demo
    _no_models(monkeypatch)
    with pytest.raises(StadError) as e:
        run_demo(make_video(tmp_path / 'in.mp4', 16), str(tmp_path / 'o.mp4'),
                 det_config=DET_CONFIG, det_checkpoint='det.pth', config=ACTION_CONFIG,
                 checkpoint='action.pth', out_fps=fps)
    assert str(e.value) == f'output fps must be a finite number > 0, got {fps}'
    assert not (tmp_path / 'o.mp4').exists()


def test_cli_out_fps_nan_is_a_usage_error(tmp_path, capsys):
    from stad.cli import main
    with pytest.raises(SystemExit) as e:
        main(_demo_argv(tmp_path / 'in.mp4', tmp_path / 'o.mp4', 'det.pth', 'action.pth',
                        '--out-fps', 'nan'))
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith('usage: stad demo')
    assert err[-1] == "stad demo: error: argument --out-fps: expected a finite number > 0, got 'nan'"


def test_demo_over_a_file_size_limit_exits_2_and_writes_no_video(tmp_path, tiny_models):
    # ffmpeg (a grandchild of the test) inherits the limit and fails mid-encode; moviepy's
    # writer (used before) ignored its exit status, so without the check a truncated mp4
    # was renamed into place and the demo exited 0
    import subprocess
    import sys
    det_ckpt, act_ckpt = tiny_models
    video = make_video(tmp_path / 'in.mp4', 16)
    out = tmp_path / 'out' / 'demo.mp4'
    # the limit is set just before the video is encoded (mmengine writes a temp copy of
    # the config when loading it, which a limit this small would stop first)
    child = ('import resource, signal, sys\n'
             'import stad.cli, stad.tasks.demo as demo\n'
             'encode = demo.write_mp4\n'
             'def limited(*a, **k):\n'
             '    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n'
             '    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n'
             '    return encode(*a, **k)\n'
             'demo.write_mp4 = limited\n'
             'sys.exit(stad.cli.main(sys.argv[1:]))\n')
    p = subprocess.run([sys.executable, '-c', child,
                        *_demo_argv(video, out, det_ckpt, act_ckpt, '--det-score-thr', '0')],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().splitlines()[-1] == (
        f'stad demo: error: {out}: ffmpeg failed writing the video (killed by SIGXFSZ)')
    assert os.listdir(out.parent) == []  # no video under the final name, no temp


def test_track_smoothed_labels_do_not_flicker():
    """A person whose clip says 'wave' on one keyframe among 'walk's keeps 'walk' on the
    screen; a real change of action (walk -> squat for good) still shows, once."""
    from stad.apis.video import KeyframeResult, smooth_track_actions
    labels = {0: 'walk', 1: 'wave', 2: 'squat'}
    walk, wave, squat = [0.8, 0.15, 0.05], [0.3, 0.6, 0.1], [0.05, 0.15, 0.8]
    per_keyframe = [walk, walk, wave, walk, walk, squat, squat, squat, squat]
    results = [KeyframeResult(frame_index=8 * k, boxes=np.array([[10., 10., 50., 90.]]),
                              det_scores=np.ones(1), track_ids=np.array([1]), actions=(),
                              scores=np.array([s], np.float32))
               for k, s in enumerate(per_keyframe)]

    def shown(res):
        return [r.actions[0][0][0] for r in res]

    def changes(names):
        return sum(a != b for a, b in zip(names, names[1:]))

    raw = shown(smooth_track_actions(results, labels, thr=0.3, topk=1, window=1))
    smooth = shown(smooth_track_actions(results, labels, thr=0.3, topk=1, window=3))
    assert changes(raw) == 3 and raw[2] == 'wave'  # walk wave walk ... squat
    assert changes(smooth) == 1 and smooth[:4] == ['walk'] * 4 and smooth[-3:] == ['squat'] * 3
    assert np.allclose(results[2].scores, [wave])  # the keyframe's own scores are kept


def test_predictions_as_data_events_and_track_segments():
    """What the demo draws, as data: one event per box and frame, and per track the runs
    of one top label as segments with frames, seconds and mean score."""
    from stad.apis.video import KeyframeResult, frame_events, track_segments
    box = np.array([[10., 20., 50., 90.]], np.float32)

    def r(i, acts, key=False):
        return KeyframeResult(frame_index=i, boxes=box, det_scores=np.array([0.9]),
                              track_ids=np.array([3]), actions=(acts,),
                              scores=np.zeros((1, 2)) if key else None)
    results = [r(0, (('wave', 0.8),)), r(1, (('wave', 0.6), ('walk', 0.2)), True),
               r(2, ()), r(3, (('walk', 0.7),)), r(4, (('walk', 0.5),), True)]
    ev = frame_events(results, fps=25.0)
    assert len(ev) == 5 and ev[1] == dict(frame=2, time=0.04, track_id=3,
                                          box=[10.0, 20.0, 50.0, 90.0],
                                          actions=[['wave', 0.6], ['walk', 0.2]], keyframe=True)
    seg = track_segments(results, fps=25.0)
    assert seg == [dict(track_id=3, label='wave', start_frame=1, end_frame=2, start=0.0,
                        end=0.08, mean_score=0.7),
                   dict(track_id=3, label='walk', start_frame=4, end_frame=5, start=0.12,
                        end=0.2, mean_score=0.6)]


def test_stad_predict_returns_the_demo_predictions_as_data(tmp_path, tiny_models):
    import stad
    det_ckpt, act_ckpt = tiny_models
    video = make_video(tmp_path / 'in.mp4', 40)
    opts = DemoOptions(det_score_thr=0.0, action_score_thr=0.0, max_persons=3,
                       track_init_thr=0.0)
    got = stad.predict(video, det_config=DET_CONFIG, det_checkpoint=det_ckpt,
                       config=ACTION_CONFIG, checkpoint=act_ckpt, options=opts)
    assert got['fps'] == 10.0 and got['events'] and os.listdir(tmp_path) == ['in.mp4']
    tracks = {e['track_id'] for e in got['events']}
    assert got['segments'] and {s['track_id'] for s in got['segments']} <= tracks
    assert all(s['start_frame'] <= s['end_frame'] for s in got['segments'])


def _random_read_predict_video(source, detector, am, label_map, options):
    """``predict_video`` as it was before the single pass: per detector batch a random
    read of its frames, every clip decoded again by the action API (decord), keyframes
    scored per detector batch. The reference the streaming version must equal."""
    from stad.apis.action import predict_keyframes
    from stad.apis.tracking import make_tracker
    from stad.apis.video import KeyframeResult, smooth_track_actions
    keys = demo_keyframes(source.num_frames, clip_len=am.clip_len,
                          frame_interval=am.frame_interval, stride=options.keyframe_stride)
    step = options.track_stride
    tracked = list(range(keys[0] % step, source.num_frames, step))
    limit = np.array([source.width, source.height] * 2, dtype=np.float32)
    tracker = make_tracker(options.tracker, buffer=options.track_buffer,
                           init_thr=options.track_init_thr)
    results = []
    for s in range(0, len(tracked), options.batch_size):
        batch = tracked[s:s + options.batch_size]
        dets = detector([np.ascontiguousarray(f[..., ::-1]) for f in source.frames(batch)])
        boxes = [np.clip(d[:options.max_persons, :4], 0, limit).astype(np.float32)
                 for d in dets]
        kf = [j for j, f in enumerate(batch) if f in set(keys)]
        scores = dict(zip(kf, predict_keyframes(
            am, source, [batch[j] + 1 for j in kf], [boxes[j] for j in kf], normalized=False,
            batch_size=options.batch_size, video=os.path.basename(source.path)))) if kf else {}
        for j, (f, d, b) in enumerate(zip(batch, dets, boxes)):
            det_scores = d[:len(b), 4].copy()
            ids = tracker.update(b, det_scores, frame_index=s + j)
            keep = tracker.tracked
            sc = scores.get(j)
            results.append(KeyframeResult(
                frame_index=int(f), boxes=b[keep], det_scores=det_scores[keep],
                track_ids=ids[keep], actions=(), scores=None if sc is None else sc[keep]))
    return smooth_track_actions(results, label_map, thr=options.action_score_thr,
                                topk=options.topk, window=options.label_window)


@pytest.mark.parametrize('batch_size, track_stride', [(1, 2), (3, 1), (4, 4)])
def test_one_sequential_pass_predicts_what_random_reads_did(tmp_path, tiny_models,
                                                            batch_size, track_stride):
    """Decoding once in order (frames kept only while needed) gives the same boxes, track
    IDs, keyframes and scores as the random reads it replaced: bit for bit where the
    action model sees the same batches (one keyframe per pass), within float rounding
    where it now gets ``batch_size`` keyframes per pass instead of those of one detector
    batch."""
    from stad.apis.video import predict_video
    from stad.tasks.demo import load_models
    det_ckpt, act_ckpt = tiny_models
    video = make_video(tmp_path / 'in.mp4', 21)  # keyframes 8 and 16 (clips 0-12, 8-20)
    opts = DemoOptions(det_score_thr=0.0, action_score_thr=0.0, max_persons=3,
                       track_init_thr=0.0, batch_size=batch_size, track_stride=track_stride)
    detector, am = load_models(DET_CONFIG, det_ckpt, ACTION_CONFIG, act_ckpt, options=opts)
    labels = {i: str(i) for i in range(am.num_classes)}
    got = predict_video(VideoFrames(video), detector, am, label_map=labels, options=opts,
                        progress=False)
    want = _random_read_predict_video(VideoFrames(video), detector, am, labels, opts)
    assert [r.frame_index for r in got] == [r.frame_index for r in want] == \
        list(range(0, 21, track_stride))
    assert sum(r.is_keyframe for r in got) == 2 and any(len(r.boxes) for r in got)
    for g, w in zip(got, want):
        assert np.array_equal(g.boxes, w.boxes) and np.array_equal(g.det_scores, w.det_scores)
        assert np.array_equal(g.track_ids, w.track_ids) and g.is_keyframe == w.is_keyframe
        if batch_size == 1:
            assert g.actions == w.actions
            assert g.scores is None or np.array_equal(g.scores, w.scores)
        elif g.is_keyframe:
            assert np.allclose(g.scores, w.scores, rtol=0, atol=1e-5)


def test_decoded_frames_alive_do_not_grow_with_the_video(tmp_path, tiny_models):
    from stad.apis.video import predict_video
    from stad.tasks.demo import load_models
    det_ckpt, act_ckpt = tiny_models
    opts = DemoOptions(det_score_thr=0.0, action_score_thr=0.0, max_persons=3,
                       track_init_thr=0.0, batch_size=2)
    detector, am = load_models(DET_CONFIG, det_ckpt, ACTION_CONFIG, act_ckpt, options=opts)
    peaks = []
    for n in (33, 66):
        source = VideoFrames(make_video(tmp_path / f'in{n}.mp4', n))
        predict_video(source, detector, am, label_map={0: 'a'}, options=opts, progress=False)
        assert source.live_frames == 0
        peaks.append(source.peak_live_frames)
    # the batch waiting for the detector, the clip frames of the keyframes waiting for
    # theirs, and one batch of RGB clips
    assert peaks[0] == peaks[1] <= opts.batch_size * (2 * am.clip_len + 1)

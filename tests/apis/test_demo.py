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


@pytest.fixture(scope='module')
def tiny_models(tmp_path_factory):
    """(det checkpoint, action checkpoint) of randomly initialised models."""
    import torch
    from mmdet.apis import init_detector

    from stad.apis.action import load_action_model
    d = tmp_path_factory.mktemp('demo_models')
    torch.manual_seed(0)
    det = init_detector(DET_CONFIG, None, device='cpu')
    det_ckpt = str(d / 'det.pth')
    torch.save(dict(state_dict=det.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('person', )))), det_ckpt)
    act_ckpt = str(d / 'action.pth')
    torch.save(dict(state_dict=load_action_model(ACTION_CONFIG, None).model.state_dict()),
               act_ckpt)
    return det_ckpt, act_ckpt


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
    opts = DemoOptions(det_score_thr=0.0, action_score_thr=0.0, keyframe_stride=8,
                       batch_size=2, max_persons=3)
    s = run_demo(video, out, det_config=DET_CONFIG, det_checkpoint=det_ckpt,
                 config=ACTION_CONFIG, checkpoint=act_ckpt, options=opts, progress=False)
    vr = decord.VideoReader(out)
    assert len(vr) == 40 == s.frames_written
    assert vr[0].shape == (H, W, 3)
    assert s.keyframes == 4 and s.tracks >= 1
    # structural memory bound: never more than one clip + one batch of decoded frames
    assert 0 < s.peak_live_frames <= 8 + opts.batch_size
    # something was drawn: output differs from the plain input
    plain = decord.VideoReader(video)[20].asnumpy().astype(int)
    assert np.abs(vr[20].asnumpy().astype(int) - plain).max() > 60
    assert sorted(os.listdir(tmp_path / 'out')) == ['demo.mp4']


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

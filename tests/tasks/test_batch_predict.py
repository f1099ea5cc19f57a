"""``stad predict-videos``: a folder of videos to one results file, resumable per video,
sharded across processes with torchrun.

Randomly initialised models (no trained checkpoints in a unit test) and tiny videos: the
tests check the files, the resuming, the errors and the sharding, not accuracy. Every
threshold is 0 so that random boxes make tracks, segments and events on every video.
"""
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from stad.io.video import write_mp4
from stad.tasks.run import SYNTH_ACTION_CONFIG, SYNTH_DET_CONFIG

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DET_CONFIG = os.path.join(ROOT, SYNTH_DET_CONFIG)
ACTION_CONFIG = os.path.join(ROOT, SYNTH_ACTION_CONFIG)
W, H = 96, 72
# name -> frames; the .mov is the same H.264 in another container
VIDEOS = {'a.mp4': 24, 'sub/b.mov': 32, 'sub/c.mp4': 28}


def make_video(path, n, fps=10, shift=0):
    """A bright rectangle moving right over a grey background, ``n`` frames of W x H."""
    def frames():
        for i in range(n):
            f = np.full((H, W, 3), 90, np.uint8)
            f[20:60, 5 + i + shift:25 + i + shift] = (200, 60, 40)
            yield f
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    write_mp4(frames(), str(path), fps=fps, size=(W, H))
    return str(path)


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    """The videos of :data:`VIDEOS`, a broken one, one too short for the action model's
    clip, and files that are no videos."""
    root = tmp_path_factory.mktemp('videos')
    for k, (name, n) in enumerate(VIDEOS.items()):
        make_video(root / name, n, shift=3 * k)
    (root / 'sub' / 'broken.mp4').write_bytes(b'not a video at all' * 10)
    make_video(root / 'sub' / 'short.mp4', 10)  # shorter than the clip window (13 frames)
    (root / 'notes.txt').write_text('not a video')
    (root / '.hidden.mp4').write_bytes(b'x')
    return root


@pytest.fixture
def one_thread():
    """One torch thread, as each of the two torchrun processes has (same arithmetic)."""
    import torch
    before = torch.get_num_threads()
    yield 1
    torch.set_num_threads(before)


def _argv(folder, out, models, *extra):
    det_ckpt, act_ckpt = models
    return ['predict-videos', str(folder), '--out', str(out), '--det-config', DET_CONFIG,
            '--det-checkpoint', det_ckpt, '--config', ACTION_CONFIG, '--checkpoint', act_ckpt,
            '--det-score-thr', '0', '--action-score-thr', '0', '--track-init-thr', '0',
            '--max-persons', '3', '--batch-size', '4', '--threads', '1', *extra]


@pytest.fixture(scope='module')
def first_run(tmp_path_factory, folder, tiny_models):
    """One single-process run over :func:`folder`: (out, exit status, stderr)."""
    import torch

    from stad.cli import main
    before = torch.get_num_threads()
    out = tmp_path_factory.mktemp('results') / 'results.json'
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):  # the progress lines
            rc = main(_argv(folder, out, tiny_models))
    finally:
        torch.set_num_threads(before)
    err = err.getvalue()
    return out, rc, err


def test_results_file_has_every_video_and_the_bad_ones_as_errors(first_run, folder,
                                                                 tiny_models):
    out, rc, err = first_run
    assert rc == 1, err  # two videos failed, the others were done
    got = json.loads(out.read_text())
    assert [v['video'] for v in got['videos']] == ['a.mp4', 'sub/b.mov', 'sub/broken.mp4',
                                                   'sub/c.mp4', 'sub/short.mp4']
    by_name = {v['video']: v for v in got['videos']}
    broken, short = by_name.pop('sub/broken.mp4'), by_name.pop('sub/short.mp4')
    assert set(broken) == set(short) == {'video', 'error'} and '\n' not in broken['error']
    assert broken['error'].startswith(f'{folder}/sub/broken.mp4: cannot decode video')
    assert short['error'] == (f"{folder}/sub/short.mp4: 10 frames, shorter than the action "
                              "model's clip window of 13 frames (clip_len 4 x frame_interval 4)")
    for name, n in VIDEOS.items():
        v = by_name[name]
        assert (v['fps'], v['num_frames'], v['width'], v['height']) == (10.0, n, W, H)
        assert v['segments'] and v['events'], name
        assert all(1 <= e['frame'] <= n for e in v['events'])
        assert {s['track_id'] for s in v['segments']} <= {e['track_id'] for e in v['events']}
    models = got['models']
    assert models['checkpoint']['path'] == os.path.abspath(tiny_models[1])
    assert models['options']['det_score_thr'] == 0.0 and models['backend'] == 'torch'
    lines = [line for line in err.splitlines() if line.startswith('predict-videos: ')]
    assert len(lines) == 6  # the plan, then one line per video with counts and ETA
    assert lines[0] == 'predict-videos: 5 of 5 videos, 0 skipped (done before), 5 to predict'
    assert lines[3].startswith('predict-videos: 3/5 (0 skipped, 1 failed) sub/broken.mp4: '
                               'failed: ') and 'ETA' in lines[3]
    assert lines[4].startswith('predict-videos: 4/5 (0 skipped, 1 failed) sub/c.mp4: 28 frames, ')


def test_rerun_redoes_a_removed_part_and_skips_the_others(first_run, folder, tiny_models,
                                                          capsys, tmp_path):
    from stad.cli import main
    from stad.tasks.batch_predict import part_path
    out, _, _ = first_run
    work = tmp_path / 'results.json'  # a copy: the module's first run stays as it was
    shutil.copytree(str(out) + '.parts', str(work) + '.parts')
    before = json.loads(out.read_text())
    os.remove(part_path(str(work), 'sub/b.mov'))
    kept = {v: os.stat(part_path(str(work), v)).st_mtime_ns for v in ('a.mp4', 'sub/c.mp4')}
    broken = os.stat(part_path(str(work), 'sub/broken.mp4')).st_mtime_ns
    # the batch size changes the speed, not the results: the parts are reused
    rc = main(_argv(folder, work, tiny_models, '--quiet', '--batch-size', '2'))
    assert rc == 1
    assert capsys.readouterr().out.strip().startswith(
        f'{work}: 5 videos, 3 predicted, 2 failed (3 predicted now, 2 skipped: done before, '
        '2 failed now, in ')
    assert {v: os.stat(part_path(str(work), v)).st_mtime_ns for v in kept} == kept
    assert os.stat(part_path(str(work), 'sub/broken.mp4')).st_mtime_ns != broken  # retried
    assert json.loads(work.read_text())['videos'] == before['videos']


def test_rerun_with_other_options_is_refused(first_run, folder, tiny_models, capsys, tmp_path):
    from stad.cli import main
    out, _, _ = first_run
    before = out.read_text()
    rc = main(_argv(folder, out, tiny_models, '--topk', '2'))
    assert rc == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f'stad predict-videos: error: {out}.parts/run.json: results of another run '
        f'(options.topk differs); remove {out}.parts to redo them, or write to another --out')
    assert out.read_text() == before
    # without the run record, each part's own record is compared
    work = tmp_path / 'results.json'
    shutil.copytree(str(out) + '.parts', str(work) + '.parts')
    os.remove(f'{work}.parts/run.json')
    rc = main(_argv(folder, work, tiny_models, '--det-score-thr', '0.25'))
    assert rc == 2 and capsys.readouterr().err.strip().splitlines()[-1] == (
        f'stad predict-videos: error: {work}.parts/a.mp4.json: results of another run '
        f'(options.det_score_thr differs); remove {work}.parts to redo them, or write to '
        'another --out')
    assert not work.exists()


def test_torchrun_two_processes_give_the_same_results(first_run, folder, tiny_models, tmp_path):
    torchrun = os.path.join(os.path.dirname(sys.executable), 'torchrun')
    out = tmp_path / 'sharded.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    p = subprocess.run([torchrun, '--standalone', '--nproc-per-node', '2', '-m', 'stad',
                        *_argv(folder, out, tiny_models)],
                       capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert p.returncode == 1, p.stderr  # the bad videos
    lines = p.stderr.splitlines()
    # videos 0, 2 and 4 to rank 0, 1 and 3 to rank 1: the plan and a line per video each
    assert sum('[rank 0/2] predict-videos: ' in line for line in lines) == 4, p.stderr
    assert sum('[rank 1/2] predict-videos: ' in line for line in lines) == 3, p.stderr
    assert any(line.startswith(f'{out}: 5 videos, 3 predicted, 2 failed (rank 0: ') for line in
               p.stdout.splitlines()), p.stdout
    single = json.loads(first_run[0].read_text())
    sharded = json.loads(out.read_text())
    assert sharded['videos'] == single['videos']
    assert sharded['models'] == single['models']

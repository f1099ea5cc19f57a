"""``stad export onnx`` and the ONNX Runtime / OpenVINO backends, on randomly initialised
models (shapes, parity, metadata and messages; accuracy is not the point here)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from stad.errors import StadError
from stad.tasks.run import SYNTH_ACTION_CONFIG, SYNTH_DET_CONFIG

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DET_CONFIG = os.path.join(ROOT, SYNTH_DET_CONFIG)
ACTION_CONFIG = os.path.join(ROOT, SYNTH_ACTION_CONFIG)


@pytest.fixture(scope='module', autouse=True)
def _torch_threads():
    """A runtime Session sets torch to one thread (stad.apis.runtime.Session): put the
    count back for the tests after this file."""
    import torch
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def export(tmp_path_factory, tiny_models):
    """(det checkpoint, action checkpoint, export dir, manifest) of random models."""
    from stad.tasks.export_onnx import run_export_onnx
    det_ckpt, act_ckpt = tiny_models
    d = tmp_path_factory.mktemp('onnx')
    out = str(d / 'export')
    meta = run_export_onnx(out, det_config=DET_CONFIG, det_checkpoint=det_ckpt,
                           config=ACTION_CONFIG, checkpoint=act_ckpt, log=lambda *a: None)
    return det_ckpt, act_ckpt, out, meta


def test_export_writes_checked_files_with_metadata(export):
    import onnx
    _, _, out, meta = export
    assert sorted(os.listdir(out)) == ['action.onnx', 'detector_features.onnx',
                                       'detector_roi_head.onnx', 'stad_export.json']
    parity = meta['parity']
    assert parity['ok'] is True
    for backend in ('onnxruntime', 'openvino'):
        p = parity[backend]
        assert p['boxes'] > 0 and p['box_max_abs_px'] <= 1.0  # random weights still box
        assert p['scores'] > 0 and p['score_max_abs'] <= 1e-4
    with open(os.path.join(out, 'stad_export.json')) as f:
        assert json.load(f)['parity']['ok'] is True
    props = {p.key: p.value for p in onnx.load(os.path.join(out, 'action.onnx')).metadata_props}
    action = json.loads(props['stad'])
    import stad
    assert props['stad_version'] == stad.__version__
    # no class names in this config nor in a random checkpoint: the class indices
    assert action['labels'] == ['0', '1', '2', '3'] and action['num_classes'] == 4
    assert (action['clip_len'], action['frame_interval']) == (4, 4)
    assert action['mean'] == [123.675, 116.28, 103.53] and action['resize']
    det = json.loads({p.key: p.value for p in onnx.load(
        os.path.join(out, 'detector_features.onnx')).metadata_props}['stad'])
    assert det['classes'] == ['person'] and det['pad_size_divisor'] == 32 and det['resize']


def test_backends_match_eager_on_a_video(export, tmp_path):
    """stad.predict on ONNX Runtime and OpenVINO (configs and weights from the export
    only) gives the eager run's boxes and labels."""
    from stad.apis.video import DemoOptions
    from stad.data.synth import VideoPlan, render_video, write_video
    from stad.tasks.demo import predict
    det_ckpt, act_ckpt, out, _ = export
    frames, _ = render_video(VideoPlan('gym', 3, 96, 72, 24, (0, 1)))
    video = str(tmp_path / 'v.mp4')
    write_video(video, frames, 10.0)
    opts = DemoOptions(det_score_thr=0.0, track_init_thr=0.0, action_score_thr=0.0)
    eager = predict(video, det_config=DET_CONFIG, det_checkpoint=det_ckpt,
                    config=ACTION_CONFIG, checkpoint=act_ckpt, options=opts)
    assert eager['events']
    for backend in ('onnxruntime', 'openvino'):
        got = predict(video, backend=backend, onnx_dir=out, options=opts)
        assert len(got['events']) == len(eager['events'])
        for a, b in zip(got['events'], eager['events']):
            assert (a['frame'], a['track_id']) == (b['frame'], b['track_id'])
            assert np.abs(np.subtract(a['box'], b['box'])).max() <= 1.0
            assert [n for n, _ in a['actions']] == [n for n, _ in b['actions']]
            assert np.allclose([s for _, s in a['actions']], [s for _, s in b['actions']],
                               atol=1e-3)


def test_failed_parity_writes_nothing(export, tmp_path, monkeypatch):
    import stad.apis.runtime as rt
    from stad.tasks.export_onnx import run_export_onnx
    det_ckpt, act_ckpt, _, _ = export
    monkeypatch.setattr(rt, 'SCORE_TOL', -1.0)  # no difference passes
    out = tmp_path / 'bad'
    with pytest.raises(StadError, match=r'parity check FAILED, onnxruntime: .*scores'):
        run_export_onnx(str(out), det_config=DET_CONFIG, det_checkpoint=det_ckpt,
                        config=ACTION_CONFIG, checkpoint=act_ckpt, log=lambda *a: None)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_bad_export_folder_and_options(export, tmp_path):
    from stad.apis.runtime import read_manifest
    from stad.tasks.demo import load_models
    _, _, out, _ = export
    with pytest.raises(StadError, match=r'no stad_export.json'):
        read_manifest(str(tmp_path))
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'stad_export.json').write_text(open(os.path.join(out, 'stad_export.json')).read())
    with pytest.raises(StadError, match=r'detector_features.onnx missing'):
        load_models(None, None, None, None, backend='onnxruntime', onnx_dir=str(broken))
    with pytest.raises(StadError, match=r'precision bf16 is an OpenVINO option'):
        load_models(None, None, None, None, backend='onnxruntime', onnx_dir=out,
                    precision='bf16')
    for args, msg in ((['--backend', 'openvino'], 'give their folder with --onnx-dir'),
                      ([], '--det-config, --det-checkpoint, --config, --checkpoint required')):
        r = subprocess.run([sys.executable, '-m', 'stad', 'demo', 'x.mp4', str(tmp_path / 'o.mp4'),
                            *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert r.returncode != 0 and msg in r.stderr, r.stderr
        assert not (tmp_path / 'o.mp4').exists()


def _small_video(path: str) -> str:
    """A 24-frame 96x72 synthetic video at ``path``."""
    from stad.data.synth import VideoPlan, render_video, write_video
    frames, _ = render_video(VideoPlan('gym', 3, 96, 72, 24, (0, 1)))
    write_video(path, frames, 10.0)
    return path


_TORCH_FREE_CHILD = '''
import json, sys
import stad
from stad.apis.video import DemoOptions
res = stad.predict(sys.argv[1], backend=sys.argv[3], onnx_dir=sys.argv[2],
                   options=DemoOptions(det_score_thr=0.0, track_init_thr=0.0,
                                       action_score_thr=0.0))
print(json.dumps(dict(events=len(res['events']), stack=sorted(
    m for m in ('torch', 'mmcv', 'mmdet', 'mmaction', 'scipy.optimize') if m in sys.modules))))
'''


@pytest.mark.parametrize('backend', ['auto', 'openvino'])
def test_runtime_backends_run_without_torch(export, tmp_path, backend):
    """A runtime run (detector, tracker, action model) imports none of torch, mmcv, mmdet,
    mmaction2: their imports were 4 s of the demo's start-up."""
    _, _, out, _ = export
    video = _small_video(str(tmp_path / 'v.mp4'))
    r = subprocess.run([sys.executable, '-c', _TORCH_FREE_CHILD, video, out, backend],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got['events'] > 0 and got['stack'] == []


_BATCH_CHILD = '''
import json, sys
from stad.apis.video import DemoOptions
from stad.tasks.batch_predict import predict_videos
s = predict_videos(sys.argv[1], sys.argv[2], backend='auto', onnx_dir=sys.argv[3],
                   options=DemoOptions(det_score_thr=0.0, track_init_thr=0.0), progress=False)
print(json.dumps(dict(videos=s.videos, failed=s.failed, stack=sorted(
    m for m in ('torch', 'mmcv', 'mmdet', 'mmaction', 'mmengine.dist') if m in sys.modules))))
'''


def test_predict_videos_alone_on_a_runtime_runs_without_torch(export, tmp_path):
    """`stad predict-videos` in one process on a runtime backend needs no process group,
    so it starts without torch (mmengine's config reader only, as `stad demo`): torch and
    mmengine's process-group layer took ~4 s."""
    _, _, out, _ = export
    folder = tmp_path / 'videos'
    folder.mkdir()
    _small_video(str(folder / 'a.mp4'))
    results = tmp_path / 'results.json'
    env = {k: v for k, v in os.environ.items() if k not in ('WORLD_SIZE', 'RANK')}
    r = subprocess.run([sys.executable, '-c', _BATCH_CHILD, str(folder), str(results), out],
                       capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == dict(videos=1, failed=0, stack=[])
    assert json.loads(results.read_text())['videos'][0]['video'] == 'a.mp4'


def test_an_older_export_is_refused_with_a_re_export_message(export, tmp_path):
    """Exports before the per-level RoI head graph took one RoI input."""
    import shutil

    import onnx
    from onnx import TensorProto, helper

    from stad.apis.detect_numpy import RuntimeDetector
    _, _, out, _ = export
    old = tmp_path / 'old'
    shutil.copytree(out, old)
    names = ['feat0', 'feat1', 'feat2', 'rois']
    graph = helper.make_graph(
        [helper.make_node('Identity', ['rois'], ['cls_score']),
         helper.make_node('Identity', ['rois'], ['bbox_pred'])], 'old_roi_head',
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
         for n in ('cls_score', 'bbox_pred')])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]),
              str(old / 'detector_roi_head.onnx'))
    with pytest.raises(StadError, match=r'one RoI input .*older stad.*rerun `stad export onnx`'):
        RuntimeDetector(str(old), 'onnxruntime', score_thr=0.5, max_per_frame=10)


def test_proposal_cache_follows_the_export(export, tmp_path):
    """On a runtime backend the export's weights run, not the checkpoint's: a re-export
    into the same folder must not reuse `stad propose`'s cached boxes."""
    import shutil

    from stad.apis.detect import ProposalOptions
    from stad.tasks.propose import _cache_signature
    det_ckpt, _, out, _ = export
    copy = tmp_path / 'export'
    shutil.copytree(out, copy)
    opts = ProposalOptions(backend='onnxruntime', onnx_dir=str(copy))
    before = _cache_signature(det_ckpt, opts)
    assert _cache_signature(det_ckpt, opts) == before
    with open(copy / 'detector_roi_head.onnx', 'ab') as f:
        f.write(b'\0')  # another export: another file
    assert _cache_signature(det_ckpt, opts) != before


def test_a_parity_video_shorter_than_a_clip_is_refused(export, tmp_path):
    from stad.data.synth import VideoPlan, render_video, write_video
    from stad.tasks.export_onnx import run_export_onnx
    det_ckpt, act_ckpt, _, _ = export
    frames, _ = render_video(VideoPlan('gym', 3, 96, 72, 6, (0,)))
    video = str(tmp_path / 'short.mp4')
    write_video(video, frames, 10.0)
    out = tmp_path / 'export'
    with pytest.raises(StadError, match=r'short.mp4: 6 frames, fewer than .* clip window of 13'):
        run_export_onnx(str(out), det_config=DET_CONFIG, det_checkpoint=det_ckpt,
                        config=ACTION_CONFIG, checkpoint=act_ckpt, video=video,
                        log=lambda *a: None)
    assert not out.exists()


def test_videos_at_once_give_the_boxes_of_one_at_a_time(export, tmp_path):
    """`stad propose` on a runtime backend runs one video per core (each detector on its
    share of the threads): the same boxes as one video at a time, every video once; a
    video that fails stops the run with its own message."""
    from stad.apis.detect import ProposalOptions, detect_videos, video_detectors
    from stad.data.synth import VideoPlan, render_video, write_video
    _, _, out, _ = export
    jobs = []
    for i in range(3):
        frames, _ = render_video(VideoPlan('gym', i, 96, 72, 10 + i, (0, 1)))
        path = str(tmp_path / f'v{i}.mp4')
        write_video(path, frames, 10.0)
        jobs.append((f'gym/v{i}', path))
    opts = ProposalOptions(score_thr=0.0, backend='onnxruntime', onnx_dir=out, workers=2)
    two = video_detectors(None, None, opts, len(jobs))
    assert len(two) == 2
    one = video_detectors(None, None, ProposalOptions(**{**opts.__dict__, 'workers': 1}),
                          len(jobs))
    assert len(one) == 1
    seq = {v: d for v, d, _ in detect_videos(one, jobs)}
    par = {v: (d, s) for v, d, s in detect_videos(two, jobs)}
    assert sorted(par) == sorted(seq) == [v for v, _ in jobs]
    assert any(seq.values())
    for v, (d, stats) in par.items():
        assert sorted(d) == sorted(seq[v])
        assert all(np.array_equal(d[k], seq[v][k]) for k in d)
        assert stats['last_frame'] == 10 + int(v[-1])
    bad = str(tmp_path / 'bad.mp4')
    with open(bad, 'wb') as f:
        f.write(b'not a video')
    with pytest.raises(StadError, match='bad.mp4'):
        list(detect_videos(two, [jobs[0], ('gym/bad', bad), jobs[1]]))


def test_videos_at_once_stop_when_the_caller_stops(export, tmp_path):
    """Ctrl-C (or any stop) during `stad propose`'s parallel videos: the video not
    started is not run and the running one stops at its next batch, instead of the
    stop waiting for every video to end."""
    from stad.apis.detect import ProposalOptions, detect_videos, video_detectors
    from stad.data.synth import VideoPlan, render_video, write_video
    _, _, out, _ = export
    jobs = []
    for i, n in enumerate((4, 40, 40)):
        frames, _ = render_video(VideoPlan('gym', i, 96, 72, n, (0,)))
        path = str(tmp_path / f'v{i}.mp4')
        write_video(path, frames, 10.0)
        jobs.append((f'gym/v{i}', path))
    dets = video_detectors(None, None, ProposalOptions(backend='onnxruntime', onnx_dir=out,
                                                       workers=2), len(jobs))
    calls = []

    def counted(det):
        def run(frames):
            calls.append(len(frames))
            return det(frames)
        return run

    run = detect_videos([counted(d) for d in dets], jobs, batch_size=1)
    first, _, _ = next(run)
    run.close()  # what Ctrl-C in the caller's loop does
    assert first == 'gym/v0'
    assert sum(calls) < 4 + 40  # neither long video ran to its end


def test_forward_share_benchmark_times_the_runtime_calls(export, tmp_path):
    # tools/benchmarks/bench_forward_share.py times the sessions' calls inside the demo:
    # a renamed call would leave its forwards at 0 s and its share at 0%
    r = subprocess.run([sys.executable, 'tools/benchmarks/bench_forward_share.py',
                        '--onnx-dir', export[2], '--frames', '48', '--reps', '1',
                        '--track-strides', '8', '--work-dir', str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith('rep 1/1 track-stride 8'))
    calls = int(line.split(', ')[-1].split()[0])
    share = float(line.split(' = ')[1].split('%')[0])
    assert calls >= 2 and 0 < share < 100, line  # the detector's two graphs at least
    assert '| ours equal work' in r.stdout
    # where the time goes: both models' forwards and the decoding were timed
    parts = r.stdout.split('| mode | detector forwards |')[1].splitlines()[2]
    det, act, decode = (float(v) for v in parts.split(' | ')[1:4])
    assert det > 0 and act > 0 and decode > 0, parts

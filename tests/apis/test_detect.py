"""Person detector: a few training iterations of the CPU config (checkpoint, resume, COCO
metrics), `stad propose` straight from videos (shapes, ranges, resumable cache), the
pickles load in mmaction2's AVADataset, and `stad proposal-report`."""
import glob
import json
import math
import os
import pickle
import shutil

import numpy as np
import pytest

from stad.io.layout import MULTISPORTS_AVA_KWARGS, parse_img_key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CPU_CONFIG = glob.glob(os.path.join(ROOT, 'configs', 'detection', '*_synthetic-person.py'))[0]


def _options(layout, iters):
    """Point the CPU config at the tiny dataset; 2 images a step, no worker processes."""
    root = layout.root.rstrip('/') + '/'
    opts = {'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
            'default_hooks.checkpoint.interval': 1, 'default_hooks.logger.interval': 1,
            'train_dataloader.batch_size': 2, 'val_evaluator.ann_file': layout.coco('val'),
            'test_evaluator.ann_file': layout.coco('val')}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts.update({f'{loader}.dataset.data_root': root, f'{loader}.num_workers': 0,
                     f'{loader}.persistent_workers': False})
    return opts


@pytest.fixture(scope='module')
def trained(tiny_dataset, tmp_path_factory):
    """Work dir of a 2-iteration training run of the CPU config on the tiny dataset."""
    from stad.tasks.train import train
    work = str(tmp_path_factory.mktemp('det_train'))
    runner = train(CPU_CONFIG, work_dir=work, cfg_options=_options(tiny_dataset, 2))
    return work, runner


def test_training_writes_checkpoints_and_coco_metrics(trained):
    work, runner = trained
    assert runner.iter == 2
    assert math.isfinite(runner.message_hub.get_scalar('train/loss').current())
    assert os.path.isfile(os.path.join(work, 'iter_2.pth'))
    scalars = glob.glob(os.path.join(work, '*', 'vis_data', 'scalars.json'))
    logged = open(scalars[0]).read()
    assert '"coco/bbox_mAP_50"' in logged and '"coco/bbox_mAP"' in logged


def test_killed_run_resumes(trained, tiny_dataset, tmp_path):
    from stad.tasks.train import train
    work = str(tmp_path / 'w')
    shutil.copytree(trained[0], work)
    with open(os.path.join(work, 'last_checkpoint'), 'w') as f:  # as if killed after iter 2
        f.write(os.path.join(work, 'iter_2.pth'))
    runner = train(CPU_CONFIG, work_dir=work, resume=True,
                   cfg_options=_options(tiny_dataset, 3))
    assert runner.iter == 3  # went on from iteration 2, not from scratch
    assert os.path.isfile(os.path.join(work, 'iter_3.pth'))
    assert not os.path.exists(os.path.join(work, 'iter_1.pth'))  # max_keep_ckpts=2


@pytest.fixture(scope='module')
def proposed(trained, tiny_dataset, tmp_path_factory):
    from stad.apis.detect import ProposalOptions
    from stad.tasks.propose import propose
    tmp = tmp_path_factory.mktemp('propose')
    opts = ProposalOptions(score_thr=0.0, max_per_frame=5, stride=3, batch_size=4)
    kwargs = dict(work_dir=str(tmp / 'work'), options=opts, out_dir=str(tmp / 'out'),
                  show_progress=False)
    ckpt = os.path.join(trained[0], 'iter_2.pth')
    first = propose(CPU_CONFIG, ckpt, tiny_dataset.root, **kwargs)
    second = propose(CPU_CONFIG, ckpt, tiny_dataset.root, **kwargs)
    return first, second


def test_proposals_from_videos(proposed, tiny_dataset):
    from stad.data.gt import load_gt, split_videos
    res, _ = proposed
    gt = load_gt(tiny_dataset.gt_file)
    assert set(res.files) == {'train', 'val'} and res.videos_run == 4
    total = 0
    for split, path in res.files.items():
        with open(path, 'rb') as f:
            props = pickle.load(f)
        for key, arr in props.items():
            video, frame = parse_img_key(key)
            assert video in split_videos(gt)[split]
            assert (frame - 1) % 3 == 0 and 1 <= frame <= gt['nframes'][video]  # stride 3
            assert arr.dtype == np.float32 and arr.ndim == 2 and arr.shape[1] == 5
            assert 1 <= len(arr) <= 5
            assert (arr[:, :4] >= 0).all() and (arr[:, :4] <= 1).all()
            assert (arr[:, 2] >= arr[:, 0]).all() and (arr[:, 3] >= arr[:, 1]).all()
            assert (np.diff(arr[:, 4]) <= 0).all()  # sorted by score
        total += len(props)
    assert total > 0
    assert set(res.report) == {'train', 'val'}
    for r in res.report.values():
        assert 0 <= r['recall@0.5'] <= 1 and r['recall@0.7'] <= r['recall@0.5']
    assert json.load(open(res.report_file))['report']['val']['gt_boxes'] > 0


def test_rerun_reuses_the_per_video_cache(proposed):
    first, second = proposed
    assert second.videos_run == 0 and second.videos_cached == 4
    for split in first.files:
        a = pickle.load(open(first.files[split], 'rb'))
        b = pickle.load(open(second.files[split], 'rb'))
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_proposals_load_in_ava_dataset(proposed, tiny_dataset):
    from mmaction.datasets import AVADataset
    from mmengine.registry import DefaultScope

    from stad.data.gt import load_gt
    res, _ = proposed
    gt = load_gt(tiny_dataset.gt_file)
    ours = pickle.load(open(res.files['val'], 'rb'))
    with DefaultScope.overwrite_default_scope('mmaction'):
        ds = AVADataset(ann_file=tiny_dataset.csv('val'), exclude_file=None, pipeline=[],
                        label_file=tiny_dataset.label_map, num_classes=len(gt['labels']),
                        multilabel=False, proposal_file=res.files['val'],
                        person_det_score_thr=0.0, data_prefix=dict(img=tiny_dataset.video_dir),
                        test_mode=True, **MULTISPORTS_AVA_KWARGS)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    matched = [i for i in infos if i['img_key'] in ours]
    assert matched, 'no AVADataset sample found its proposals'
    for info in matched:
        np.testing.assert_array_equal(info['proposals'], ours[info['img_key']][:, :4])


def test_proposal_report_cli(proposed, tiny_dataset, tmp_path, capsys):
    from stad.cli import main
    res, _ = proposed
    out = tmp_path / 'report.json'
    assert main(['proposal-report', '--data-root', tiny_dataset.root, '--proposals',
                 f"val={res.files['val']}", '--stride', '3', '--out', str(out)]) == 0
    assert 'recall@0.5' in capsys.readouterr().out
    assert json.load(open(out))['report']['val'] == res.report['val']


def test_propose_cli_missing_checkpoint_is_a_one_line_error(tiny_dataset, tmp_path, capsys):
    from stad.cli import main
    assert main(['propose', '--det-config', CPU_CONFIG, '--det-checkpoint',
                 str(tmp_path / 'no.pth'), '--data-root', tiny_dataset.root,
                 '--work-dir', str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"stad propose: error: checkpoint file not found: {tmp_path / 'no.pth'}"


def test_invalid_options_are_refused():
    from stad.apis.detect import ProposalOptions
    from stad.errors import StadError
    with pytest.raises(StadError, match='stride'):
        ProposalOptions(stride=0)


def test_propose_warns_about_a_truncated_video(tiny_dataset, tmp_path, capsys, truncate_video):
    """Frames after the cut get no proposals: one warning line says so and names the file."""
    import shutil

    from stad.apis.detect import detect_video
    from stad.io.video import count_frames
    from stad.tasks.propose import _warn_if_truncated
    video = str(tmp_path / 'v.mp4')
    from stad.data.gt import load_gt
    first = sorted(load_gt(tiny_dataset.gt_file)['nframes'])[0]
    shutil.copy(tiny_dataset.video_path(first), video)
    truncate_video(video)
    stats = {}
    detect_video(lambda frames: [np.zeros((0, 5), np.float32)] * len(frames), video, 's/v',
                 stats=stats)
    assert 0 < stats['last_frame'] < count_frames(video) == 40
    _warn_if_truncated(video, stats['last_frame'], count_frames(video), stride=1)
    assert capsys.readouterr().err.strip() == (
        f"stad propose: warning: {video}: frames after {stats['last_frame']} do not decode, "
        'its header lists 40 (truncated? `stad check --videos` counts them)')
    _warn_if_truncated(video, 40, 40, stride=1)  # a whole video: nothing
    assert capsys.readouterr().err == ''

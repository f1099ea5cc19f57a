"""Converters: COCO (pycocotools, mmdet CocoDataset), AVA csv + proposals (AVADataset)."""
import copy
import os
import pickle

import numpy as np
import pytest

import stad  # noqa: F401  (before mmaction.models)
from stad.data.convert import (
    ava_rows,
    detections_to_proposals,
    mmdet_results_to_detections,
    to_ava_csv,
    to_coco,
)
from stad.data.gt import load_gt, split_videos
from stad.io.label_map import label_map_text
from stad.io.layout import MULTISPORTS_AVA_KWARGS, img_key


def _gt():
    t0 = np.array([[1, -1.0, 10, 50, 90], [2, 12, 10, 52, 90]], np.float32)  # overshoots
    t1 = np.array([[2, 100, 20, 150, 100.5]], np.float32)
    return dict(labels=['run', 'jump'], train_videos=[['s/a']], test_videos=[['s/b']],
                nframes={'s/a': 3, 's/b': 3}, resolution={'s/a': (100, 200), 's/b': (100, 200)},
                gttubes={'s/a': {0: [t0], 1: [t1]}, 's/b': {1: [t0.copy()]}})


def _counts(gt, split):
    vids = split_videos(gt)[split]
    frames, boxes = set(), 0
    for v in vids:
        for tubes in gt['gttubes'][v].values():
            for t in tubes:
                frames.update((v, int(f)) for f in t[:, 0])
                boxes += len(t)
    return len(frames), boxes


def test_coco_on_hand_made_gt():
    coco = to_coco(_gt(), 'train')
    assert coco['categories'] == [{'id': 0, 'name': 'person'}]
    assert [i['file_name'] for i in coco['images']] == ['s/a/00001.jpg', 's/a/00002.jpg']
    assert coco['images'][0]['width'] == 200 and coco['images'][0]['height'] == 100
    # frame 2 holds two tubes -> two boxes; the -1 overshoot is clipped to 0
    assert [a['image_id'] for a in coco['annotations']] == [0, 1, 1]
    assert coco['annotations'][0]['bbox'] == [0.0, 10.0, 50.0, 80.0]
    assert coco['annotations'][0]['area'] == 4000.0
    assert coco['annotations'][2]['bbox'] == [100.0, 20.0, 50.0, 80.0]  # y2 clipped to 100


def test_ava_csv_on_hand_made_gt():
    lines = to_ava_csv(_gt(), 'train').splitlines()
    assert lines == ['s/a.mp4,1,0.000,0.100,0.250,0.900,0,0',
                     's/a.mp4,2,0.060,0.100,0.260,0.900,0,0',
                     's/a.mp4,2,0.500,0.200,0.750,1.000,1,1']
    assert label_map_text(['run', 'jump']) == '0: run\n1: jump\n'


def test_converters_do_not_mutate_input():
    gt = _gt()
    before = copy.deepcopy(gt)
    to_coco(gt, 'train'), to_coco(gt, 'val'), to_ava_csv(gt, 'train'), ava_rows(gt, 'val')
    dets = {('s/a', 1): np.array([[-5, 10, 250, 90, 0.9]], np.float32)}
    dets_before = copy.deepcopy(dets)
    detections_to_proposals(dets, gt)
    assert pickle.dumps(gt) == pickle.dumps(before)
    np.testing.assert_array_equal(dets[('s/a', 1)], dets_before[('s/a', 1)])


def test_detections_to_proposals(tmp_path):
    from stad.io.layout import DataLayout
    layout = DataLayout(str(tmp_path))
    dets = {('s/a', 2): np.array([[-5, 10, 250, 90, 0.9], [20, 20, 40, 60, 0.3]]),
            ('s/b', 1): np.zeros((0, 5)), ('s/other', 1): np.ones((1, 5))}
    out = detections_to_proposals(dets, _gt(), layout=layout)
    p = out['train'][img_key('s/a', 2)]
    assert p.dtype == np.float32 and p.shape == (2, 5)
    np.testing.assert_allclose(p[0], [0, 0.1, 1, 0.9, 0.9], atol=1e-6)
    # a frame without boxes has no key: AVADataset fails on an empty (0, 5) array
    assert img_key('s/b', 1) not in out['val']
    with open(layout.proposals('train'), 'rb') as f:
        assert set(pickle.load(f)) == {'s/a.mp4,0002'}


def test_mmdet_results_are_converted():
    torch = pytest.importorskip('torch')
    results = [dict(img_path='/d/rawframes/s/a/00002.jpg', ori_shape=(100, 200),
                    pred_instances=dict(bboxes=torch.tensor([[10., 10., 50., 90.]]),
                                        scores=torch.tensor([0.8])))]
    dets, sizes = mmdet_results_to_detections(results)
    np.testing.assert_allclose(dets[('s/a', 2)], [[10, 10, 50, 90, 0.8]], rtol=1e-6)
    p = detections_to_proposals(dets, _gt(), sizes=sizes)['train']['s/a.mp4,0002']
    np.testing.assert_allclose(p, [[0.05, 0.1, 0.25, 0.9, 0.8]], rtol=1e-6)


def test_mmdet_results_are_normalised_by_their_own_frame_size():
    """Frames decoded at half the ground truth's size: boxes in their pixels, normalised
    by ori_shape (by the GT's resolution they came out halved); empty frames left out."""
    torch = pytest.importorskip('torch')
    results = [dict(img_path='/d/rawframes/s/a/00002.jpg', ori_shape=(50, 100),
                    pred_instances=dict(bboxes=torch.tensor([[5., 5., 25., 45.]]),
                                        scores=torch.tensor([0.8]))),
               dict(img_path='/d/rawframes/s/a/00003.jpg', ori_shape=(50, 100),
                    pred_instances=dict(bboxes=torch.zeros((0, 4)), scores=torch.zeros(0)))]
    dets, sizes = mmdet_results_to_detections(results)
    props = detections_to_proposals(dets, _gt(), sizes=sizes)['train']
    np.testing.assert_allclose(props['s/a.mp4,0002'], [[0.05, 0.1, 0.25, 0.9, 0.8]], rtol=1e-6)
    assert 's/a.mp4,0003' not in props


def test_coco_loads_in_pycocotools_and_mmdet(tiny_dataset):
    from pycocotools.coco import COCO
    gt = load_gt(tiny_dataset.gt_file)
    n_img, n_box = _counts(gt, 'train')
    coco = COCO(tiny_dataset.coco('train'))
    assert len(coco.getImgIds()) == n_img and len(coco.getAnnIds()) == n_box

    from mmdet.datasets import CocoDataset
    ds = CocoDataset(ann_file=tiny_dataset.coco('train'),
                     data_prefix=dict(img=tiny_dataset.frame_dir),
                     metainfo=dict(classes=('person',)), pipeline=[], test_mode=False)
    assert len(ds) == n_img
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert sum(len(d['instances']) for d in infos) == n_box
    assert all(os.path.isfile(d['img_path']) for d in infos)
    assert {i['bbox_label'] for d in infos for i in d['instances']} == {0}


def test_csv_and_proposals_load_in_ava_dataset(tiny_dataset, tmp_path):
    from mmaction.datasets import AVADataset
    from mmengine.registry import DefaultScope

    from stad.io.layout import DataLayout
    gt = load_gt(tiny_dataset.gt_file)
    # proposals = the ground truth boxes of the val split with score 1
    dets = {}
    for v in split_videos(gt)['val']:
        for tubes in gt['gttubes'][v].values():
            for t in tubes:
                for f, *box in t:
                    dets.setdefault((v, int(f)), []).append([*box, 1.0])
    props = detections_to_proposals({k: np.array(b) for k, b in dets.items()}, gt,
                                    layout=DataLayout(str(tmp_path)))
    pipeline = [dict(type='DecordInit'),
                dict(type='SampleAVAFrames', clip_len=4, frame_interval=2),
                dict(type='DecordDecode')]
    with DefaultScope.overwrite_default_scope('mmaction'):
        ds = AVADataset(ann_file=tiny_dataset.csv('val'), exclude_file=None, pipeline=pipeline,
                        label_file=tiny_dataset.label_map, num_classes=len(gt['labels']),
                        multilabel=False, proposal_file=str(tmp_path / 'annotations' /
                                                            'multisports_proposals_val.pkl'),
                        data_prefix=dict(img=tiny_dataset.video_dir), test_mode=True,
                        **MULTISPORTS_AVA_KWARGS)
    n_img, _ = _counts(gt, 'val')
    assert len(ds) == n_img
    # a known frame: the middle of the first val tube
    video = split_videos(gt)['val'][0]
    label = sorted(gt['gttubes'][video])[0]
    tube = gt['gttubes'][video][label][0]
    frame, *box = tube[len(tube) // 2]
    key = img_key(video, int(frame))
    idx = next(i for i in range(len(ds)) if ds.get_data_info(i)['img_key'] == key)
    with DefaultScope.overwrite_default_scope('mmaction'):
        out = ds[idx]
    h, w = gt['resolution'][video]
    assert out['imgs'][0].shape == (h, w, 3)
    assert len(out['imgs']) == 4
    # the sampled clip is centred on the frame (0-based index frame - 1)
    assert abs(int(np.median(out['frame_inds'])) - (int(frame) - 1)) <= 4
    gt_px = np.asarray(out['gt_bboxes'])  # DecordDecode scales the csv's [0, 1] to pixels
    assert np.abs(gt_px - np.array(box)).max(axis=1).min() <= 0.6  # csv has 3 decimals
    assert label in np.asarray(out['gt_labels']).ravel().tolist()
    prop = np.asarray(out['proposals'])
    assert len(prop) == len(dets[(video, int(frame))])
    assert np.abs(prop - np.array(box)).max(axis=1).min() <= 0.01
    assert props['val'][key].shape[1] == 5

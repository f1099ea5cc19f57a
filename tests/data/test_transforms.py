"""The decoded-frame cache transforms give exactly what decord gives, decode a video
once, and fail with the video's name."""
import os

import numpy as np
import pytest

from stad.data.transforms import CachedDecordDecode, CachedDecordInit, cached_frames_path
from stad.errors import StadError


def _first_video(layout):
    from stad.data.gt import load_gt
    gt = load_gt(layout.gt_file)
    return layout.video_path(sorted(gt['nframes'])[0])


def _sample(video, inds):
    boxes = np.array([[0.1, 0.2, 0.5, 0.9]], dtype=np.float32)
    return dict(filename=video, frame_inds=np.array(inds), gt_bboxes=boxes.copy(),
                proposals=boxes.copy())


def test_same_frames_and_boxes_as_decord(tiny_dataset, tmp_path):
    from mmaction.datasets.transforms import DecordDecode, DecordInit
    video = _first_video(tiny_dataset)
    inds = [0, 3, 17, 39, 5]
    ref = DecordDecode()(DecordInit()(_sample(video, inds)))
    init = CachedDecordInit(cache_dir=str(tmp_path))
    got = CachedDecordDecode()(init(_sample(video, inds)))
    assert got['total_frames'] == ref['total_frames'] == 40
    assert len(got['imgs']) == len(inds)
    for a, b in zip(got['imgs'], ref['imgs']):
        assert a.dtype == np.uint8 and np.array_equal(a, b)
    assert got['img_shape'] == ref['img_shape'] == (120, 160)
    np.testing.assert_array_equal(got['proposals'], ref['proposals'])
    np.testing.assert_array_equal(got['gt_bboxes'], ref['gt_bboxes'])


def test_decodes_each_video_once(tiny_dataset, tmp_path):
    video = _first_video(tiny_dataset)
    init = CachedDecordInit(cache_dir=str(tmp_path))
    init(_sample(video, [0]))
    path = cached_frames_path(video, str(tmp_path))
    assert os.listdir(tmp_path) == [os.path.basename(path)]  # no temp file left
    stamp = os.stat(path).st_mtime_ns
    init(_sample(video, [1]))
    init(_sample(video[:-len('.mp4')], [1]))  # AVA-style name without extension
    assert os.stat(path).st_mtime_ns == stamp
    assert len(os.listdir(tmp_path)) == 1


def test_rewritten_video_gets_a_new_cache_file(tiny_dataset, tmp_path):
    import shutil
    video = str(tmp_path / 'v.mp4')
    shutil.copy(_first_video(tiny_dataset), video)
    before = cached_frames_path(video, str(tmp_path / 'cache'))
    os.utime(video, ns=(1, 1))
    assert cached_frames_path(video, str(tmp_path / 'cache')) != before


def test_bad_videos_name_the_file(tmp_path):
    init = CachedDecordInit(cache_dir=str(tmp_path / 'cache'))
    with pytest.raises(StadError, match='missing.mp4: video not found'):
        init(_sample(str(tmp_path / 'missing.mp4'), [0]))
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'not a video')
    with pytest.raises(StadError, match='broken.mp4: cannot decode video'):
        init(_sample(str(broken), [0]))
    assert not os.path.exists(tmp_path / 'cache') or not os.listdir(tmp_path / 'cache')


def test_default_cache_is_beside_the_videos(tiny_dataset, tmp_path, monkeypatch):
    import shutil
    video = str(tmp_path / 'v.mp4')
    shutil.copy(_first_video(tiny_dataset), video)
    monkeypatch.delenv('STAD_CACHE_DIR', raising=False)
    CachedDecordInit()(_sample(video, [0]))
    assert len(os.listdir(tmp_path / '.stad_frames')) == 1


def test_unwritable_cache_names_the_video(tiny_dataset, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')  # a file where the cache folder should be
    with pytest.raises(StadError, match='cannot write the frame cache of .*mp4'):
        CachedDecordInit(cache_dir=str(blocker / 'cache'))(
            _sample(_first_video(tiny_dataset), [0]))

"""Frame extraction: all / annotated frames, resumable."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest

from stad.data.frames import extract_frames, is_done
from stad.data.gt import annotated_frames, load_gt
from stad.errors import StadError
from stad.io.layout import DataLayout


def test_tiny_dataset_frames_match_the_video(tiny_dataset):
    import decord
    gt = load_gt(tiny_dataset.gt_file)
    video = sorted(gt['nframes'])[0]
    files = sorted(f for f in os.listdir(tiny_dataset.frames_of(video)) if f.endswith('.jpg'))
    assert files[0] == '00001.jpg' and len(files) == 40
    jpg = cv2.imread(tiny_dataset.frame_path(video, 7))[..., ::-1]  # RGB like decord
    ref = decord.VideoReader(tiny_dataset.video_path(video))[6].asnumpy()
    assert np.abs(jpg.astype(int) - ref.astype(int)).mean() < 6  # JPEG q90


@pytest.fixture()
def fresh_root(tiny_dataset, tmp_path):
    shutil.copytree(tiny_dataset.video_dir, tmp_path / 'trainval')
    return DataLayout(str(tmp_path))


def test_annotated_only(fresh_root):
    gt = load_gt(fresh_root.gt_file)
    done = extract_frames(fresh_root, frames='annotated', workers=2, progress=False)
    ann = annotated_frames(gt)
    for video, n in done.items():
        assert n == len(ann.get(video, ()))
        on_disk = {int(f[:5]) for f in os.listdir(fresh_root.frames_of(video)) if f.endswith('.jpg')}
        assert on_disk == ann.get(video, set())
    # asking for all frames afterwards redoes the videos
    done = extract_frames(fresh_root, frames='all', workers=1, progress=False)
    assert all(n == 40 for n in done.values())


def test_resumable_partial_video_is_redone(fresh_root):
    gt = load_gt(fresh_root.gt_file)
    a, b = sorted(gt['nframes'])[:2]
    assert extract_frames(fresh_root, videos=[a, b], workers=1, progress=False) == {a: 40, b: 40}
    # b was interrupted: marker gone, last frames missing
    os.remove(fresh_root.frames_done(b))
    for f in range(30, 41):
        os.remove(fresh_root.frame_path(b, f))
    mtime_a = os.path.getmtime(fresh_root.frame_path(a, 1))
    done = extract_frames(fresh_root, videos=[a, b], workers=2, progress=False)
    assert done == {a: 0, b: 40}
    assert os.path.getmtime(fresh_root.frame_path(a, 1)) == mtime_a
    assert os.path.isfile(fresh_root.frame_path(b, 40)) and is_done(fresh_root, b, range(1, 41))
    with open(fresh_root.frames_done(b)) as f:
        assert json.load(f)['frames'] == list(range(1, 41))


def test_missing_video_is_a_stad_error(fresh_root):
    gt = load_gt(fresh_root.gt_file)
    video = sorted(gt['nframes'])[0]
    os.remove(fresh_root.video_path(video))
    with pytest.raises(StadError, match=f"video '{video}': missing file"):
        extract_frames(fresh_root, videos=[video], progress=False)



def test_an_id_leaving_the_root_writes_nothing_even_unvalidated(tiny_dataset, tmp_path):
    """``gt=`` skips check_gt; the layout still refuses '../..' (frames would land in
    ``tmp_path/escaped``, outside the root ``tmp_path/ds``)."""
    gt = load_gt(tiny_dataset.gt_file)
    video = sorted(gt['nframes'])[0]
    layout = DataLayout(str(tmp_path / 'ds'))
    os.makedirs(layout.video_dir)
    shutil.copy(tiny_dataset.video_path(video), tmp_path / 'escaped.mp4')  # its video_path
    bad = '../../escaped'
    gt = dict(gt, nframes={bad: 40}, resolution={bad: (120, 160)})
    with pytest.raises(StadError) as e:
        extract_frames(layout, gt=gt, workers=1, progress=False)
    assert str(e.value) == ("video '../../escaped': has a '..' component; video ids are "
                            "relative '<sport>/<video>' paths")
    assert sorted(os.listdir(tmp_path)) == ['ds', 'escaped.mp4']
    assert os.listdir(layout.root) == ['trainval']

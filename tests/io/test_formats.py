"""Each file format's writer and reader in stad.io agree (round trips), and the readers
name the file and line of bad input."""
import numpy as np
import pytest

from stad.errors import StadError
from stad.io import ava_csv, coco, detections, label_map, proposals


def test_ava_csv_round_trip(tmp_path):
    path = str(tmp_path / 'a.csv')
    rows = [('s/a.mp4', 2, 0.1, 0.2, 0.5, 0.9, 1, 0), ('s/a.mp4', 3, 0.1, 0.2, 0.5, 0.9, 1, 0),
            ('s/b.mp4', 7, 0, 0, 1, 1, 0, 3)]
    assert ava_csv.write_csv(path, rows) == 3
    assert open(path).readline() == 's/a.mp4,2,0.100,0.200,0.500,0.900,1,0\n'
    assert ava_csv.read_keyframes(path) == {'s/a': {2, 3}, 's/b': {7}}
    (tmp_path / 'bad.csv').write_text('s/a.mp4,2,0.1\nnot a row\n')
    with pytest.raises(StadError, match=r'bad.csv:2: expected "video,frame,..."'):
        ava_csv.read_keyframes(str(tmp_path / 'bad.csv'))


def test_label_map_round_trip(tmp_path):
    path = str(tmp_path / 'labels.txt')
    label_map.write_label_map(path, ['run', 'jump jack'])
    assert label_map.read_label_map(path) == {0: 'run', 1: 'jump jack'}
    (tmp_path / 'bad.txt').write_text('0: run\njump\n')
    with pytest.raises(StadError, match=r'bad.txt:2: expected "id: name"'):
        label_map.read_label_map(str(tmp_path / 'bad.txt'))


def test_coco_round_trip(tmp_path):
    path = str(tmp_path / 'c.json')
    doc = dict(images=[dict(id=0, file_name='s/a/00001.jpg', width=4, height=3)],
               annotations=[], categories=[dict(id=0, name='person')])
    coco.write_coco(path, doc)
    assert coco.read_coco(path) == doc
    (tmp_path / 'x.json').write_text('{"images": []}')
    with pytest.raises(StadError, match="x.json: expected a COCO dict with a 'annotations' list"):
        coco.read_coco(str(tmp_path / 'x.json'))


def test_proposals_round_trip_drop_empty_frames(tmp_path):
    path = str(tmp_path / 'p.pkl')
    dets = {('s/a', 2): np.array([[10, 20, 50, 90, 0.9]]), ('s/a', 3): np.zeros((0, 5))}
    props = proposals.to_proposals(dets, {'s/a': (100, 200)})
    assert list(props) == ['s/a.mp4,0002']  # AVADataset fails on empty arrays
    np.testing.assert_allclose(props['s/a.mp4,0002'], [[0.05, 0.2, 0.25, 0.9, 0.9]], rtol=1e-6)
    proposals.save_proposals(path, props)
    back = proposals.load_proposals(path)
    assert list(back) == list(props) and back['s/a.mp4,0002'].dtype == np.float32
    with pytest.raises(StadError, match="no frame size"):
        proposals.to_proposals({('s/x', 1): np.ones((1, 5))}, {'s/a': (1, 1)})


def _gt():
    tube = np.array([[1, 10, 10, 50, 90], [2, 11, 10, 51, 90]], dtype=np.float32)
    return dict(labels=['a', 'b'], train_videos=[['s/t']], test_videos=[['s/v1', 's/v2']],
                nframes={'s/t': 2, 's/v1': 2, 's/v2': 2},
                resolution={v: (120, 160) for v in ('s/t', 's/v1', 's/v2')},
                gttubes={'s/v1': {0: [tube]}, 's/v2': {1: [tube]}})


def test_detections_round_trip(tmp_path):
    path = str(tmp_path / 'd.pkl')
    dets = np.array([[1, 2, 1, 0.7, 10, 10, 50, 90], [0, 1, 0, 0.9, 11, 10, 51, 90]])
    detections.save_detections(path, _gt(), dets)
    np.testing.assert_array_equal(detections.load_detections(path, _gt()), dets)


def test_detections_with_four_columns_are_refused(tmp_path):
    """(N, 4) arrays were reshaped to (N/2, 8) and scored 0, silently."""
    import pickle
    path = tmp_path / 'd4.pkl'
    path.write_bytes(pickle.dumps(dict(videos=['s/v1'], dets=np.ones((4, 4)))))
    with pytest.raises(StadError, match=r"'dets' must be an array \(N, 8\).*got shape \(4, 4\)"):
        detections.load_detections(str(path), _gt())


def test_bad_config_is_one_line(tmp_path):
    from stad.io.config import read_config
    bad = tmp_path / 'bad.py'
    bad.write_text('model = dict(\n')
    with pytest.raises(StadError, match=r'bad.py:1: not a valid config'):
        read_config(str(bad))
    base = tmp_path / 'child.py'
    base.write_text("_base_ = ['missing_base.py']\n")
    with pytest.raises(StadError, match=r'child.py: cannot read the config \(No such file '
                                        r'or directory: .*missing_base.py\)'):
        read_config(str(base))
    with pytest.raises(StadError, match='config file not found'):
        read_config(str(tmp_path / 'nope.py'))


def test_detections_carry_their_track_ids(tmp_path):
    path = str(tmp_path / 'd.pkl')
    dets = np.array([[1, 2, 1, 0.7, 10, 10, 50, 90], [0, 1, 0, 0.9, 11, 10, 51, 90]])
    detections.save_detections(path, _gt(), dets, track_ids=[3, 0])
    np.testing.assert_array_equal(detections.load_track_ids(path, 2), [3, 0])
    with pytest.raises(StadError, match=r"'track_ids' must be 2 integers >= 0"):
        detections.save_detections(path, _gt(), dets, track_ids=[1])
    detections.save_detections(path, _gt(), dets)
    assert detections.load_track_ids(path, 2) is None

"""stad's one restricted unpickler: what it must read (mmaction2 result dumps, Python 2
era protocol-2 pickles) and what it must refuse in every reader, running nothing."""
import os
import pickle
import pickletools

import numpy as np
import pytest
import torch
from gt_helpers import hand_gt

import stad  # noqa: F401  (compat fixes before mmaction is imported)
from stad.errors import StadError
from stad.io.safe_pickle import UnsafePickleError, load_pickle


def _dump(obj, path, **kwargs):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, **kwargs)
    return str(path)


def _globals(path):
    """The ``module name`` of every global a pickle names."""
    names, strings = set(), []
    with open(path, 'rb') as f:
        for op, arg, _ in pickletools.genops(f):
            if op.name == 'GLOBAL':
                names.add(arg)
            elif op.name == 'STACK_GLOBAL':
                names.add(' '.join(strings[-2:]))
            if isinstance(arg, str):
                strings.append(arg)
    return names


class _Evil:
    """Unpickling this runs ``touch marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


# --- mmaction2 result dumps -----------------------------------------------------------

def _mim_test_dump(path):
    """What ``mim test mmaction2 CONFIG --dump path`` writes for one keyframe: the
    Evaluator turns each ActionDataSample into a dict (``to_dict``) and mmengine's
    DumpResults metric writes the list with ``mmengine.fileio.dump``."""
    from mmaction.structures import ActionDataSample
    from mmengine.evaluator import DumpResults
    from mmengine.structures import InstanceData
    sample = ActionDataSample()
    sample.set_metainfo(dict(video_id='s/b', timestamp=3, img_key='s/b,0003',
                             img_shape=(100, 200), scale_factor=np.array([1.0, 1.0])))
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 0.25, 0.5]]),
        # background column first, then 'run', 'jump'
        scores=torch.tensor([[0.0, 0.7, 0.2], [0.0, 0.1, 0.9]]))
    metric = DumpResults(out_file_path=str(path))
    metric.process(None, [sample.to_dict()])
    metric.compute_metrics(metric.results)
    return str(path)


def test_mim_test_dump_loads_as_detections(tmp_path):
    from stad.io.detections import load_detections
    path = _mim_test_dump(tmp_path / 'results.pkl')
    # the dump really holds pickled tensors (their storages as torch.save bytes)
    assert {'torch._utils _rebuild_tensor_v2', 'torch.storage _load_from_bytes'} <= _globals(path)
    dets = load_detections(path, hand_gt())
    # video_index, frame, label, score, x1, y1, x2, y2 in pixels of the 200x100 video
    np.testing.assert_allclose(dets, [[0, 3, 0, 0.7, 20, 20, 100, 60],
                                      [0, 3, 1, 0.9, 0, 0, 50, 50]], rtol=1e-6)
    # tensors are read only where asked for: ground truth and proposals never hold any
    with pytest.raises(UnsafePickleError, match='refused to load global torch._utils'):
        load_pickle(path, 'ground truth file')


def test_tensor_dump_smuggling_code_in_its_storage_bytes_is_refused(tmp_path):
    """torch's own ``_load_from_bytes`` unpickles the bytes with weights_only=False; stad
    reads them with torch's safe loader, which refuses the code."""
    import io
    marker = tmp_path / 'pwned'
    inner = io.BytesIO()
    torch.save(_Evil(marker), inner, _use_new_zipfile_serialization=False)

    class FakeStorage:
        def __reduce__(self):
            return torch.storage._load_from_bytes, (inner.getvalue(),)

    path = _dump([{'video_id': 's/b', 'x': FakeStorage()}], tmp_path / 'results.pkl',
                 protocol=2)
    with pytest.raises(UnsafePickleError) as e:
        load_pickle(path, 'detections file', torch=True)
    msg = str(e.value)
    assert msg.startswith(f'{path}: refused to load a tensor storage naming global posix.system')
    assert '\n' not in msg
    assert not marker.exists(), 'the pickled code ran'
    # the plain pickle module would have run it: the refusal is what protects the user
    with open(path, 'rb') as f:
        pickle.load(f)
    assert marker.exists()


def test_protocol2_pickle_with_set_tuple_and_array_loads(tmp_path):
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = _dump({'ids': {3, 1}, 'size': (100, 200), 'boxes': arr}, tmp_path / 'p2.pkl',
                 protocol=2)
    assert '__builtin__ set' in _globals(path)  # Python 2 names, as old MultiSports files
    got = load_pickle(path)
    assert got['ids'] == {1, 3} and got['size'] == (100, 200)
    assert got['boxes'].dtype == np.float32
    np.testing.assert_array_equal(got['boxes'], arr)


# --- every reader refuses code, in one line naming the file and the global -----------

def _readers(tmp_path):
    """name -> (reader(path), what the evil file holds)."""
    from stad.data.gt import load_gt, read_gt_pickle
    from stad.io.detections import load_detections
    from stad.io.proposals import load_proposals
    gt = hand_gt()
    return {
        'read_gt_pickle': (read_gt_pickle, lambda e: dict(hand_gt(), labels=[e])),
        'load_gt': (load_gt, lambda e: dict(hand_gt(), labels=[e])),
        'load_proposals': (load_proposals, lambda e: {'s/b,0003': e}),
        'load_detections': (lambda p: load_detections(p, gt),
                            lambda e: [dict(video_id='s/b', timestamp=3, pred_instances=e)]),
        'MultiSportsDataset': (lambda p: _multisports_dataset(tmp_path, p),
                               lambda e: {'s/b,0003': e}),
    }


def _multisports_dataset(tmp_path, proposal_file):
    from stad.data.datasets import MultiSportsDataset
    ann = tmp_path / 'val.csv'
    ann.write_text('s/b,3,0.1,0.1,0.5,0.9,1,0\n')
    return MultiSportsDataset(ann_file=str(ann), pipeline=[], proposal_file=proposal_file,
                              num_classes=3, test_mode=True)


@pytest.mark.parametrize('reader', ['read_gt_pickle', 'load_gt', 'load_proposals',
                                    'load_detections', 'MultiSportsDataset'])
def test_reader_refuses_code_and_runs_nothing(tmp_path, reader):
    read, wrap = _readers(tmp_path)[reader]
    marker = tmp_path / 'pwned'
    path = _dump(wrap(_Evil(marker)), tmp_path / 'evil.pkl')
    with pytest.raises(StadError) as e:
        read(path)
    msg = str(e.value)
    assert msg.startswith(f'{path}: refused to load global posix.system ') and '\n' not in msg
    assert not marker.exists(), 'the pickled code ran'


def test_multisports_dataset_reads_a_good_proposal_file(tmp_path):
    boxes = np.array([[0.1, 0.1, 0.5, 0.9, 0.95]], np.float32)
    ds = _multisports_dataset(tmp_path, _dump({'s/b,0003': boxes}, tmp_path / 'props.pkl'))
    np.testing.assert_array_equal(ds.proposals['s/b,0003'], boxes)


def test_cli_eval_refuses_code_in_one_line(tmp_path, capsys):
    from stad.cli import main
    marker = tmp_path / 'pwned'
    gt = _dump(hand_gt(), tmp_path / 'gt.pkl')
    evil = _dump([dict(video_id='s/b', timestamp=3, pred_instances=_Evil(marker))],
                 tmp_path / 'evil.pkl')
    assert main(['eval', '--gt', gt, '--dets', evil]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f'stad eval: error: {evil}: refused to load global posix.system ')
    assert not marker.exists(), 'the pickled code ran'


def test_propose_cache_refuses_code_but_redoes_a_truncated_entry(tmp_path):
    from stad.tasks.propose import _read_cache
    marker = tmp_path / 'pwned'
    evil = _dump(dict(signature='s', video='s/b', detections=_Evil(marker)),
                 tmp_path / 'evil.pkl')
    # raises instead of quietly recomputing: someone put code in the cache
    with pytest.raises(UnsafePickleError, match=f'{evil}: refused to load global posix.system'):
        _read_cache(evil, 's')
    assert not marker.exists(), 'the pickled code ran'
    good = _dump(dict(signature='s', video='s/b', detections={('s/b', 1): np.zeros((1, 5))}),
                 tmp_path / 'good.pkl')
    assert list(_read_cache(good, 's')) == [('s/b', 1)]
    data = open(good, 'rb').read()
    truncated = tmp_path / 'truncated.pkl'
    truncated.write_bytes(data[:len(data) // 2])
    assert _read_cache(str(truncated), 's') is None  # recomputed, not an error

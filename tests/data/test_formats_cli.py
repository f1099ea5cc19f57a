"""``stad synth --format X`` -> ``stad import X`` gives the native synthetic ground truth
back (the formats with boxes), and ``stad run --source`` finds the format by itself."""
import numpy as np
import pytest

from stad.cli import main
from stad.data.formats.detect import detect_format
from stad.data.gt import load_gt
from stad.io.layout import DataLayout

SMALL = ['--seed', '3', '--videos', '4', '--frames', '30', '--size', '96x72']


@pytest.fixture(scope='module')
def native(tmp_path_factory):
    root = tmp_path_factory.mktemp('native')
    assert main(['synth', '--out', str(root), *SMALL]) == 0
    return load_gt(DataLayout(str(root)).gt_file)


def _same_tubes(a, b):
    assert a['labels'] == b['labels']
    assert sorted(a['test_videos'][0]) == sorted(b['test_videos'][0])
    assert a['nframes'] == b['nframes'] and a['resolution'] == b['resolution']
    for video, tubes in a['gttubes'].items():
        assert set(tubes) == set(b['gttubes'][video]), video
        for label, ts in tubes.items():
            other = sorted(b['gttubes'][video][label], key=lambda t: (t[0, 0], t[0, 1]))
            ts = sorted(ts, key=lambda t: (t[0, 0], t[0, 1]))
            assert len(ts) == len(other), (video, label)
            for t, o in zip(ts, other):
                assert np.array_equal(t[:, 0], o[:, 0])
                assert np.abs(t[:, 1:] - o[:, 1:]).max() <= 0.5


@pytest.mark.parametrize('fmt', ['cvat', 'ava'])
def test_synth_format_then_import_gives_the_native_ground_truth(tmp_path, native, fmt, capsys):
    src, root = tmp_path / 'src', tmp_path / 'root'
    assert main(['synth', '--format', fmt, '--out', str(src), *SMALL]) == 0
    assert detect_format(str(src)) == fmt
    assert main(['import', fmt, str(src), '--out', str(root)]) == 0
    assert 'wrote' in capsys.readouterr().out
    _same_tubes(native, load_gt(DataLayout(str(root)).gt_file))
    lay = DataLayout(str(root))
    assert main(['check', lay.gt_file, '--videos', lay.video_dir]) == 0


@pytest.mark.parametrize('fmt', ['createml-csv', 'createml-folders'])
def test_createml_sources_are_detected(tmp_path, fmt):
    src = tmp_path / 'src'
    assert main(['synth', '--format', fmt, '--out', str(src), *SMALL]) == 0
    assert detect_format(str(src)) == 'createml'


def test_import_refuses_an_existing_root_and_names_it(tmp_path, capsys):
    src, root = tmp_path / 'src', tmp_path / 'root'
    assert main(['synth', '--format', 'cvat', '--out', str(src), *SMALL]) == 0
    root.mkdir()
    (root / 'keep.txt').write_text('mine')
    assert main(['import', 'cvat', str(src), '--out', str(root)]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith('stad import: error: ') and str(root) in err and '--overwrite' in err
    assert sorted(p.name for p in root.iterdir()) == ['keep.txt']


def test_unknown_source_is_one_line(tmp_path):
    from stad.errors import StadError
    (tmp_path / 'notes.txt').write_text('x')
    with pytest.raises(StadError, match='found no annotations stad imports'):
        detect_format(str(tmp_path))
    with pytest.raises(StadError, match='no such file or folder'):
        detect_format(str(tmp_path / 'missing'))

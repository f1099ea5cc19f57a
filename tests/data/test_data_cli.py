"""`stad synth`, `stad convert`, `stad extract-frames` end to end (in process; the
file-size limit in a child process)."""
import json
import os
import shutil
import subprocess
import sys

from stad.cli import main
from stad.data.gt import load_gt
from stad.io.atomic import atomic_dump_pickle
from stad.io.layout import DataLayout


def test_synth_convert_extract(tmp_path, capsys):
    root = str(tmp_path / 'ds')
    layout = DataLayout(root)
    assert main(['synth', '--out', root, '--videos', '2', '--frames', '12',
                 '--size', '64x48', '--max-people', '1']) == 0
    assert os.path.isfile(layout.gt_file)
    assert main(['convert', '--data-root', root]) == 0
    with open(layout.coco('train')) as f:
        assert json.load(f)['categories'] == [{'id': 0, 'name': 'person'}]
    assert open(layout.label_map).read().startswith('0: jumping jack\n')
    assert main(['extract-frames', '--data-root', root, '--workers', '1']) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        '24 frames written, 0 of 2 videos already complete'
    # the old spelling still works, with one deprecation line
    assert main(['extract-frames', '--root', root, '--workers', '1']) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[-1] == '0 frames written, 2 of 2 videos already complete'
    assert 'stad extract-frames: --root is deprecated, use --data-root' in out.err.splitlines()


def test_bad_size_is_a_one_line_error(tmp_path, capsys):
    assert main(['synth', '--out', str(tmp_path), '--size', '64by48']) == 2
    assert "stad synth: error: --size: expected WxH like 320x240, got '64by48'" in \
        capsys.readouterr().err


def test_convert_under_a_file_size_limit_is_one_line_and_leaves_no_file(tiny_dataset, tmp_path):
    root = tmp_path / 'ds'
    shutil.copytree(tiny_dataset.video_dir, root / 'trainval')
    layout = DataLayout(str(root))
    child = ('import resource, signal, sys\n'
             'signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n'
             'from stad.cli import main\n'
             'hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]\n'
             'resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))\n'
             f'sys.exit(main(["convert", "--data-root", {str(root)!r}]))\n')
    r = subprocess.run([sys.executable, '-c', child], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [
        f'stad convert: error: cannot write {layout.coco("train")}: File too large']
    assert os.listdir(layout.ann_dir) == []  # no partial json, no temp file


def test_extract_frames_refuses_a_video_id_leaving_the_root(tiny_dataset, tmp_path, capsys):
    gt = load_gt(tiny_dataset.gt_file)
    video, bad = gt['test_videos'][0][0], '../../escaped'
    for key in ('nframes', 'resolution', 'gttubes'):
        gt[key][bad] = gt[key].pop(video)
    gt['test_videos'] = [[bad]]
    layout = DataLayout(str(tmp_path / 'ds'))
    os.makedirs(layout.video_dir)
    atomic_dump_pickle(gt, layout.gt_file)
    shutil.copy(tiny_dataset.video_path(video), tmp_path / 'escaped.mp4')  # its video_path
    assert main(['extract-frames', '--data-root', layout.root, '--workers', '1']) == 2
    assert capsys.readouterr().err.splitlines() == [
        "stad extract-frames: error: multisports_GT.pkl: video '../../escaped', field "
        "'gttubes': has a '..' component; video ids are relative '<sport>/<video>' paths"]
    assert sorted(os.listdir(tmp_path)) == ['ds', 'escaped.mp4']  # no escaped/00001.jpg
    assert not os.path.exists(layout.frame_dir)

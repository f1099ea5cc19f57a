"""``stad run --source``: annotations in a user's format are imported into the work dir
and trained on, with the action model's classes from the imported label set."""
import json
import subprocess
import sys

import pytest

from stad.cli import main


@pytest.mark.slow
def test_stad_run_from_a_cvat_export(tmp_path):
    src, work = tmp_path / 'cvat', tmp_path / 'run'
    assert main(['synth', '--format', 'cvat', '--out', str(src), '--videos', '4', '--frames',
                 '40', '--size', '160x120']) == 0
    cmd = [sys.executable, '-m', 'stad.cli', 'run', '--source', str(src), '--work-dir',
           str(work), '--det-iters', '2', '--action-iters', '2', '--no-demo',
           '--window-seconds', '0.5']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'imported 4 videos' in r.stdout and '(cvat)' in r.stdout
    # 0.5 s at 25 fps with the config's 4-frame clips: frame_interval 4 (13 frames)
    assert ('prediction window: window 0.5 s x 25 fps = 12.5 frames -> clip_len 4 x '
            'frame_interval 4: a clip spans 13 frames (0.52 s)') in r.stdout + r.stderr
    assert (work / 'data' / 'trainval' / 'multisports_GT.pkl').is_file()
    metrics = json.loads((work / 'metrics.json').read_text())
    assert metrics['options']['source_format'] == 'cvat'
    assert metrics['metrics']['frame_mAP@0.5'] is not None
    dumped = list((work / 'action').glob('*/vis_data/config.py')) or \
        list((work / 'action').glob('*.py'))
    text = dumped[0].read_text()
    assert "class_names = [\n    'jumping jack',\n    'squat',\n    'wave',\n    'walk'," in text


def test_a_source_without_boxes_trains_the_detector_first(tmp_path):
    """Create ML data has no boxes: the detector that labels it comes before the import
    (trained on the synthetic default, or the one given), and labels its people."""
    from stad.data.formats.synth_formats import synth_format
    from stad.tasks.run import RunOptions, build_stages
    src = synth_format(str(tmp_path / 'cm'), 'createml-csv', progress=False, seed=0,
                       videos=4, frames=30, size=(96, 72))
    o = RunOptions(source=src, work_dir=str(tmp_path / 'w'))
    assert o.source_format == 'createml' and o.data_root == str(tmp_path / 'w' / 'data')
    assert [s.name for s in build_stages(o)] == [
        'synth_for_det', 'det_train', 'import', 'data', 'propose', 'action_train', 'eval',
        'demo']
    given = RunOptions(source=src, work_dir=str(tmp_path / 'w'), det_checkpoint='det.pth')
    assert [s.name for s in build_stages(given)][:3] == ['import', 'data', 'propose']
    boxes = RunOptions(source=src, source_format='cvat', work_dir=str(tmp_path / 'w'))
    assert [s.name for s in build_stages(boxes)][:3] == ['import', 'data', 'det_train']

"""`stad run` end to end on tiny data: every stage runs, the table and files appear, and a
rerun resumes (skips every complete stage). A few iterations only: the models learn
nothing here, the figures are checked for presence and range, not value."""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from stad.tasks.stages import Stage, run_stages


def test_stages_skip_complete_and_rerun_incomplete(tmp_path):
    calls = []
    out = tmp_path / 'a.txt'

    def make_a():
        calls.append('a')
        out.write_text('x')
        return {'n': 1}

    stages = [Stage('a', make_a, [str(out)])]
    assert run_stages(str(tmp_path), stages, log=lambda s: None)['a']['results'] == {'n': 1}
    rec = run_stages(str(tmp_path), stages, log=lambda s: None)['a']
    assert rec['skipped'] and calls == ['a']
    out.unlink()  # an output vanished: the stage is not complete any more
    run_stages(str(tmp_path), stages, log=lambda s: None)
    assert calls == ['a', 'a']


@pytest.mark.slow
def test_stad_run_tiny_and_resume(tiny_dataset, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(tiny_dataset.root, root)
    work = tmp_path / 'run'
    cmd = [sys.executable, '-m', 'stad.cli', 'run', '--data-root', str(root),
           '--work-dir', str(work), '--det-iters', '2', '--action-iters', '2']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'frame_mAP@0.5' in r.stdout and 'time total (s)' in r.stdout
    metrics = json.loads((work / 'metrics.json').read_text())['metrics']
    for key in ('detector_bbox_AP50', 'proposal_recall@0.5', 'frame_mAP@0.5', 'video_mAP@0.2',
                'video_mAP@0.5'):
        assert metrics[key] is not None and 0.0 <= metrics[key] <= 1.0, key
    assert metrics['eval_mode'] == 'all_frames'
    report = (work / 'report.md').read_text()
    assert 'training_curves.png' in report and (work / 'training_curves.png').exists()
    assert (work / 'demo' / 'demo.mp4').stat().st_size > 0
    for model in ('det', 'action'):  # both trainings use the run's --seed (default 0)
        logs = glob.glob(str(work / model / '*' / '*.log'))
        assert logs and '    seed: 0\n' in open(logs[0]).read(), model
    # a rerun resumes: every stage is complete and skipped
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert r2.stdout.count('complete, skipped') == 6


def test_run_without_ground_truth_is_a_one_line_error(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'stad.cli', 'run', '--data-root', str(tmp_path),
                        '--work-dir', str(tmp_path / 'w')], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith('stad run: error: ground truth not found:')
    assert not os.path.exists(tmp_path / 'w' / 'metrics.json')

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


def test_changed_options_rerun_the_stage_and_everything_after(tmp_path):
    calls, logs = [], []
    a_dir = tmp_path / 'a'

    def stage(name, params, clean=()):
        out = tmp_path / f'{name}.txt'

        def run():
            calls.append(name)
            out.write_text(name)
            return {}
        return Stage(name, run, [str(out)], params=params, clean=[str(d) for d in clean])

    def pipeline(iters):
        return [stage('a', {'x': 1}), stage('b', {'iters': iters}, clean=[a_dir]),
                stage('c', {})]

    run_stages(str(tmp_path), pipeline(4), log=logs.append)
    a_dir.mkdir()
    (a_dir / 'iter_4.pth').write_text('old')  # what the old options left behind
    run_stages(str(tmp_path), pipeline(6), log=logs.append)
    # a is unchanged; b's options changed: b and c (after it) rerun, b's folder is cleared
    assert calls == ['a', 'b', 'c', 'b', 'c']
    assert "[2/3] b: options changed since it ran (iters 4 -> 6): rerunning it" in logs
    assert not (a_dir / 'iter_4.pth').exists()
    rec = json.loads((tmp_path / 'stages' / 'b.json').read_text())
    assert rec['params'] == {'iters': 6}
    run_stages(str(tmp_path), pipeline(6), log=logs.append)
    assert calls == ['a', 'b', 'c', 'b', 'c']  # unchanged now: all skipped


def test_killed_stage_resumes_without_clearing(tmp_path):
    """A stage killed mid-way (started, no record) reruns with its folder kept, so a
    training resumes from its checkpoint; with other options it starts clean."""
    work = tmp_path / 'w'
    folder = tmp_path / 'train'
    folder.mkdir()
    (folder / 'iter_2.pth').write_text('ckpt')

    def killed():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stages(str(work), [Stage('t', killed, [], params={'i': 1}, clean=[str(folder)])],
                   log=lambda s: None)
    seen = []
    run_stages(str(work), [Stage('t', lambda: seen.append(os.listdir(folder)) or {}, [],
                                 params={'i': 1}, clean=[str(folder)])], log=lambda s: None)
    assert seen == [['iter_2.pth']]
    os.remove(work / 'stages' / 't.json')  # killed again, then rerun with other options
    run_stages(str(work), [Stage('t', lambda: {}, [], params={'i': 2}, clean=[str(folder)])],
               log=lambda s: None)
    assert not folder.exists()


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
        logs = [p for p in glob.glob(str(work / model / '*' / '*.log'))
                if not p.endswith('stdout.log')]  # mmengine's log, not what was printed
        assert logs and '    seed: 0\n' in open(logs[0]).read(), model
    # the terminal shows progress lines and the tables, not mmengine's dumps (in the logs)
    terminal = r.stdout + r.stderr
    assert 'Config:' not in terminal and 'System environment' not in terminal
    assert ' - mmengine - INFO - ' not in terminal
    assert max(len(line) for line in terminal.splitlines()) < 300
    assert 'System environment' in open(logs[0]).read()
    # a rerun resumes: every stage is complete and skipped
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert r2.stdout.count('complete, skipped') == 6
    # other options: the stages they touch rerun (not 'complete, skipped' with stale files)
    r3 = subprocess.run(cmd[:-1] + ['3'], capture_output=True, text=True, timeout=900)
    assert r3.returncode == 0, r3.stderr[-3000:]
    assert r3.stdout.count('complete, skipped') == 3  # data, det_train, propose
    assert 'action_train: options changed since it ran (iters 2 -> 3)' in r3.stdout
    doc = json.loads((work / 'metrics.json').read_text())
    assert doc['options']['action_iters'] == 3
    assert os.path.basename(open(work / 'action' / 'last_checkpoint').read().strip()) \
        == 'iter_3.pth'
    # killed during the detector's last validation: the resumed run validates again
    os.remove(work / 'stages' / 'det_train.json')
    for path in glob.glob(str(work / 'det' / '*' / 'vis_data' / 'scalars.json')):
        rows = [line for line in open(path) if 'coco/bbox_mAP' not in line]
        open(path, 'w').writelines(rows)
    r4 = subprocess.run(cmd[:-1] + ['3', '--no-demo'], capture_output=True, text=True,
                        timeout=900)
    assert r4.returncode == 0, r4.stderr[-3000:]
    assert json.loads((work / 'metrics.json').read_text())['metrics']['detector_bbox_AP50'] \
        is not None


def test_run_without_ground_truth_is_a_one_line_error(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'stad.cli', 'run', '--data-root', str(tmp_path),
                        '--work-dir', str(tmp_path / 'w')], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith('stad run: error: ground truth not found:')
    assert not os.path.exists(tmp_path / 'w' / 'metrics.json')

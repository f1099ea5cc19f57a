"""The CPU action config trains on the tiny dataset, saves checkpoints and resumes."""
import glob
import json
import math
import os

from action_helpers import CPU_CONFIG, tiny_cfg_options

from stad.tasks.run import SYNTH_DET_CONFIG


def _train_logs(work_dir):
    """Every training log line (dicts with 'iter' and 'loss') of the run's scalars.json."""
    rows = []
    for path in glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            rows += [json.loads(line) for line in f if '"loss"' in line]
    return rows


def test_train_then_resume(action_data, tmp_path):
    from stad.tasks.train import train
    root, proposals = action_data
    work_dir = str(tmp_path / 'work')
    opts = tiny_cfg_options(root, proposals)

    # a run that stops after 2 iterations, like one killed right after a checkpoint
    runner = train(CPU_CONFIG, work_dir=work_dir, cfg_options={**opts, 'train_cfg.max_iters': 2})
    assert runner.iter == 2
    assert os.path.isfile(os.path.join(work_dir, 'iter_2.pth'))
    first = _train_logs(work_dir)
    assert [r['iter'] for r in first] == [1, 2]
    assert all(math.isfinite(r['loss']) for r in first)

    # --resume goes on from iter 2 to 4 rather than starting again
    runner = train(CPU_CONFIG, work_dir=work_dir, resume=True, cfg_options=opts)
    assert runner.iter == 4
    assert os.path.isfile(os.path.join(work_dir, 'iter_4.pth'))
    iters = sorted(r['iter'] for r in _train_logs(work_dir))
    assert iters == [1, 2, 3, 4], iters
    assert all(math.isfinite(r['loss']) for r in _train_logs(work_dir))


def test_iters_shortens_the_lr_schedule():
    from stad.tasks.train import load_config
    cfg = load_config(CPU_CONFIG, iters=300)
    warmup, cosine = cfg.param_scheduler
    full = load_config(CPU_CONFIG).train_cfg.max_iters
    assert cfg.train_cfg.max_iters == 300
    assert cosine.T_max == cosine.end == 300  # decays over the run, not over `full`
    assert warmup.end == round(100 * 300 / full)  # the config warms up over 100
    det = load_config(SYNTH_DET_CONFIG, iters=300)
    assert det.param_scheduler[1].milestones == [225, 270]


def test_cfg_options_max_iters_changes_only_the_length_as_mim_does():
    """`--cfg-options train_cfg.max_iters=N` is what `mim train` gets too: same schedule."""
    from stad.tasks.train import load_config
    full = load_config(CPU_CONFIG)
    cfg = load_config(CPU_CONFIG, cfg_options={'train_cfg.max_iters': 300})
    assert cfg.train_cfg.max_iters == 300
    assert cfg.param_scheduler == full.param_scheduler

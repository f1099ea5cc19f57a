"""Distributed training on CPU: 2 processes, gloo backend, through tools/train.py."""
import json
import os
import subprocess
import sys

from action_helpers import CPU_CONFIG, ROOT, tiny_cfg_options


def test_two_process_gloo_training(action_data, tmp_path):
    root, proposals = action_data
    work_dir = tmp_path / 'work'
    opts = tiny_cfg_options(root, proposals)
    opts.update({'train_cfg.max_iters': 2, 'train_dataloader.batch_size': 1,
                 'env_cfg.dist_cfg.backend': 'gloo'})
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
           '--master_port', '29617', os.path.join(ROOT, 'tools', 'train.py'), CPU_CONFIG,
           '--launcher', 'pytorch', '--work-dir', str(work_dir),
           '--cfg-options', *[f'{k}={v}' for k, v in opts.items()]]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    # both ranks trained: mmengine's environment log names the world size, and a DDP
    # step only completes when every rank joins the gradient all-reduce
    logs = list(work_dir.glob('*/*.log'))
    text = ''.join(p.read_text() for p in logs)
    assert 'Distributed training: True' in text
    assert 'GPU number: 2' in text, text[:3000]  # mmengine's name for the world size
    assert (work_dir / 'iter_2.pth').is_file()
    rows = [json.loads(line) for p in work_dir.glob('*/vis_data/scalars.json')
            for line in p.read_text().splitlines()]
    assert [r['iter'] for r in rows if 'loss' in r] == [1, 2]

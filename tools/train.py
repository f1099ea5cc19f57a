"""Train with an mmengine config: ``python tools/train.py CONFIG [--work-dir D] [--resume]``.

Same as ``stad train CONFIG``; kept here where mmaction2/mmdet users look.
"""
import argparse
import sys

from stad.tasks.train import train


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('config')
    p.add_argument('--work-dir')
    p.add_argument('--resume', action='store_true', help='resume from the latest checkpoint')
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    p.add_argument('--launcher', default='none', choices=['none', 'pytorch'])
    p.add_argument('--local-rank', '--local_rank', type=int, default=0)
    a = p.parse_args(argv)
    train(a.config, work_dir=a.work_dir, resume=a.resume, cfg_options=a.cfg_options,
          launcher=a.launcher)
    return 0


if __name__ == '__main__':
    sys.exit(main())

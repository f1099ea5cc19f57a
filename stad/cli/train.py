"""``stad train {det,action} CONFIG``: train the person detector or the action model."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser('train', help='train the person detector or the action model',
                       description='Train with an mmdet (det) or mmaction2 (action) config. '
                                   'Same as `mim train mmdet|mmaction2 CONFIG`.')
    p.add_argument('task', choices=['det', 'action'])
    p.add_argument('config')
    p.add_argument('--work-dir', help='default: work_dirs/<config name>')
    p.add_argument('--resume', action='store_true',
                   help='go on from the latest checkpoint in the work dir')
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..apis.train import train
    train(args.config, work_dir=args.work_dir, resume=args.resume,
          cfg_options=args.cfg_options)
    return 0

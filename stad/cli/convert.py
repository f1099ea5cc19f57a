"""``stad convert [GT.pkl] --root ROOT``: COCO json, AVA csv and label map per split."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser('convert', help='ground truth -> COCO json + AVA csv + label map',
                       description='Write ROOT/annotations/multisports_det_anno_{train,val}'
                                   '.json, multisports_{train,val}.csv and '
                                   'multisports_label_map.txt from the ground truth.')
    p.add_argument('gt', nargs='?', metavar='GT.pkl',
                   help='default: ROOT/trainval/multisports_GT.pkl')
    p.add_argument('--root', required=True)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..data.convert import convert_gt
    from ..data.layout import DataLayout
    for what, path in convert_gt(DataLayout(args.root), args.gt).items():
        print(f'{what}: {path}')
    return 0

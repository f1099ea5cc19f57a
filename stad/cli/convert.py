"""``stad convert [GT.pkl] --data-root ROOT``: COCO json, AVA csv and label map per split."""
from __future__ import annotations

from stad.cli import add_data_root, sub_parser


def register(sub) -> None:
    p = sub_parser(sub, 'convert', help='ground truth -> COCO json + AVA csv + label map',
                       description='Write ROOT/annotations/multisports_det_anno_{train,val}'
                                   '.json, multisports_{train,val}.csv and '
                                   'multisports_label_map.txt from the ground truth.')
    p.add_argument('gt', nargs='?', metavar='GT.pkl',
                   help='ground truth (default: ROOT/trainval/multisports_GT.pkl)')
    add_data_root(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.data.convert import convert_gt
    from stad.io.layout import DataLayout
    for what, path in convert_gt(DataLayout(args.data_root), args.gt).items():
        print(f'{what}: {path}')
    return 0

"""Ground truth -> COCO person json per split (mmaction2 stad tutorial name).

Same as ``stad convert``; writes ROOT/annotations/multisports_det_anno_{train,val}.json
(and the AVA csv + label map, which come from the same ground truth).
"""
import argparse
import sys

from stad.data.convert import convert_gt
from stad.io.layout import DataLayout

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--root', default='data/multisports')
    parser.add_argument('--gt', help='default: ROOT/trainval/multisports_GT.pkl')
    args = parser.parse_args()
    for what, path in convert_gt(DataLayout(args.root), args.gt).items():
        print(f'{what}: {path}')
    sys.exit(0)

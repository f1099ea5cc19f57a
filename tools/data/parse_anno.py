"""Ground truth -> AVA-style csv per split + label map (mmaction2 multisports name).

Same as ``stad convert``: writes ROOT/annotations/multisports_{train,val}.csv,
multisports_label_map.txt and the COCO json. Unlike upstream it never edits the loaded
ground truth and does not convert the MultiSports_box proposals (use
``stad.data.convert.detections_to_proposals``).
"""
import argparse

from stad.data.convert import convert_gt
from stad.io.layout import DataLayout

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--data_root', '--root', dest='root', default='data/multisports')
    parser.add_argument('--gt', help='default: ROOT/trainval/multisports_GT.pkl')
    args = parser.parse_args()
    for what, path in convert_gt(DataLayout(args.root), args.gt).items():
        print(f'{what}: {path}')

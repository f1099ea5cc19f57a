"""Videos -> rawframes JPEGs (mmaction2 stad tutorial name). Same as `stad extract-frames`."""
import argparse

from stad.data.frames import extract_frames
from stad.io.layout import DataLayout

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--root', default='data/multisports')
    parser.add_argument('--frames', choices=['all', 'annotated'], default='all')
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args()
    extract_frames(DataLayout(args.root), frames=args.frames, workers=args.workers)

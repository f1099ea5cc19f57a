"""Accuracy of each backend / precision on the val split: frame-mAP and video-mAP with
the detector (proposals and tracks) and the action model both on that backend.

Per variant: ``stad propose --split val`` (person boxes + tracks), ``stad predict``
(action scores on every frame with proposals), ``stad eval`` (frame-mAP@0.5, video-mAP
with the tracks linker), each in its own folder under ``--work-dir``:

    python tools/benchmarks/bench_precision.py --onnx-dir DIR --det-config D --det-checkpoint D.pth \\
        --config A --checkpoint A.pth --data-root data/synthetic [--variants torch openvino-bf16]

Variants: ``torch``, ``onnxruntime``, ``openvino-f32``, ``openvino-bf16``, ``auto``,
``auto-bf16`` (``--backend auto [--precision bf16]``, the defaults with ``--onnx-dir``).
"""
import argparse
import json
import os
import subprocess
import sys
import time

VARIANTS = {'torch': ('torch', 'f32'), 'onnxruntime': ('onnxruntime', 'f32'),
            'openvino-f32': ('openvino', 'f32'), 'openvino-bf16': ('openvino', 'bf16'),
            # what `--backend auto` (the default with --onnx-dir) runs: each graph on
            # stad.apis.runtime.FASTEST's runtime for that precision
            'auto': ('auto', 'f32'), 'auto-bf16': ('auto', 'bf16')}


def stad(*args) -> str:
    cmd = [sys.executable, '-m', 'stad', *args]
    print('$', ' '.join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f'failed: {" ".join(cmd)}\n{p.stderr[-2000:]}')
    return p.stdout


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for k in ('--onnx-dir', '--det-config', '--det-checkpoint', '--config', '--checkpoint',
              '--data-root'):
        p.add_argument(k, required=True)
    p.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument('--work-dir', default='work_dirs/bench_precision')
    a = p.parse_args(argv)
    gt = os.path.join(a.data_root, 'trainval', 'multisports_GT.pkl')
    rows = []
    for name in a.variants:
        backend, precision = VARIANTS[name]
        wd = os.path.join(a.work_dir, name)
        run = ['--backend', backend, '--precision', precision, '--onnx-dir', a.onnx_dir]
        t0 = time.perf_counter()
        stad('propose', '--det-config', a.det_config, '--det-checkpoint', a.det_checkpoint,
             '--data-root', a.data_root, '--split', 'val', '--work-dir', os.path.join(wd, 'propose'),
             '--out-dir', os.path.join(wd, 'annotations'), *run)
        t1 = time.perf_counter()
        dets = os.path.join(wd, 'detections.pkl')
        stad('predict', '--config', a.config, '--checkpoint', a.checkpoint, '--data-root',
             a.data_root, '--proposals',
             os.path.join(wd, 'annotations', 'multisports_proposals_val.pkl'), '--out', dets,
             '--quiet', *run)
        t2 = time.perf_counter()
        out = os.path.join(wd, 'eval')
        stad('eval', '--gt', gt, '--dets', dets, '--out-dir', out)
        with open(os.path.join(out, 'results.json')) as f:
            s = json.load(f)['summary']
        rows.append((name, s['frameAP@0.5'], s['v_map@0.2'], s['v_map@0.5'], s['v_map@0.1:0.9'],
                     t1 - t0, t2 - t1))
        print(rows[-1], flush=True)
    print('\n| variant | frame-mAP@0.5 | video-mAP@0.2 | @0.5 | @0.1:0.9 | propose s | predict s |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for r in rows:
        print(f'| {r[0]} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.4f} | {r[4]:.4f} | {r[5]:.0f} | '
              f'{r[6]:.0f} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())

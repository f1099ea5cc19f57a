"""Live mode of `stad demo` on this machine: real-time factor, per-stage and end-to-end
latency, processed / dropped keyframes and detector frames at 320x240.

A synthetic video is replayed in a loop at its own frame rate through an ffmpeg pipe
(``ffmpeg -re -stream_loop -1 -i VIDEO -f rawvideo -pix_fmt bgr24 -``, imageio-ffmpeg's
binary, started when the pipeline starts reading: after the models are loaded and warmed
up) into :func:`stad.tasks.live.run_live` for ``--seconds`` seconds: what
``ffmpeg ... | stad demo - out.mp4 --input-size 320x240 --input-fps 25`` does, without the
CLI's start-up. Prints the run's report and its figures as JSON.

    python tools/benchmarks/bench_live.py [--seconds 20] [--video V.mp4]
        [--det-config D --det-checkpoint D.pth --config A --checkpoint A.pth]

Checkpoints default to the ones ``stad run`` trains: work_dirs/run/det/iter_600.pth with
the config beside it, and work_dirs/run/action/'s last checkpoint with its config.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, 'work_dirs', 'run')
sys.path.insert(0, ROOT)

from stad.io.live import StdinSource  # noqa: E402


def _one(pattern: str) -> str | None:
    return (sorted(glob.glob(pattern)) or [None])[0]


def _last_checkpoint(folder: str) -> str | None:
    path = os.path.join(folder, 'last_checkpoint')
    return open(path).read().strip() if os.path.isfile(path) else None


class FfmpegReplay(StdinSource):
    """Raw bgr24 frames from ``ffmpeg -re`` replaying ``video`` in a loop, started on the
    first read (so that model loading does not hold back a running replay)."""

    def __init__(self, video: str, size=(320, 240), fps: float = 25.0):
        super().__init__(None, *size, fps=fps, spec=f'ffmpeg -re {os.path.basename(video)} |')
        from stad.io.video import ffmpeg_exe
        self.cmd = [ffmpeg_exe(), '-loglevel', 'error', '-re',
                    '-readrate_initial_burst', '0', '-stream_loop', '-1', '-i', video,
                    '-vf', f'scale={size[0]}:{size[1]}', '-f', 'rawvideo', '-pix_fmt', 'bgr24',
                    '-r', f'{fps:g}', '-']
        self.proc = None

    def frames(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.stream = self.proc.stdout
        yield from super().frames()

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--video', default=os.path.join(ROOT, 'data/synthetic/trainval/gym/gym_068.mp4'))
    p.add_argument('--seconds', type=float, default=20.0)
    p.add_argument('--fps', type=float, default=25.0)
    p.add_argument('--det-config', default=_one(os.path.join(RUN, 'det', '*.py')))
    p.add_argument('--det-checkpoint', default=os.path.join(RUN, 'det', 'iter_600.pth'))
    p.add_argument('--config', default=_one(os.path.join(RUN, 'action', '*.py')))
    p.add_argument('--checkpoint', default=_last_checkpoint(os.path.join(RUN, 'action')))
    p.add_argument('--keyframe-stride', type=int, default=8)
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--backend', default='torch', help='torch, onnxruntime, openvino, auto')
    p.add_argument('--onnx-dir', help='the `stad export onnx` folder (other backends)')
    a = p.parse_args()
    from stad.apis.video import DemoOptions
    from stad.tasks.demo import load_models
    from stad.tasks.live import run_live
    options = DemoOptions(keyframe_stride=a.keyframe_stride, batch_size=a.batch_size)
    models = load_models(a.det_config, a.det_checkpoint, a.config, a.checkpoint,
                         options=options, backend=a.backend, onnx_dir=a.onnx_dir)
    with tempfile.TemporaryDirectory() as tmp:
        s = run_live(FfmpegReplay(a.video, fps=a.fps), os.path.join(tmp, 'live.mp4'),
                     options=options, models=models, max_seconds=a.seconds, progress=False)
    print(f'checkpoints: {a.det_checkpoint}, {a.checkpoint}; video {a.video} at 320x240, '
          f'{a.fps:g} fps, {a.seconds:g} s; keyframe stride {a.keyframe_stride}, batch '
          f'{a.batch_size}; backend {a.backend}; torch threads '
          f'{__import__("torch").get_num_threads()}')
    print(s.report())
    print(json.dumps(s.as_dict()))


if __name__ == '__main__':
    main()

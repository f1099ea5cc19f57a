"""Data transforms for configs (``type='stad.X'``).

:class:`CachedDecordInit` / :class:`CachedDecordDecode` replace mmaction2's
``DecordInit`` / ``DecordDecode`` in a training pipeline: each video is decoded once, whole,
into an uncompressed ``.npy`` file in a cache folder, and every later clip is read from it
by memory map. Training samples many short clips from the same few videos; opening and
seeking an mp4 for every clip costs ~15 ms per sample on the synthetic dataset (320x240),
CPU time that the decoding workers take from the training step on a 2-core machine.
The cache folder is ``$STAD_CACHE_DIR`` if set, else ``.stad_frames`` beside the videos.
The frames are exactly those decord returns (the cache is decord's output), so results
equal the uncached pipeline's.

The cache costs disk: ``frames x height x width x 3`` bytes per video (18 MiB for an
80-frame 320x240 video, ~2 GiB for a 1000-frame 720p one), so it suits small datasets like
the synthetic one; the real-data configs keep decord.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
from mmaction.datasets.transforms.loading import DecordDecode
from mmcv.transforms import BaseTransform

from stad.errors import StadError
from stad.io.atomic import atomic_path
from stad.io.video import open_video, read_batch
from stad.registry import TRANSFORMS


def default_cache_dir(video: str) -> str:
    """``$STAD_CACHE_DIR`` if set, else ``.stad_frames`` in the video's folder (deleting
    the dataset deletes its cache; nothing piles up elsewhere across clones)."""
    return os.environ.get('STAD_CACHE_DIR') or os.path.join(
        os.path.dirname(os.path.abspath(video)), '.stad_frames')


def cached_frames_path(video: str, cache_dir: str) -> str:
    """Cache file of ``video``: keyed on its absolute path, size and modification time, so
    a rewritten video gets a new cache file."""
    st = os.stat(video)
    key = f'{os.path.abspath(video)}\0{st.st_size}\0{st.st_mtime_ns}'
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    name = os.path.splitext(os.path.basename(video))[0]
    return os.path.join(cache_dir, f'{name}-{digest}.npy')


# cache file -> its memory map, opened once per process (the file name carries the video's
# size and modification time, so a rewritten video maps its own new file)
_MAPPED: dict[str, np.ndarray] = {}


def load_decoded(video: str, cache_dir: str) -> np.ndarray:
    """Every frame of ``video`` (T, H, W, 3 uint8 RGB, as decord decodes it), memory-mapped
    from the cache; decodes and writes the cache file first if it is missing."""
    if not os.path.isfile(video):
        raise StadError(f'{video}: video not found')
    path = cached_frames_path(video, cache_dir)
    frames = _MAPPED.get(path)
    if frames is not None:
        return frames
    if not os.path.isfile(path):
        vr = open_video(video)
        frames = read_batch(vr, range(len(vr)))
        # two workers may decode the same video at once; the rename makes either win whole
        try:
            with atomic_path(path) as tmp:
                with open(tmp, 'wb') as f:
                    np.save(f, frames)
        except OSError as e:
            raise StadError(f'cannot write the frame cache of {video} to {cache_dir} ({e}); '
                            'set $STAD_CACHE_DIR or the transform\'s cache_dir') from e
    frames = _MAPPED[path] = np.load(path, mmap_mode='r')
    return frames


@TRANSFORMS.register_module()
class CachedDecordInit(BaseTransform):
    """``DecordInit`` backed by the decoded-frame cache (see the module doc).

    Sets ``total_frames`` and ``video_reader`` (the memory-mapped frames); not
    ``avg_fps``, which only ``SampleFrames(target_fps=...)`` reads (it then keeps the
    sampling as is, as for a video whose fps is unknown).
    """

    def __init__(self, cache_dir: str | None = None) -> None:
        self.cache_dir = cache_dir

    def transform(self, results: dict) -> dict:
        video = results['filename']
        if os.path.splitext(video)[1] == '':
            video += '.mp4'  # as DecordInit: AVA-style names may omit the extension
        frames = load_decoded(video, self.cache_dir or default_cache_dir(video))
        results['total_frames'] = len(frames)
        results['video_reader'] = frames
        return results


@TRANSFORMS.register_module()
class CachedDecordDecode(DecordDecode):
    """``DecordDecode`` reading the frames that :class:`CachedDecordInit` mapped."""

    def _decord_load_frames(self, container: np.ndarray, frame_inds: np.ndarray) -> list:
        return [np.array(container[i]) for i in frame_inds]

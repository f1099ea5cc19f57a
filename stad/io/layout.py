"""The one home of every path, file name and key format stad reads or writes.

A dataset root follows the MultiSports layout that mmaction2's tools use::

    <root>/trainval/<sport>/<video>.mp4        videos (video id = '<sport>/<video>')
    <root>/trainval/multisports_GT.pkl         ground truth (MultiSports schema)
    <root>/annotations/multisports_det_anno_{train,val}.json   COCO, one class 'person'
    <root>/annotations/multisports_{train,val}.csv             AVA-style action labels
    <root>/annotations/multisports_label_map.txt               'id: name' per line
    <root>/annotations/multisports_proposals_{train,val}.pkl   person proposals
    <root>/annotations/multisports_proposals_{train,val}.tracks.pkl  their track ids
    <root>/trainval/mot/<sport>/<video>.txt                   who is who (MOT ground truth)
    <root>/rawframes/<sport>/<video>/00001.jpg                 frames, 1-based

Frames are 1-based everywhere (MultiSports ground truth, rawframes, img keys).
Boxes are pixels in ground truth and COCO; normalised to [0, 1] in CSV and proposals.

A video id is a relative path ``'<sport>/<video>'``: :func:`video_id_problem` says
what is wrong with one that is not (absolute, with a ``..`` component, or holding a
comma, which would break the ``'video,frame'`` img key and the CSV rows). Every path
method of :class:`DataLayout` and :func:`img_key` / :func:`frame_relpath` refuse such
an id (:func:`check_video_id`), so no writer can leave the dataset root.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from stad.errors import StadError

SPLITS = ('train', 'val')
# MultiSports names the val split 'test_videos' in its ground truth.
GT_SPLIT_KEYS = {'train': 'train_videos', 'val': 'test_videos'}

VIDEO_EXT = '.mp4'
# containers the importers accept as source videos (other than mp4 re-encoded to mp4)
VIDEO_EXTENSIONS = ('.mp4', '.mov', '.avi', '.m4v', '.mkv', '.webm', '.mpg', '.mpeg', '.ts',
                    '.wmv')
FRAME_TMPL = '{:05d}.jpg'  # rawframes/<sport>/<video>/00001.jpg, 1-based
# Written into rawframes/<sport>/<video>/ after its last frame (stad.data.frames).
FRAMES_DONE = '.frames_done.json'

# AVADataset arguments that make mmaction2 read MultiSports: one "second" per frame,
# frame numbers start at 1 and index frames from 0 in the decoded video.
MULTISPORTS_AVA_KWARGS = dict(fps=1, timestamp_start=1, start_index=0, use_frames=False)


def video_id_problem(video) -> str | None:
    """Why ``video`` is not a usable video id (a relative ``'<sport>/<video>'`` path),
    or None if it is."""
    if not isinstance(video, str) or not video:
        return f'a video id must be a non-empty string, got {type(video).__name__}'
    if os.path.isabs(video) or video.startswith(('/', '\\')):
        return "absolute path; video ids are relative '<sport>/<video>' paths"
    if '..' in video.replace('\\', '/').split('/'):
        return "has a '..' component; video ids are relative '<sport>/<video>' paths"
    if ',' in video:
        return "holds a comma, which breaks the 'video,frame' img key and CSV rows"
    if any(ord(c) < 32 for c in video):
        return 'holds a control character (newline, tab, ...)'
    return None


def check_video_id(video) -> str:
    """``video`` unchanged if it is a usable video id (see :func:`video_id_problem`).

    Raises:
        StadError: it is not (one line naming the video).
    """
    problem = video_id_problem(video)
    if problem is not None:
        raise StadError(f'video {video!r}: {problem}')
    return video


def img_key(video: str, frame: int) -> str:
    """Key of one frame in proposal pickles and AVADataset: ``'<sport>/<video>.mp4,0042'``.

    Args:
        video: video id ``'<sport>/<video>'`` as in the ground truth.
        frame: 1-based frame number.

    Raises:
        StadError: ``video`` is not a usable video id (:func:`video_id_problem`).
    """
    return f'{check_video_id(video)}{VIDEO_EXT},{int(frame):04d}'


def parse_img_key(key: str) -> tuple[str, int]:
    """Inverse of :func:`img_key`: ``'<sport>/<video>.mp4,0042'`` -> (``'<sport>/<video>'``, 42)."""
    name, frame = key.rsplit(',', 1)
    if name.endswith(VIDEO_EXT):
        name = name[:-len(VIDEO_EXT)]
    return name, int(frame)


def frame_relpath(video: str, frame: int) -> str:
    """Frame file relative to the rawframes dir: ``'<sport>/<video>/00042.jpg'`` (COCO
    ``file_name``). Always '/'-separated."""
    return f'{check_video_id(video)}/{FRAME_TMPL.format(int(frame))}'


def tracks_file(proposal_file: str) -> str:
    """The sidecar of a proposal pickle holding its boxes' person track ids:
    ``multisports_proposals_val.pkl`` -> ``multisports_proposals_val.tracks.pkl`` (AVA
    proposals are ``(N, 5)``: no room for an id)."""
    base, ext = os.path.splitext(proposal_file)
    return f'{base}.tracks{ext}'


@dataclass(frozen=True)
class DataLayout:
    """Paths of one dataset root (see the module docstring).

    The per-video methods raise :class:`StadError` for a video id that is absolute,
    has a ``..`` component or holds a comma (:func:`check_video_id`): their paths stay
    under the root whatever the input.
    """

    root: str

    @property
    def video_dir(self) -> str:
        return os.path.join(self.root, 'trainval')

    @property
    def gt_file(self) -> str:
        return os.path.join(self.video_dir, 'multisports_GT.pkl')

    @property
    def ann_dir(self) -> str:
        return os.path.join(self.root, 'annotations')

    @property
    def frame_dir(self) -> str:
        return os.path.join(self.root, 'rawframes')

    @property
    def label_map(self) -> str:
        return os.path.join(self.ann_dir, 'multisports_label_map.txt')

    def video_path(self, video: str) -> str:
        return os.path.join(self.video_dir, check_video_id(video) + VIDEO_EXT)

    def frames_of(self, video: str) -> str:
        return os.path.join(self.frame_dir, check_video_id(video))

    def frame_path(self, video: str, frame: int) -> str:
        return os.path.join(self.frames_of(video), FRAME_TMPL.format(int(frame)))

    def frames_done(self, video: str) -> str:
        return os.path.join(self.frames_of(video), FRAMES_DONE)

    def coco(self, split: str) -> str:
        return os.path.join(self.ann_dir, f'multisports_det_anno_{split}.json')

    def csv(self, split: str) -> str:
        return os.path.join(self.ann_dir, f'multisports_{split}.csv')

    def proposals(self, split: str) -> str:
        return os.path.join(self.ann_dir, f'multisports_proposals_{split}.pkl')

    def mot_gt(self, video: str) -> str:
        """Person identities of ``video`` as MOT ground truth (:mod:`stad.io.mot`):
        ``<root>/trainval/mot/<sport>/<video>.txt``."""
        return os.path.join(self.video_dir, 'mot', check_video_id(video) + '.txt')

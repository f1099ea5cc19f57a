"""A small synthetic MultiSports dataset that trains end to end on a CPU in minutes.

:func:`synth` writes exactly the MultiSports layout of :mod:`stad.io.layout`: videos
``ROOT/trainval/<sport>/<video>.mp4`` and ``ROOT/trainval/multisports_GT.pkl``.

What is in a video:

* 1 (``hard``: 2) to ``max_people`` articulated people (head, torso, two-segment arms and legs drawn
  as jointed cv2 lines and ellipses, varied clothing colours and heights).
* Each person walks in from an image edge (a ``walk`` tube), stops and performs one of
  ``jumping jack``, ``squat``, ``wave`` for 2-3 cycles (that action's tube), most often
  a second, different one of them for 2-3 cycles (another tube), then walks
  out (another ``walk`` tube). The three stationary actions and walking all pass
  through the same standing pose, once per cycle (cycle 10-16 frames), so one frame
  cannot tell them apart; motion can.
* Every visible person in every frame belongs to exactly one tube, so a detector's COCO
  ground truth built from the tubes is complete. A tube covers only its action's frames.
  Frames where less than :data:`MIN_VISIBLE` of a person's box is inside the image
  (entering, leaving) are left out of the tube; boxes are clipped to the image. A tube
  covers consecutive frames: when the visible share dips below that threshold in the
  middle of a walk (swinging limbs and camera jitter at the image edge), the walk
  becomes two tubes of the same person and label.
* Box = tight bounds of the figure's drawn pixels (x2, y2 exclusive), in pixels,
  hidden ones included (see occlusion below).
* Two sports (``gym``, ``yard``) with different textured backgrounds, per-frame noise
  and a small camera jitter (a global shift of a few pixels; boxes follow it).
* Who is who: person ``k`` of a video (1-based, in plan order) has id ``k`` in
  ``ROOT/trainval/mot/<sport>/<video>.txt`` (:meth:`DataLayout.mot_gt`, format
  :mod:`stad.io.mot`): every box of every tube of that person, one id across all their
  tubes (walk in, actions, walk out), ids unique within the video. The MultiSports
  ground truth has no room for it (tubes are per label); the videos and the ground
  truth pickle are the same with and without it.
* Occlusion: people are drawn far (small) first, so a taller person hides whoever
  they pass in front of. A box is still the tight bounds of *all* of that person's
  drawn pixels (their whole figure inside the image, the hidden part included: drawn
  on a mask of their own, before anyone in front), and occlusion never takes a frame
  out of a tube (only the image edge does, by :data:`MIN_VISIBLE`): a partly hidden
  person keeps their box, their tube and their id, as annotators box a person behind
  another. The figures are thin, so nobody is ever entirely hidden in practice (16
  hard videos, seed 0, 320x240: 10% of the boxes have over 30% of their pixels
  hidden, 4% over half, 0.1% over 95%, none all).

Presets (``preset=``, ``stad synth --preset``; :data:`PRESETS`):

* ``default``: as above; 1-3 people; people walk in from a random edge to a place of
  their own and out at a random edge, so crossings are occasional.
* ``hard``, where tracking matters: 2-5 people (``max_people`` defaults to 5);
  crossing paths -- everyone walks in from, and back out to, the image edge on the far
  side of their place (a place right of the middle is reached from the left), so every
  walk passes the places of the others, in front of or behind them; walking about
  twice as fast (strides twice as long, walks rounded to the nearest half cycle
  instead of up: on 16 videos at 320x240, 16 px/frame on average instead of 7.6);
  and a slow camera pan, the camera turning left or right at 0.5-1 px/frame, the same
  for the whole video (on top of the jitter). Under the pan, positions are world positions: the
  background is rendered wider by the pan's extent (``ceil(speed * (frames - 1)) + 1``
  pixels) and cropped at the camera's position, people are drawn and boxed in image
  coordinates (boxes follow the pan), a person enters at the image edge of their first
  frame and stands where their place is (in the image) half-way through their actions,
  drifting with the pan while they act. Actions, cycles, tubes, ids and the layout are
  as in ``default``.

Deterministic: the same arguments give an identical ground truth pickle and identical
rendered frames (encoded bytes may depend on the encoder). The ``default`` preset's
plans, ground truth and frames are the same as before presets existed (pinned by
``tests/data/test_synth.py``).
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from stad.io.atomic import atomic_dump_pickle, atomic_path
from stad.io.layout import DataLayout
from stad.io.mot import mot_rows, save_mot
from stad.progress import progress_bar

LABELS = ['jumping jack', 'squat', 'wave', 'walk']
WALK = 3
STATIONARY = (0, 1, 2)
SECOND_ACTION_P = 0.7  # share of people who do a second stationary action
SPORTS = ('gym', 'yard')
MIN_VISIBLE = 0.3  # fraction of a person's full box that must be inside the image
JITTER_PX = 4


@dataclass(frozen=True)
class Preset:
    """What makes a synthetic set easy or hard to track (see the module docstring).

    Attributes:
        name: the preset's name (:data:`PRESETS`).
        max_people: default of ``max_people`` (people per video, at most).
        min_people: people per video, at least (capped by ``max_people``).
        walk_speed: walking speed as a multiple of the default's (longer strides).
        pan_px: range of the camera pan speed in pixels per frame (0: no pan).
        crossing: walk in from, and back out to, the image edge on the far side of
            where one acts, so that walks cross the others' places.
    """

    name: str
    max_people: int
    min_people: int = 1
    walk_speed: float = 1.0
    pan_px: tuple[float, float] = (0.0, 0.0)
    crossing: bool = False


#: the presets of :func:`synth` / ``stad synth --preset``
PRESETS = {'default': Preset('default', max_people=3),
           'hard': Preset('hard', max_people=5, min_people=2, walk_speed=2.0,
                          pan_px=(0.5, 1.0), crossing=True)}


def get_preset(name: str) -> Preset:
    """The :class:`Preset` called ``name``.

    Raises:
        ValueError: unknown name.
    """
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {name!r}")
    return PRESETS[name]


# ------------------------------------------------------------------------------ poses

@dataclass(frozen=True)
class Person:
    """Look of one person; lengths in pixels."""

    height: float
    shirt: tuple
    pants: tuple
    skin: tuple
    hair: tuple

    @property
    def thick(self) -> dict:
        h = self.height
        return dict(torso=max(3, int(0.13 * h)), arm=max(2, int(0.045 * h)),
                    leg=max(2, int(0.06 * h)), head=0.065 * h)


def _pose(action: int, phase: float, direction: int) -> dict:
    """Joint angles (degrees from pointing down; + = away from the body centre, or
    forward for ``walk``), a jump height and an arm foreshortening, at ``phase`` in [0, 1).

    Every action is in the standing pose at phase 0.
    """
    s = (1 - math.cos(2 * math.pi * phase)) / 2  # 0 -> 1 -> 0 over the cycle
    p = dict(arm_l=(8, 8), arm_r=(8, 8), leg_l=(4, 4), leg_r=(4, 4), jump=0.0, arm_len=1.0,
             side=False)
    if action == 0:  # jumping jack: arms and legs out and up, a hop at each half
        a = 8 + 150 * s
        p.update(arm_l=(a, a + 10 * s), arm_r=(a, a + 10 * s),
                 leg_l=(4 + 20 * s, 4 + 20 * s), leg_r=(4 + 20 * s, 4 + 20 * s),
                 jump=0.05 * math.sin(2 * math.pi * phase) ** 2)
    elif action == 1:  # squat: knees out and bent, arms forward (foreshortened)
        p.update(leg_l=(4 + 60 * s, 4 - 25 * s), leg_r=(4 + 60 * s, 4 - 25 * s),
                 arm_l=(8 + 30 * s, 8 + 60 * s), arm_r=(8 + 30 * s, 8 + 60 * s),
                 arm_len=1 - 0.5 * s)
    elif action == 2:  # wave: one arm up, forearm swinging fast
        wiggle = 35 * s * math.sin(6 * math.pi * phase)
        p.update(arm_r=(8 + 130 * s, 8 + 150 * s + wiggle))
    elif action == WALK:  # seen from the side: legs and arms swing, opposite phases
        sw = math.sin(2 * math.pi * phase)
        knee = 18 * abs(sw)
        p.update(side=True, leg_l=(25 * sw, 25 * sw - knee), leg_r=(-25 * sw, -25 * sw - knee),
                 arm_l=(-22 * sw, -22 * sw + 12), arm_r=(22 * sw, 22 * sw + 12))
    p['dir'] = direction
    return p


def _skeleton(person: Person, pose: dict, cx: float, ground: float) -> list:
    """Segments ``(kind, p0, p1)`` and the head ``('head', centre, radius)`` in pixels."""
    h = person.height
    thigh = shin = 0.235 * h
    upper, fore = 0.16 * h * pose['arm_len'], 0.15 * h * pose['arm_len']
    torso, neck, r = 0.29 * h, 0.03 * h, 0.065 * h
    hip_w, sho_w = (0.015 * h, 0.03 * h) if pose['side'] else (0.05 * h, 0.09 * h)

    def vec(deg, length, sign):
        a = math.radians(deg)
        return sign * length * math.sin(a), length * math.cos(a)

    # side view: + means forward (the walking direction); front view: + means outward
    sgn_l = pose['dir'] if pose['side'] else -1
    sgn_r = pose['dir'] if pose['side'] else 1
    legs = {'l': (pose['leg_l'], sgn_l, -hip_w), 'r': (pose['leg_r'], sgn_r, hip_w)}
    drop = max(thigh * math.cos(math.radians(t)) + shin * math.cos(math.radians(k))
               for (t, k), _, _ in legs.values())
    hip_y = ground - drop - pose['jump'] * h
    segs = []
    for (t, k), sg, off in legs.values():
        hip = (cx + off, hip_y)
        dx, dy = vec(t, thigh, sg)
        knee = (hip[0] + dx, hip[1] + dy)
        dx, dy = vec(k, shin, sg)
        segs.append(('leg', hip, knee))
        segs.append(('shin', knee, (knee[0] + dx, knee[1] + dy)))
    neck_pt = (cx, hip_y - torso)
    segs.insert(0, ('torso', (cx, hip_y - 0.02 * h), neck_pt))
    sho_y = neck_pt[1] + 0.04 * h
    for (u, f), sg, off in ((pose['arm_l'], sgn_l, -sho_w), (pose['arm_r'], sgn_r, sho_w)):
        sho = (cx + off, sho_y)
        dx, dy = vec(u, upper, sg)
        elbow = (sho[0] + dx, sho[1] + dy)
        dx, dy = vec(f, fore, sg)
        segs.append(('arm', sho, elbow))
        segs.append(('forearm', elbow, (elbow[0] + dx, elbow[1] + dy)))
    segs.append(('head', (cx, neck_pt[1] - neck - r), r))
    return segs


def _bounds(person: Person, segs: list) -> tuple[float, float, float, float]:
    """Tight (unclipped) bounds x1, y1, x2, y2 of the drawn figure."""
    th = person.thick
    xs, ys = [], []
    for kind, a, b in segs:
        if kind == 'head':
            xs += [a[0] - b, a[0] + b]
            ys += [a[1] - b * 1.15, a[1] + b * 1.15]
            continue
        half = {'torso': th['torso'], 'arm': th['arm'], 'forearm': th['arm'],
                'leg': th['leg'], 'shin': th['leg']}[kind] / 2
        xs += [a[0] - half, a[0] + half, b[0] - half, b[0] + half]
        ys += [a[1] - half, a[1] + half, b[1] - half, b[1] + half]
    return min(xs), min(ys), max(xs), max(ys)


def _draw(img: np.ndarray, person: Person, segs: list, mask: np.ndarray | None = None) -> None:
    """Draw the figure on ``img`` (BGR); also on ``mask`` (uint8, 255) if given."""
    import cv2
    th = person.thick
    colour = {'torso': person.shirt, 'arm': person.shirt, 'forearm': person.skin,
              'leg': person.pants, 'shin': person.pants}
    width = {'torso': th['torso'], 'arm': th['arm'], 'forearm': th['arm'],
             'leg': th['leg'], 'shin': th['leg']}
    targets = [(img, None)] + ([(mask, 255)] if mask is not None else [])
    for kind in ('leg', 'shin', 'torso', 'arm', 'forearm'):
        for k, a, b in segs:
            if k == kind:
                for canvas, col in targets:
                    cv2.line(canvas, _pt(a), _pt(b), col or colour[k], width[k], cv2.LINE_AA)
    for k, c, r in segs:
        if k == 'head':
            axes = (max(1, int(round(r))), max(1, int(round(r * 1.15))))
            for canvas, col in targets:
                cv2.ellipse(canvas, _pt(c), axes, 0, 0, 360, col or person.skin, -1,
                            cv2.LINE_AA)
            cv2.ellipse(img, _pt(c), axes, 0, 180, 360, person.hair, -1, cv2.LINE_AA)


def _mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Pixel bounds x1, y1, x2, y2 (x2, y2 exclusive) of the non-zero pixels."""
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    if not len(cols):
        return None
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


def _pt(p) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))


# ------------------------------------------------------------------------------ plans

@dataclass(frozen=True)
class _Segment:
    label: int
    start: int  # 0-based frame index, inclusive
    end: int    # exclusive
    x0: float
    x1: float
    period: int


def _plan_person(rng: np.random.Generator, action: int, w: int, n: int,
                 person: Person, start: int, slot: int, slots: int) -> list[_Segment]:
    """Walk in from an edge, do ``action`` 2-3 cycles in place, walk out.

    People of one video act in different horizontal ``slot`` s so they rarely overlap.
    """
    half_width = 0.35 * person.height
    from_left = bool(rng.integers(2))
    x_in = -half_width if from_left else w + half_width
    x_target = float(w * (0.15 + 0.7 * (slot + rng.uniform(0.25, 0.75)) / slots))
    period = int(rng.integers(10, 17))
    stride = 0.75 * person.height  # pixels per walking cycle
    # walk lengths are whole half cycles so that walking ends in the standing pose
    half = period / 2

    def walk_frames(dist):
        return max(1, int(math.ceil(abs(dist) / (stride / period) / half) * half))

    segs = []
    t = start
    f_in = walk_frames(x_target - x_in)
    segs.append(_Segment(WALK, t, t + f_in, x_in, x_target, period))
    t += f_in
    f_act = period * int(rng.integers(2, 4))
    segs.append(_Segment(action, t, t + f_act, x_target, x_target, period))
    t += f_act
    # Most people go on with a second, different action: the same person (clothes,
    # size, place) then does two actions, so appearance cannot tell the action.
    if rng.uniform() < SECOND_ACTION_P:
        second = int(rng.choice([a for a in STATIONARY if a != action]))
        f_act = period * int(rng.integers(2, 4))
        segs.append(_Segment(second, t, t + f_act, x_target, x_target, period))
        t += f_act
    to_left = bool(rng.integers(2))
    x_out = -half_width if to_left else w + half_width
    f_out = walk_frames(x_out - x_target)
    segs.append(_Segment(WALK, t, t + f_out, x_target, x_out, period))
    return [s for s in segs if s.start < n]


def _plan_person_crossing(rng: np.random.Generator, action: int, w: int, n: int,
                          person: Person, start: int, slot: int, slots: int,
                          cam, walk_speed: float) -> list[_Segment]:
    """The hard preset's :func:`_plan_person`: walk in from the far side of one's place
    (a place right of the middle is reached from the left edge, and the other way
    round), act there, walk back out to the edge one came from, so that the walks cross
    the places of the others; ``walk_speed`` times the default's speed.

    Positions are world x: the camera's left edge is at world x ``cam(t)`` at frame
    ``t`` (a pan), so a person enters at the image edge of their start frame and stands
    at their place (image x) in the middle of their actions.
    """
    half_width = 0.35 * person.height
    period = int(rng.integers(10, 17))
    actions = [(action, int(rng.integers(2, 4)))]
    if rng.uniform() < SECOND_ACTION_P:
        second = int(rng.choice([a for a in STATIONARY if a != action]))
        actions.append((second, int(rng.integers(2, 4))))
    place = float(w * (0.15 + 0.7 * (slot + rng.uniform(0.25, 0.75)) / slots))
    right = place > w / 2
    stride = walk_speed * 0.75 * person.height  # pixels per walking cycle
    half = period / 2

    def walk_frames(dist):  # the nearest whole number of half cycles (at least one)
        return int(round(max(1, round(abs(dist) / (stride / period) / half)) * half))

    f_act = period * sum(c for _, c in actions)
    x_in = cam(start) - half_width if right else cam(start) + w + half_width
    f_in = walk_frames(place + cam(start) - x_in)
    for _ in range(2):  # the place moves with the camera while one walks there
        x_target = place + cam(start + f_in + f_act / 2)
        f_in = walk_frames(x_target - x_in)
    segs = [_Segment(WALK, start, start + f_in, x_in, x_target, period)]
    t = start + f_in
    for label, cycles in actions:
        segs.append(_Segment(label, t, t + period * cycles, x_target, x_target, period))
        t += period * cycles
    f_out = 1
    for _ in range(3):  # the exit edge moves with the camera while one walks out
        x_out = (cam(t + f_out) - half_width if right
                 else cam(t + f_out) + w + half_width)
        f_out = walk_frames(x_out - x_target)
    segs.append(_Segment(WALK, t, t + f_out, x_target, x_out, period))
    return [s for s in segs if s.start < n]


def _person_state(seg: _Segment, t: int) -> tuple[float, dict]:
    k = t - seg.start
    length = seg.end - seg.start
    x = seg.x0 + (seg.x1 - seg.x0) * (k / length)
    direction = 1 if seg.x1 >= seg.x0 else -1
    return x, _pose(seg.label, (k % seg.period) / seg.period, direction)


# ------------------------------------------------------------------------- background

def _background(rng: np.random.Generator, sport: str, w: int, h: int) -> np.ndarray:
    import cv2
    img = np.empty((h, w, 3), np.uint8)
    if sport == 'gym':
        wall = np.array([170, 190, 205]) + rng.integers(-25, 25, 3)
        img[:] = wall
        horizon = int(h * rng.uniform(0.45, 0.6))
        for y in range(0, horizon, max(4, h // 12)):  # wall bars
            cv2.line(img, (0, y), (w, y), tuple(int(c) for c in wall - 40), 2)
        for _ in range(3):  # posters / windows
            x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, max(1, horizon - 30)))
            col = tuple(int(c) for c in rng.integers(40, 230, 3))
            cv2.rectangle(img, (x0, y0), (x0 + int(rng.integers(15, 60)),
                                          y0 + int(rng.integers(10, 30))), col, -1)
        plank = max(6, w // 16)
        for x in range(0, w, plank):  # wooden floor
            col = np.array([60, 110, 160]) + rng.integers(-25, 25, 3)
            img[horizon:, x:x + plank] = col
            cv2.line(img, (x, horizon), (x, h), (40, 70, 100), 1)
    else:  # yard
        horizon = int(h * rng.uniform(0.35, 0.5))
        sky = np.linspace(235, 170, horizon)[:, None]
        img[:horizon, :, 0] = np.clip(sky[:, 0] + 10, 0, 255)[:, None]
        img[:horizon, :, 1] = np.clip(sky[:, 0] - 20, 0, 255)[:, None]
        img[:horizon, :, 2] = np.clip(sky[:, 0] - 90, 0, 255)[:, None]
        for _ in range(8):  # bushes on the horizon
            c = (int(rng.integers(0, w)), horizon)
            ax = (int(rng.integers(10, 40)), int(rng.integers(8, 25)))
            col = (int(rng.integers(20, 60)), int(rng.integers(80, 130)), int(rng.integers(20, 60)))
            cv2.ellipse(img, c, ax, 0, 180, 360, col, -1)
        grass = np.array([50, 150, 70]) + rng.integers(-20, 20, 3)
        img[horizon:] = grass
        for x in range(0, w, 10):  # fence posts
            cv2.line(img, (x, horizon - 12), (x, horizon), (90, 120, 150), 2)
    noise = rng.normal(0, 12, (h, w, 1)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (5, 5), 0)[..., None]
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------ video

@dataclass(frozen=True)
class VideoPlan:
    sport: str
    seed: int
    width: int
    height: int
    frames: int
    actions: tuple  # stationary action of each person
    preset: str = 'default'  # a key of PRESETS


def render_video(plan: VideoPlan):
    """Render one video.

    Returns:
        (frames, tubes): frames is a list of BGR uint8 (h, w, 3) arrays; tubes is
        ``{label: [array (T, 5) float32 frame (1-based), x1, y1, x2, y2 pixels]}``.
    """
    frames, tubes, _ = render_video_with_ids(plan)
    return frames, tubes


def render_video_with_ids(plan: VideoPlan):
    """:func:`render_video` and who is in each tube.

    Returns:
        (frames, tubes, tube_ids): ``tube_ids`` is ``{label: [person id, ...]}``,
        aligned with ``tubes[label]``; person ``k`` of ``plan.actions`` (0-based) has id
        ``k + 1``.
    """
    preset = get_preset(plan.preset)
    # separate streams: the background and camera do not depend on the people (the
    # fourth, the pan's, is drawn from only where the preset pans)
    streams = np.random.SeedSequence(plan.seed).spawn(4)
    bg_rng, rng, cam_rng = (np.random.default_rng(s) for s in streams[:3])
    w, h, n = plan.width, plan.height, plan.frames
    pan_speed, pan_lo, pan_extent = 0.0, 0.0, 0
    if preset.pan_px[1] > 0:
        pan_rng = np.random.default_rng(streams[3])
        pan_speed = float(pan_rng.uniform(*preset.pan_px)) * (1 if pan_rng.integers(2) else -1)
        pan_lo = min(0.0, pan_speed * (n - 1))  # world x of the leftmost camera position
        pan_extent = int(math.ceil(abs(pan_speed) * (n - 1))) + 1

    def cam(t: float) -> float:  # world x of the image's left edge at frame t
        return pan_speed * t

    big = _background(bg_rng, plan.sport, w + 2 * JITTER_PX + pan_extent, h + 2 * JITTER_PX)
    people, plans, grounds = [], [], []
    slots = rng.permutation(len(plan.actions))
    for i, action in enumerate(plan.actions):
        height = float(rng.uniform(0.4, 0.7) * h)
        colour = lambda lo, hi: tuple(int(c) for c in rng.integers(lo, hi, 3))  # noqa: E731
        skin = tuple(int(c) for c in np.array([140, 170, 215]) * rng.uniform(0.45, 1.0))
        person = Person(height, colour(30, 255), colour(20, 200), skin, colour(0, 90))
        start = 0 if i == 0 else int(rng.integers(0, max(1, n // 3)))
        people.append(person)
        if preset.crossing:
            plans.append(_plan_person_crossing(rng, action, w, n, person, start, int(slots[i]),
                                               len(plan.actions), cam, preset.walk_speed))
        else:
            plans.append(_plan_person(rng, action, w, n, person, start, int(slots[i]),
                                      len(plan.actions)))
        grounds.append(float(h * rng.uniform(0.8, 0.97)))
    order = np.argsort([p.height for p in people], kind='stable')  # far (small) first
    jit = np.zeros(2)
    tubes: dict[int, list] = {}
    tube_ids: dict[int, list] = {}
    rows = {(i, j): [] for i in range(len(people)) for j in range(len(plans[i]))}
    frames = []
    mask = np.zeros((h, w), np.uint8)
    for t in range(n):
        jit = np.clip(0.7 * jit + cam_rng.normal(0, 1.3, 2), -JITTER_PX, JITTER_PX)
        dx, dy = int(round(jit[0])), int(round(jit[1]))
        px = int(round(cam(t) - pan_lo))  # the pan, in whole pixels of the background
        img = big[JITTER_PX + dy:JITTER_PX + dy + h,
                  JITTER_PX + dx + px:JITTER_PX + dx + px + w].copy()
        for i in order:
            seg_i = next((j for j, s in enumerate(plans[i]) if s.start <= t < s.end), None)
            if seg_i is None:
                continue
            x, pose = _person_state(plans[i][seg_i], t)
            # the camera moves by (dx, dy) (and pans): the background crop shifts by -(dx, dy)
            if pan_extent:
                x = x - (pan_lo + px)
            segs = _skeleton(people[i], pose, x - dx, grounds[i] - dy)
            mask[:] = 0
            _draw(img, people[i], segs, mask)
            box = _mask_box(mask)  # tight bounds of the drawn pixels, clipped by the image
            # visible fraction: of the (unclipped, analytic) extent of the figure
            bx1, by1, bx2, by2 = _bounds(people[i], segs)
            cx1, cy1 = max(bx1, 0.0), max(by1, 0.0)
            cx2, cy2 = min(bx2, float(w)), min(by2, float(h))
            full = (bx2 - bx1) * (by2 - by1)
            vis = max(0.0, cx2 - cx1) * max(0.0, cy2 - cy1)
            if box is not None and vis >= MIN_VISIBLE * full:
                rows[(i, seg_i)].append([t + 1, *box])
        noise = cam_rng.integers(-6, 7, (h, w, 1), dtype=np.int16)
        frames.append(np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8))
    for i in range(len(people)):
        for j, seg in enumerate(plans[i]):
            for run in _consecutive_runs(rows[(i, j)]):
                tubes.setdefault(seg.label, []).append(
                    np.round(np.asarray(run, np.float32), 2))
                tube_ids.setdefault(seg.label, []).append(i + 1)
    return frames, dict(sorted(tubes.items())), dict(sorted(tube_ids.items()))


def identity_rows(tubes: dict, tube_ids: dict) -> np.ndarray:
    """MOT ground truth rows (:mod:`stad.io.mot`, ``(N, 7)``, conf 1) of one video: every
    box of every tube with the id of its person (``tube_ids`` as
    :func:`render_video_with_ids` returns)."""
    frames, ids, boxes = [], [], []
    for label, ts in tubes.items():
        for tube, pid in zip(ts, tube_ids[label], strict=True):
            frames.append(tube[:, 0])
            ids.append(np.full(len(tube), pid))
            boxes.append(tube[:, 1:5])
    if not boxes:
        return mot_rows([], [], np.zeros((0, 4)))
    return mot_rows(np.concatenate(frames), np.concatenate(ids), np.concatenate(boxes))


def _consecutive_runs(rows: list) -> list[list]:
    """``rows`` (``[frame, ...]`` in increasing frame order) cut where a frame is
    missing: a tube covers consecutive frames (the MultiSports evaluator assumes it)."""
    runs: list[list] = []
    for row in rows:
        if runs and row[0] == runs[-1][-1][0] + 1:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def plan_dataset(*, seed: int = 0, videos: int = 16, val_videos: int | None = None,
                 size: tuple[int, int] = (320, 240), frames: int = 80,
                 max_people: int | None = None, preset: str = 'default',
                 ) -> tuple[dict[str, VideoPlan], list[str], list[str]]:
    """Plan every video: ``({video_id: plan}, train ids, val ids)``.

    The last ``val_videos`` videos (default ``max(1, videos // 4)``) form the val split;
    its first people cycle through the stationary actions so that, with >= 3 val
    videos, the val split holds every class (walk is in every video). ``max_people``
    defaults to the preset's (:data:`PRESETS`: 3, hard 5); the hard preset puts at least
    2 people in a video (when ``max_people`` allows).

    Raises:
        ValueError: fewer than 2 videos, ``val_videos`` not in ``1..videos - 1``,
            ``max_people < 1``, or an unknown preset.
    """
    p = get_preset(preset)
    max_people = p.max_people if max_people is None else int(max_people)
    if videos < 2:
        raise ValueError('need at least 2 videos (one train, one val)')
    n_val = max(1, videos // 4) if val_videos is None else val_videos
    if not 1 <= n_val < videos:
        raise ValueError(f'val_videos must be in 1..{videos - 1}, got {n_val}')
    if max_people < 1:
        raise ValueError(f'max_people must be >= 1, got {max_people}')
    rng = np.random.default_rng(seed)
    w, h = size
    plans, train, val = {}, [], []
    for i in range(videos):
        sport = SPORTS[i % len(SPORTS)]
        vid = f'{sport}/{sport}_{i:03d}'
        k = int(rng.integers(min(p.min_people, max_people), max_people + 1))
        first = STATIONARY[i % len(STATIONARY)]
        actions = (first,) + tuple(int(a) for a in rng.choice(STATIONARY, k - 1))
        plans[vid] = VideoPlan(sport, int(rng.integers(2**31)), w, h, frames, actions,
                               p.name)
        (val if i >= videos - n_val else train).append(vid)
    return plans, train, val


_FOURCC: list = []  # the codec this process found usable, probed once


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C-level stderr (ffmpeg logs each failed encoder probe there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, 'w') as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _open_writer(path: str, fps: float, size: tuple[int, int]):
    """A cv2 writer: H.264 ('avc1') when this OpenCV can encode it, else MPEG-4 ('mp4v')."""
    import cv2
    codes = _FOURCC or ['avc1', 'mp4v']
    for code in codes:
        with _quiet_stderr():
            writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*code), fps, size)
        if writer.isOpened():
            _FOURCC[:] = [code]
            return writer
        writer.release()
    raise RuntimeError(f'OpenCV cannot write {path} (no avc1 or mp4v encoder)')


def write_video(path: str, frames: list, fps: float = 25.0) -> None:
    """Encode BGR frames to an mp4 at ``path`` (atomically)."""
    h, w = frames[0].shape[:2]
    with atomic_path(path) as tmp:
        writer = _open_writer(tmp, fps, (w, h))
        try:
            for f in frames:
                writer.write(f)
        finally:
            writer.release()


def synth(root: str, *, seed: int = 0, videos: int = 16, val_videos: int | None = None,
          size: tuple[int, int] = (320, 240), frames: int = 80, fps: float = 25.0,
          max_people: int | None = None, preset: str = 'default',
          progress: bool = True) -> DataLayout:
    """Write the synthetic dataset under ``root`` (MultiSports layout), and the person
    identities of every video as MOT ground truth (:meth:`DataLayout.mot_gt`).

    Args:
        root: dataset root; ``root/trainval`` receives videos and ground truth.
        seed: everything is a function of it (and of the other arguments).
        videos: number of videos; sports alternate ``gym``, ``yard``.
        val_videos: size of the val split (default ``videos // 4``, at least 1).
        size: (width, height) in pixels.
        frames: frames per video.
        fps: frame rate written in the mp4.
        max_people: 1..max_people people per video (default: the preset's, 3 or 5).
        preset: ``'default'`` or ``'hard'`` (:data:`PRESETS`; the module docstring says
            what the hard one changes).
        progress: print a progress bar.

    Returns:
        The :class:`DataLayout` of ``root``.
    """
    layout = DataLayout(root)
    plans, train, val = plan_dataset(seed=seed, videos=videos, val_videos=val_videos,
                                     size=size, frames=frames, max_people=max_people,
                                     preset=preset)
    gt = dict(labels=list(LABELS), train_videos=[train], test_videos=[val],
              nframes={}, resolution={}, gttubes={})
    t0 = time.time()
    for vid, plan in progress_bar(plans.items(), desc='synth videos', unit='video',
                          disable=not progress):
        imgs, tubes, tube_ids = render_video_with_ids(plan)
        os.makedirs(os.path.dirname(layout.video_path(vid)), exist_ok=True)
        write_video(layout.video_path(vid), imgs, fps)
        save_mot(layout.mot_gt(vid), identity_rows(tubes, tube_ids))
        gt['nframes'][vid] = plan.frames
        gt['resolution'][vid] = (plan.height, plan.width)
        gt['gttubes'][vid] = tubes
    atomic_dump_pickle(gt, layout.gt_file)
    if progress:
        print(f'wrote {len(plans)} videos and {layout.gt_file} in {time.time() - t0:.1f} s')
    return layout

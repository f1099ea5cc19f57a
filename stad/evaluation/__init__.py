"""MultiSports evaluation: pure functions (:mod:`.functional`), proposal recall
(:mod:`.proposals`), reports (:mod:`.report`) and the registered metric
``stad.MultiSportsMAP`` (:mod:`.multisports_metric`)."""
from stad.evaluation.functional import evaluate_multisports, frame_ap, link_tubes, video_ap
from stad.evaluation.report import format_table, save_json, save_pr_curves
from stad.evaluation.synthetic import synthetic_dets, synthetic_gt

__all__ = ['evaluate_multisports', 'frame_ap', 'link_tubes', 'video_ap', 'MultiSportsMAP',
           'format_table', 'save_json', 'save_pr_curves', 'synthetic_dets', 'synthetic_gt']


def __getattr__(name: str):
    # the registered metric imports mmengine's evaluator (and torch): only when asked for,
    # so that `stad --help` imports none of the stack
    if name == 'MultiSportsMAP':
        from stad.evaluation.multisports_metric import MultiSportsMAP
        return MultiSportsMAP
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

"""``stad.MultiSportsDataset``: mmaction2's ``AVADataset`` with MultiSports' frame
arithmetic pinned (:data:`stad.io.layout.MULTISPORTS_AVA_KWARGS`: one "second" per frame,
1-based frame numbers, the decoded video indexed from 0), so configs cannot get it
wrong, and its proposal pickle read with stad's restricted loader (``AVADataset`` reads
it with a bare ``pickle.load`` through mmengine)."""
from __future__ import annotations

from mmaction.datasets import AVADataset

from stad.errors import StadError
from stad.io.layout import MULTISPORTS_AVA_KWARGS
from stad.io.proposals import load_proposals
from stad.registry import DATASETS


@DATASETS.register_module()
class MultiSportsDataset(AVADataset):
    """``AVADataset(**kwargs)`` with ``fps=1, timestamp_start=1, start_index=0,
    use_frames=False``; passing one of those with another value is an error."""

    def __init__(self, **kwargs):
        for key, value in MULTISPORTS_AVA_KWARGS.items():
            if key in kwargs and kwargs[key] != value:
                raise StadError(f'MultiSportsDataset: {key}={kwargs[key]!r} contradicts '
                                f'MultiSports ({key}={value!r}); leave it out')
            kwargs[key] = value
        proposal_file = kwargs.pop('proposal_file', None)
        super().__init__(**kwargs)
        self.proposal_file = proposal_file
        self.proposals = load_proposals(proposal_file) if proposal_file else None

"""Model components for configs (``type='stad.X'``)."""
from stad.models.data_preprocessors import ChannelsLastActionDataPreprocessor

__all__ = ['ChannelsLastActionDataPreprocessor']

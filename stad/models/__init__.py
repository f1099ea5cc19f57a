"""Model components for configs (``type='stad.X'``)."""
from .data_preprocessors import ChannelsLastActionDataPreprocessor

__all__ = ['ChannelsLastActionDataPreprocessor']

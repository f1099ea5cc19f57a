"""Annotation formats users bring, to and from stad's MultiSports layout.

One module per format: ``cvat`` (CVAT for video 1.1 XML), ``ava`` (AVA-style CSV +
label map), ``createml`` (labelled folders / one annotation file, no boxes). Each has
an importer that builds a ground truth dict and hands it to
:func:`stad.data.formats.common.write_dataset`, and a writer used by ``stad synth
--format``.
"""

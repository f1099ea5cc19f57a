"""Files: one module per format with its writer and reader, the one restricted pickle
loader, the one video module, atomic output. The lowest layer: it imports nothing of
stad but :mod:`stad.errors`.

=================  ========================================================
``layout``         every path, file name and key format of a dataset root
``atomic``         write to a temp file, then rename
``arrays``         numpy arrays from tensors or array-likes
``safe_pickle``    the restricted unpickler every pickle goes through
``checkpoint``     reading ``.pth`` checkpoints with one-line errors
``config``         reading mmengine config files with one-line errors
``video``          open / probe / stream / write videos
``ava_csv``        the AVA-style action CSV
``label_map``      ``'id: name'`` label maps
``coco``           COCO detection json
``proposals``      person proposal pickles ``{img_key: (N, 5)}``
``detections``     the ``(N, 8)`` detections ``stad eval`` reads
=================  ========================================================
"""

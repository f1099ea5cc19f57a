"""``python -m stad``: the ``stad`` command (``torchrun --nproc-per-node N -m stad ...``)."""
import sys

from stad.cli import main

sys.exit(main())

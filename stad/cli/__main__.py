import sys

from stad.cli import main

sys.exit(main())

"""``python -m torchaug.corruptions write|evaluate ...`` (see :mod:`torchaug.corruptions.cli`)."""

import sys

from torchaug.corruptions.cli import main

sys.exit(main())

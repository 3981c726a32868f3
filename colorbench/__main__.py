import sys

from colorbench.cli import main

sys.exit(main())

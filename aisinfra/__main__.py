import sys

from aisinfra.cli import main

sys.exit(main())

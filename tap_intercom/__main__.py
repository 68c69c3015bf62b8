import sys

from tap_intercom.cli import main

sys.exit(main())

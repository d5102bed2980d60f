import sys

from pgproxy.cli import main

sys.exit(main())

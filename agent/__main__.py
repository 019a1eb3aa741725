import sys

from agent.reference import main

sys.exit(main())

"""Same as `python -m labseg.tools.bench`; kept here so that benchmarks/ is where a reader looks first."""
import sys

from labseg.tools.bench import main

if __name__ == "__main__":
    sys.exit(main())

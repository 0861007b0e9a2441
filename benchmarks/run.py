"""Same as `python -m labseg.bench`; kept here so that benchmarks/ is where a reader looks first."""
import sys

from labseg.bench import main

if __name__ == "__main__":
    sys.exit(main())

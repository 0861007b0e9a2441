"""Where things lie around the package: the checkout that holds it (its git history, the committed results and
notebooks) and the real Oxford-IIIT Pet subset beside that checkout (``../shared/data/oxford-pet-subset``)."""
from pathlib import Path

# the folder that holds the labseg package: a checkout's root (or the site-packages folder of an installed copy)
CHECKOUT = Path(__file__).resolve().parents[1]

# the real 600-photo subset, read-only, beside the checkout where the course's machines put it
SHARED_SUBSET = CHECKOUT.parent / "shared" / "data" / "oxford-pet-subset"

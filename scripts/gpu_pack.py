"""Pack FER2013 for the GPU recipe (training/pack.py): ``gpu_pack.py DATA OUT.npz``."""

import sys
import time

from moodcast.training.pack import write_pack

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    began = time.monotonic()
    pack = write_pack(sys.argv[1], sys.argv[2])
    print(
        f"{sys.argv[2]}: {len(pack.train)} training crops (fingerprint {pack.fingerprint[:12]}), "
        f"{len(pack.val)} {pack.split} crops, {time.monotonic() - began:.0f} s"
    )

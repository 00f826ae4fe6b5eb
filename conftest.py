"""One BLAS thread for every test, however pytest is started (dev.sh does the same).

Set before numpy loads: OpenBLAS fixes its thread count then. The sum order of a
threaded matmul differs in the last bit, and tutorial 11's 1,000 Adam steps amplify
that into a different network (C = 0.007 and 'vanishing' instead of 0.027 and 'near
a minimum'), so its printed numbers hold for one thread only.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

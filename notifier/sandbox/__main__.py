"""Run the provider sandbox on its own: `python -m notifier.sandbox [port]`."""
from __future__ import annotations

import logging
import sys

from notifier.config import DEFAULT_SANDBOX_PORT, SANDBOX_HOST

from .server import serve

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SANDBOX_PORT
    try:
        serve(SANDBOX_HOST, port)
    except KeyboardInterrupt:
        pass

"""Run the benchmark suite from a checkout: the same as `python -m ftlab.bench` (same flags)."""
from ftlab.bench.__main__ import main

if __name__ == "__main__":
    main()

"""Developer tooling, outside the domain: the demo data (demo.py, demo_data/) and the benchmark's
scale data (scale.py). Only the `flask` commands, the tests and bench/ import it."""

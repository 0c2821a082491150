"""Speed: step throughput, GFLOP/s against the measured matmul peak, and their report."""

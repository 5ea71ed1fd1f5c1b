"""The harness: cases, input generation, tolerance, comparison, statistics, results, pytest plugin."""

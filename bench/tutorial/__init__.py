"""The Channels tutorial's consumer pattern, for side-by-side benchmarks only."""

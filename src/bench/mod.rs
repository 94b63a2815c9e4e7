//! Benchmark data: generated CSV pairs with known differences.

"""Scoring's pure logic: account state, the health model and its config, folding
signals, event time, overrides, the health-change message. No I/O."""

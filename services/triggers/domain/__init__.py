"""Triggers' pure logic: playbooks and their config, decisions, episodes and their
lifecycle, feedback. No I/O."""

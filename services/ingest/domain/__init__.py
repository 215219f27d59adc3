"""Ingest's pure logic: validation, routing, watermarks. No I/O."""

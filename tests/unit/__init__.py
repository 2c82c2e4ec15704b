"""The unit layer: the shop's rules, reading and rendering, in process, without Redis or a
Bot API (scripts/test --fast runs only these)."""

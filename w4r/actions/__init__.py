"""The action ledger: recording, importing and tallying actions, exactly once."""

"""Totals: rollups derived from the ledger, the IS view, public totals, history, live updates."""

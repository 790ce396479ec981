"""Supporters: petition signatures, consent records, email confirmation and data rights."""

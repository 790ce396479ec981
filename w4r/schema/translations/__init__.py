"""GraphQL for case texts and translations (mirrors w4r/translations)."""

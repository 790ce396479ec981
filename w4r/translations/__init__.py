"""Case texts: the IS source and official translations, and each section's translations."""

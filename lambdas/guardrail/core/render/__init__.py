"""The alert as text a person reads (`email`), and what every channel's rendering shares: creator
text made neutral (`neutral`), console links (`links`) and the facts about the caller and the
instance that several channels state (`context`)."""

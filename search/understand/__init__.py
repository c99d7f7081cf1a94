"""What a reader's words name: drugs, brands, conditions, classes, intent and typos, and
suggestions. No search engine here."""

"""The first report's profile: cases, interview columns, footnotes and table 2-6."""

"""Reading one gradient: as factors along paths (`chain`), and as it spreads and cancels (`spread`)."""

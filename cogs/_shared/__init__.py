"""Discord-side helpers every cog shares (one copy each)."""

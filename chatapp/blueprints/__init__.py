"""One blueprint per area of the chat."""

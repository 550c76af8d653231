"""viz: attention_page."""

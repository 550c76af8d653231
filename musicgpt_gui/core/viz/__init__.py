"""Views of model internals that need no Qt: ``attention_page`` (the offline BertViz page)."""

//! Model blocks and inlines → XHTML, shared by the HTML and EPUB writers.

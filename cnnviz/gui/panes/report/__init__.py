"""The Report dock: figures collected from the tool panes, with their captions, exported as HTML and PDF."""

"""The Deep dream pane: the pane, its settings column, its plots and its worker job."""

"""The workflow engine: ticket templates (their fields and workflow), conditions, and how a
ticket moves from node to node. Pure: no database, no files, no network."""

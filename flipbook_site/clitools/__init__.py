"""What the store commands of `flipbook` share (read, append, tail, export, import, migrate):
a store to talk to (the local one or a server), output as tables or JSON Lines, progress on
stderr, and errors turned into messages and exit codes (docs/operations/cli.md)."""

"""The `proposals` command line: the top of the stack, imported by nothing."""

"""Reading proposal files into typed structures, chunks and the stores."""

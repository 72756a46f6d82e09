"""The permissions proof: an IAM simulator with AWS's authorization data (`simulator`), the recording of every
AWS call the functions make in the tests (`recording`, `plugin`), and their evaluation on the synthesized
templates (`evaluate`, `check`) with the least-privilege report it writes (`report`, docs/least-privilege.md)."""

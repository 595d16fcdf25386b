"""The organization tree and the roles held at its nodes."""

"""Organization pages for administrators: the tree, a node, its changes and history."""

"""The account directory: people of a subtree, found, filtered and exported; disabling and re-enabling accounts."""

"""Training credentials (培训资质) that positions require."""

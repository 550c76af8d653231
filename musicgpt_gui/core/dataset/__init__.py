"""dataset: dataset_files, importer, memorization."""

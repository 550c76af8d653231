"""dataset: sources -> a dataset folder, and reading one back.

- importer: the import job (``import_dataset``): parallel, cached, writes the folder
- import_options: ImportOptions, the conversion settings both front ends use
- sources: files, folders, corpora and CSVs -> one task per file (kinds from the format registry)
- convert: one file -> converted pieces (texts + transposed copies + statistics)
- import_cache: the per-file conversion cache
- statistics: counts and lengths of pieces and of a dataset
- metadata: metadata.json as a dataclass (DatasetMetadata) with its loader
- dataset_files: the folder layout (dataset/train/valid.csv), the "is this a dataset folder?" rule
- builtin: the shipped pre-converted Bach dataset (data/bach.zip), unpacked on the first start
- memorization: the n-gram index of train.csv that flags copied passages in generations
"""

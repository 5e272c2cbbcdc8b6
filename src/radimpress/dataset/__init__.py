"""Dataset stage: clean ingested reports and split them reproducibly."""

from radimpress.dataset.build import (
    DatasetBuild,
    DatasetOptions,
    build_dataset,
    build_dataset_files,
    read_inputs,
    write_dataset,
)

__all__ = [
    "DatasetBuild",
    "DatasetOptions",
    "build_dataset",
    "build_dataset_files",
    "read_inputs",
    "write_dataset",
]

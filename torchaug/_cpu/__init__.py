"""Every CPU speed trick in one place (private): nothing here changes a result, only how fast it comes.

- :mod:`.threads`: the thread policy (``torchaug.set_cpu_threading``) and ``cpu_threads``, the
  intra-op thread limit around tiny ops;
- :mod:`.parallel`: ``parallel_for`` (a loop over Python threads with one intra-op thread each),
  ``one_op_thread``, ``thread_budget``, and ``copy_like`` (one intra-op thread around copy-like kernels);
- :mod:`.chunks`: ``run_chunked``, a per-sample kernel run on one batch chunk per thread;
- :mod:`.scratch`: per-thread scratch buffers, ``free_cpu_scratch`` / ``cpu_scratch_bytes``;
- :mod:`.thresholds`: every byte threshold of these paths in one object, ``THRESHOLDS``
  (``override_thresholds`` forces them in tests);
- :mod:`.select`: ``where_samples`` (the bit-select behind ``p``), ``apply_into`` (an op on the
  selected samples only, written into a batch the pipeline owns), ``run_by_group`` (one kernel per
  group of samples on slices of one sorted copy), ``run_by_group_into`` (each group gathered and
  written back into its rows of a batch the caller owns) and ``copy_rows_`` (``index_copy_`` of dense
  samples as int64 rows);
- :mod:`.narrow`: float32 -> uint8 through the int32 bits (the casts back of the uint8 kernels);
- :mod:`.registry`: ``@fast_path(plain=...)``, every fast path registered against its plain kernel.

Every registered fast path is compared bit for bit with its plain kernel by ``tests/test_fast_paths.py``;
the thread policy has its own tests (``tests/functional/test_parallel_paths.py``,
``test_pixel_chunks.py``, ``test_workspace.py``, ``tests/test_threads.py``).
"""

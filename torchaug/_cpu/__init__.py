"""Every CPU speed trick in one place (private): nothing here changes a result, only how fast it comes.

- :mod:`.threads`: the thread policy (``torchaug.set_cpu_threading``) and ``cpu_threads``, the
  intra-op thread limit around tiny ops;
- :mod:`.parallel`: ``parallel_for`` (a loop over Python threads with one intra-op thread each),
  ``one_op_thread``, ``thread_budget`` and its byte threshold;
- :mod:`.chunks`: ``run_chunked``, a per-sample kernel run on one batch chunk per thread;
- :mod:`.scratch`: per-thread scratch buffers, ``free_cpu_scratch`` / ``cpu_scratch_bytes``.

Every path here has a test against the plain computation (``tests/functional/test_parallel_paths.py``,
``test_pixel_chunks.py``, ``test_workspace.py``, ``tests/test_threads.py``).
"""
